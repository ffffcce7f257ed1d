import { describe, expect, it } from 'vitest';
import type { IngestedEvent } from '../../../src/contract/event.ts';
import { decodeEvent, encodeEvent, wireValueOf } from '../../../src/contract/wire.ts';
import { generateTraffic, generatorOptions } from '../../../src/generator/generate.ts';

const STAMP = 1_767_225_600_123;
const traffic = generateTraffic(generatorOptions({ seed: 'wire-value', events: 1_000 }));
const values = traffic.emissions.map((e) => encodeEvent(e.event, STAMP).value);

describe('wireValueOf', () => {
  it('re-publishes a kept record as its own text, which parses to the decoded event', () => {
    for (const text of values) {
      const event = decodeEvent(Buffer.from(text), true);
      const wire = wireValueOf(event);
      expect(wire).toBe(text);
      expect(JSON.parse(wire)).toEqual(event);
      expect(decodeEvent(wire)).toEqual(event);
    }
  });

  it('keeps the wire field order (country and device_id before status), unlike the decoded object', () => {
    const text = values.find((v) => v.includes('"country"') && v.includes('"device_id"'))!;
    const event = decodeEvent(text, true);
    expect(Object.keys(JSON.parse(wireValueOf(event)))).toEqual(Object.keys(JSON.parse(text)));
    expect(JSON.stringify(event)).not.toBe(text); // the object's own order differs: the text is what is reused
  });

  it('encodes afresh without keepWire, for records that needed cleansing, and for copies', () => {
    const text = values[0]!;
    const plain = decodeEvent(text);
    expect(wireValueOf(plain)).toBe(JSON.stringify(plain));
    const dirty = { ...(JSON.parse(text) as Record<string, unknown>), amount: -12.5, currency: 'eur' };
    const cleansed = decodeEvent(` ${JSON.stringify(dirty)}`, true);
    expect(JSON.parse(wireValueOf(cleansed))).toMatchObject({ amount: 12.5, currency: 'EUR' });
    expect(wireValueOf(cleansed)).toBe(JSON.stringify(cleansed));
    const kept = decodeEvent(text, true);
    const copy: IngestedEvent = { ...kept, amount: kept.amount + 1 };
    expect(JSON.parse(wireValueOf(copy)).amount).toBe(kept.amount + 1);
  });
});
