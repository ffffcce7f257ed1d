#!/usr/bin/env node
// Adds to package-lock.json the platform-specific optional packages it lacks, so `npm ci` works.
//
// Why: npm records every optional platform binary of a package (biome's CLI for darwin,
// win32, musl, ...) in the lock, and `npm ci` refuses a lock that lacks any ("Missing: X from
// lock file"). The registry this project is installed from serves only some platforms' binaries,
// so `npm install` here writes a lock without the others. This script adds each missing one
// with its exact version and its os/cpu/libc (read from the package name), marked optional:
// npm then skips it on any other platform without fetching it. Idempotent; run it after
// `npm install` changed dependencies:  node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const OS = ['aix', 'android', 'darwin', 'freebsd', 'linux', 'netbsd', 'openbsd', 'sunos', 'win32'];
const CPU = ['arm', 'arm64', 'ia32', 'loong64', 'mips64el', 'ppc64', 'riscv64', 's390x', 'x64'];
const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;

/** os/cpu/libc from a name like `@biomejs/cli-linux-x64-musl`; undefined if not a platform package. */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p));
  if (!os || !cpu) return undefined;
  const libc = parts.includes('musl') ? ['musl'] : parts.includes('gnu') ? ['glibc'] : undefined;
  return { os: [os], cpu: [cpu], ...(libc ? { libc } : {}) };
}

const added = [];
for (const [where, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${where ? `${where}/` : ''}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (packages[nested] || packages[hoisted]) continue;
    const platform = platformOf(name);
    if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(spec) || !platform) {
      console.warn(`skipped ${name}@${spec} (needed by ${where || 'the root'}): not an exact-version platform package`);
      continue;
    }
    packages[hoisted] = {
      version: spec,
      ...(entry.dev ? { dev: true } : {}),
      ...(entry.devOptional ? { devOptional: true } : {}),
      optional: true,
      ...platform,
    };
    added.push(`${name}@${spec}`);
  }
}

lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length === 0 ? 'package-lock.json: nothing missing' : `package-lock.json: added ${added.join(', ')}`);
