import { FEATURE_NAMES } from '../../analytics/user-features.ts';

/**
 * The `features_v` blob of the score tables (migration 002): a score's features as a vector
 * instead of a `map<text, double>` with 16 text keys. The map cost ~800 bytes per score row
 * (Cassandra validates, logs, stores and compacts every key of every row); the vector is 130.
 *
 * Format, version 1 (all little-endian):
 *
 *   offset 0   uint8     format version (1)
 *   offset 1   uint8     n, the number of slots (FEATURE_NAMES.length when written, ≤ 255)
 *   offset 2   float64×n slot i holds feature FEATURE_NAMES[i]; NaN marks a feature the
 *                        record did not have
 *
 * FEATURE_NAMES is append-only (models depend on its order), so slot i means the same feature
 * in every blob ever written; a reader whose list is longer than n reads the first n, and one
 * whose list is shorter ignores the extra slots (features added after its time).
 */
export const FEATURE_VECTOR_VERSION = 1;
const HEADER_BYTES = 2;

const SLOT: ReadonlyMap<string, number> = new Map(FEATURE_NAMES.map((name, i) => [name, i]));

/**
 * Encodes a score's features. A name outside FEATURE_NAMES is a programming error (every
 * feature the actors compute is listed there): it throws instead of being dropped silently.
 */
export function encodeFeatureVector(features: Readonly<Record<string, number>>): Buffer {
  const n = FEATURE_NAMES.length;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + 8 * n);
  buf[0] = FEATURE_VECTOR_VERSION;
  buf[1] = n;
  // By slot rather than over Object.entries (an array of pairs per score: 1.6% of a user
  // worker's CPU with the NaN prefill); a name outside the list shows as a key not counted.
  let known = 0;
  for (let i = 0; i < n; i++) {
    const value = features[FEATURE_NAMES[i]!];
    if (value !== undefined) known++;
    buf.writeDoubleLE(value === undefined ? Number.NaN : value, HEADER_BYTES + 8 * i);
  }
  let keys = 0;
  for (const name in features) if (Object.hasOwn(features, name) && features[name] !== undefined) keys++;
  if (keys !== known) {
    const unknown = Object.keys(features).find((name) => !SLOT.has(name));
    throw new RangeError(`feature "${unknown}" is not in FEATURE_NAMES; append it there first`);
  }
  return buf;
}

/** Decodes a blob written by {@link encodeFeatureVector} (any slot count); NaN slots are left out. */
export function decodeFeatureVector(buf: Buffer): Record<string, number> {
  if (buf.length < HEADER_BYTES || buf.readUInt8(0) !== FEATURE_VECTOR_VERSION) {
    throw new RangeError(`unknown feature vector format ${buf.length < 1 ? 'empty' : buf.readUInt8(0)}`);
  }
  const n = buf.readUInt8(1);
  if (buf.length !== HEADER_BYTES + 8 * n) throw new RangeError(`feature vector of ${n} slots has ${buf.length} bytes`);
  const out: Record<string, number> = {};
  for (let i = 0; i < Math.min(n, FEATURE_NAMES.length); i++) {
    const value = buf.readDoubleLE(HEADER_BYTES + 8 * i);
    if (!Number.isNaN(value)) out[FEATURE_NAMES[i]!] = value;
  }
  return out;
}
