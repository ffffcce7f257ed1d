/**
 * The layer rule of STYLE.md, checked on every `npm run lint`:
 *  1. only src/adapters/** (and src/api/** for the HTTP framework) import vendor clients;
 *  2. src/actors and src/analytics stay pure: no runtime internals beyond the actor API, no I/O,
 *     no logging or metrics libraries, no Date.now / Math.random;
 *  3. src/runtime never imports adapters, entry points or domain actors;
 *  4. no import cycles among src files.
 * Exits 1 listing every violation.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const vendors = ['kafkajs', 'ioredis', 'bullmq', 'cassandra-driver', 'fastify', '@fastify/', '@bull-board/', '@duckdb/', 'hyparquet', 'undici'];
const impure = ['pino', 'prom-client', 'node:fs', 'node:net', 'node:http', 'node:child_process', 'fs', 'http'];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const files = walk(join(root, 'src'));
const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const graph = new Map<string, string[]>();
const violations: string[] = [];

for (const file of files) {
  const rel = relative(root, file);
  const text = readFileSync(file, 'utf8');
  const local: string[] = [];
  for (const match of text.matchAll(importRe)) {
    const spec = match[1] ?? match[2] ?? '';
    if (spec.startsWith('.')) {
      const target = relative(root, resolve(dirname(file), spec));
      local.push(target);
      if (rel.startsWith('src/runtime/') && /^src\/(adapters|cli|actors|api)\//.test(target)) violations.push(`${rel}: runtime must not import ${target}`);
      if (/^src\/(actors|analytics)\//.test(rel) && /^src\/(adapters|cli|api)\//.test(target)) violations.push(`${rel}: pure code must not import ${target}`);
      continue;
    }
    const vendor = vendors.some((v) => spec === v || spec.startsWith(v.endsWith('/') ? v : `${v}/`));
    if (vendor && !rel.startsWith('src/adapters/') && !(rel.startsWith('src/api/') && /fastify/.test(spec))) {
      violations.push(`${rel}: imports vendor client "${spec}" outside src/adapters`);
    }
    if (/^src\/(actors|analytics)\//.test(rel) && (vendor || impure.includes(spec))) violations.push(`${rel}: pure code imports "${spec}"`);
  }
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  if (/^src\/(actors|analytics)\//.test(rel) && /\b(Date\.now|Math\.random)\s*\(/.test(code)) violations.push(`${rel}: pure code reads the clock or Math.random`);
  graph.set(rel, local);
}

// Cycle detection (DFS with colours) over local imports.
const colour = new Map<string, 'grey' | 'black'>();
function visit(node: string, stack: string[]): void {
  colour.set(node, 'grey');
  for (const next of graph.get(node) ?? []) {
    if (!graph.has(next)) continue;
    if (colour.get(next) === 'grey') violations.push(`import cycle: ${[...stack.slice(stack.indexOf(next)), next].join(' → ')}`);
    else if (!colour.has(next)) visit(next, [...stack, next]);
  }
  colour.set(node, 'black');
}
for (const node of graph.keys()) if (!colour.has(node)) visit(node, [node]);

if (violations.length > 0) {
  console.error(`layer check: ${violations.length} violation(s)\n${violations.map((v) => `  - ${v}`).join('\n')}`);
  process.exit(1);
}
console.log(`layer check: ${files.length} files, no violations`);
