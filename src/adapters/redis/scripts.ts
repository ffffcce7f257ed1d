import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * The state store's Lua scripts. Each lives in `lua/<verbNoun>-<numKeys>.lua` with an
 * Input/Output header; the key count is read from the file name. They are registered on a
 * client with `defineCommand`, so ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT
 * (after a Redis restart or SCRIPT FLUSH) by itself.
 *
 * Callers pass `(...keys, argv)`: ioredis flattens the array, so a 40,000-argument commit is not
 * spread through a JS call.
 */
const FILES = {
  claimPartition: 'claimPartition-3.lua',
  commitBatch: 'commitBatch-5.lua',
  ackOutbox: 'ackOutbox-2.lua',
} as const;

export type ScriptName = keyof typeof FILES;

type ScriptFn = (...keysAndArgs: (string | readonly string[])[]) => Promise<unknown>;
export type StoreScripts = Readonly<Record<ScriptName, ScriptFn>>;

interface ScriptSource {
  readonly lua: string;
  readonly numberOfKeys: number;
}

/** Command names on the client; prefixed so they cannot clash with another adapter's scripts. */
const commandName = (name: ScriptName): string => `riskstreamStore_${name}`;

let sources: Record<ScriptName, ScriptSource> | undefined;

function loadSources(): Record<ScriptName, ScriptSource> {
  if (sources) return sources;
  const loaded = {} as Record<ScriptName, ScriptSource>;
  for (const [name, file] of Object.entries(FILES) as [ScriptName, string][]) {
    const match = /-(\d+)\.lua$/.exec(file);
    if (!match?.[1]) throw new Error(`Lua script file name without key count: ${file}`);
    const lua = readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
    loaded[name] = { lua, numberOfKeys: Number(match[1]) };
  }
  sources = loaded;
  return loaded;
}

/** Defines the scripts on `redis` (idempotent) and returns them as typed functions. */
export function defineScripts(redis: Redis): StoreScripts {
  const client = redis as unknown as Record<string, ScriptFn | undefined>;
  const scripts = {} as Record<ScriptName, ScriptFn>;
  for (const [name, source] of Object.entries(loadSources()) as [ScriptName, ScriptSource][]) {
    const command = commandName(name);
    if (typeof client[command] !== 'function') {
      redis.defineCommand(command, { lua: source.lua, numberOfKeys: source.numberOfKeys });
    }
    const fn = client[command];
    if (!fn) throw new Error(`ioredis did not define ${command}`);
    scripts[name] = (...keysAndArgs) => fn.apply(redis, keysAndArgs);
  }
  return scripts;
}
