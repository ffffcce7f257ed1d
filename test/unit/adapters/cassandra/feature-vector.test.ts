import { describe, expect, it } from 'vitest';
import { decodeFeatureVector, encodeFeatureVector } from '../../../../src/adapters/cassandra/feature-vector.ts';
import { FEATURE_NAMES } from '../../../../src/analytics/user-features.ts';

describe('feature vector (features_v)', () => {
  it('lays out version, slot count and one little-endian float64 per FEATURE_NAMES slot', () => {
    const buf = encodeFeatureVector({ amount: 12.5, velocity_1h_count: 3 });
    expect(buf.length).toBe(2 + 8 * FEATURE_NAMES.length);
    expect([buf[0], buf[1]]).toEqual([1, FEATURE_NAMES.length]);
    // Slots written by hand from the spec: velocity_1h_count is slot 0, amount slot 10.
    expect(FEATURE_NAMES.indexOf('amount')).toBe(10);
    expect(buf.readDoubleLE(2)).toBe(3);
    expect(buf.readDoubleLE(2 + 8 * 10)).toBe(12.5);
    expect(Number.isNaN(buf.readDoubleLE(2 + 8 * 1))).toBe(true);
  });

  it('round-trips a full record exactly, including negative, fractional and zero values', () => {
    const features = Object.fromEntries(FEATURE_NAMES.map((name, i) => [name, (i - 7) * 1.1e-3 + (i === 3 ? 0 : 1e6 / (i + 1))]));
    expect(decodeFeatureVector(encodeFeatureVector(features))).toEqual(features);
  });

  it('leaves out features the record did not have', () => {
    expect(decodeFeatureVector(encodeFeatureVector({ new_device: 1 }))).toEqual({ new_device: 1 });
  });

  it('refuses a feature that is not in FEATURE_NAMES', () => {
    expect(() => encodeFeatureVector({ amount: 1, shoe_size: 42 })).toThrow(/shoe_size/);
  });

  it('reads a blob with more slots than this version knows (features appended later) and refuses other formats', () => {
    const known = FEATURE_NAMES.length;
    const future = Buffer.alloc(2 + 8 * (known + 2));
    future.writeUInt8(1, 0);
    future.writeUInt8(known + 2, 1);
    for (let i = 0; i < known + 2; i++) future.writeDoubleLE(i, 2 + 8 * i);
    const decoded = decodeFeatureVector(future);
    expect(Object.keys(decoded)).toEqual([...FEATURE_NAMES]);
    expect(decoded.established_new_device_and_country).toBe(known - 1);
    const v2 = Buffer.from(future);
    v2.writeUInt8(2, 0);
    expect(() => decodeFeatureVector(v2)).toThrow(/format 2/);
    expect(() => decodeFeatureVector(future.subarray(0, 20))).toThrow(/bytes/);
  });
});

// The encoder before it went by slot (Object.entries over the record, NaN prefill): the format
// oracle for records with any subset of the features.
function entriesEncoder(features: Readonly<Record<string, number>>): Buffer {
  const buf = Buffer.alloc(2 + 8 * FEATURE_NAMES.length);
  buf.writeUInt8(1, 0);
  buf.writeUInt8(FEATURE_NAMES.length, 1);
  for (let i = 0; i < FEATURE_NAMES.length; i++) buf.writeDoubleLE(Number.NaN, 2 + 8 * i);
  for (const [name, value] of Object.entries(features)) buf.writeDoubleLE(value, 2 + 8 * FEATURE_NAMES.indexOf(name as (typeof FEATURE_NAMES)[number]));
  return buf;
}

describe('feature vector encoder against the entries-based one', () => {
  it('writes the same bytes for records with any subset of features, in any key order', () => {
    let x = 7;
    const next = () => (x = (x * 48271) % 2147483647);
    for (let i = 0; i < 500; i++) {
      const names = FEATURE_NAMES.filter(() => next() % 3 !== 0);
      if (next() % 2 === 0) names.reverse();
      const features = Object.fromEntries(names.map((n) => [n, (next() - 1e9) / (next() % 1000 + 1)]));
      expect(encodeFeatureVector(features).equals(entriesEncoder(features))).toBe(true);
    }
  });

  it('still refuses an unknown feature next to all the known ones', () => {
    const all = Object.fromEntries(FEATURE_NAMES.map((n) => [n, 1]));
    expect(() => encodeFeatureVector({ ...all, zz_new: 1 })).toThrow(/zz_new/);
  });
});
