import type { z } from 'zod';

/** One rejected field: `path` is dotted (`metadata.channel`, `` for the whole value). */
export interface FieldError {
  readonly path: string;
  readonly reason: string;
}

/** Keys that could reach an object's prototype if copied naively. Rejected anywhere. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_SCAN_DEPTH = 4;

/**
 * Finds forbidden keys (own properties, as JSON.parse creates them) at any depth up to a
 * small bound; deeper nesting is rejected by the schema anyway (metadata is flat).
 */
export function forbiddenKeyErrors(value: unknown, path = '', depth = 0): FieldError[] {
  if (value === null || typeof value !== 'object' || depth > MAX_SCAN_DEPTH) return [];
  const errors: FieldError[] = [];
  for (const key of Object.keys(value)) {
    const child = path === '' ? key : `${path}.${key}`;
    if (FORBIDDEN_KEYS.has(key)) errors.push({ path: child, reason: 'forbidden key' });
    else errors.push(...forbiddenKeyErrors((value as Record<string, unknown>)[key], child, depth + 1));
  }
  return errors;
}

/** Maps zod issues to `{path, reason}`; one entry per unknown key, reasons without zod's prefix. */
export function zodIssuesToFieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({ path: base === '' ? key : `${base}.${key}`, reason: 'unknown field' });
      continue;
    }
    out.push({ path: base, reason: reasonOf(issue) });
  }
  return out;
}

function reasonOf(issue: z.core.$ZodIssue): string {
  // JSON cannot carry `undefined`, so an undefined input at a field path is a missing field.
  if (issue.input === undefined && issue.path.length > 0 && issue.code !== 'custom') return 'required';
  if (issue.code === 'invalid_type') {
    const received = (issue as { received?: string }).received;
    if (received === 'Infinity' || received === 'NaN') return 'must be a finite number';
    return `expected ${issue.expected}, got ${describe(issue.input)}`;
  }
  if (issue.code === 'invalid_key' && issue.issues[0] !== undefined) return issue.issues[0].message;
  return issue.message.replace(/^Invalid (input|string|option): /, '');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'non-integer number';
  return typeof value;
}
