import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../../../src/adapters/kafka/crc32c.ts';
import { createRng } from '../../../../src/analytics/prng.ts';

const require = createRequire(import.meta.url);
/** kafkajs's byte-at-a-time CRC-32C (the module itself, not the cached export the installer swaps). */
const kafkajsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;

describe('crc32c', () => {
  it('matches the standard check value and kafkajs on random buffers of every length to 300 and some long ones', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    const rng = createRng(5);
    for (const len of [...Array.from({ length: 301 }, (_, i) => i), 1_000, 4_097, 65_536]) {
      const buf = Buffer.alloc(len);
      for (let i = 0; i < len; i++) buf[i] = rng.int(256);
      expect(crc32c(buf), `length ${len}`).toBe(kafkajsCrc(buf));
      expect(crc32c(buf.subarray(3)), `offset view, length ${len}`).toBe(kafkajsCrc(buf.subarray(3)));
    }
  });
});
