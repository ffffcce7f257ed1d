import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { javaCompatiblePartitioner, murmur2 } from '../../../../src/adapters/kafka/emit-sink.ts';
import { createRng } from '../../../../src/analytics/prng.ts';

const { Partitioners } = kafkajs;

/** Random keys: ids of every length 0–80, ASCII punctuation, and some non-ASCII. */
function keys(n: number): string[] {
  const rng = createRng(11);
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-~ é€😀ß\u0000\u007f';
  const out = ['', 'm_0013', 'u_000140', 'm_0013:1767225600000:captured'];
  for (let i = 0; i < n; i += 1) {
    const len = rng.int(81);
    let key = '';
    for (let j = 0; j < len; j += 1) key += alphabet[rng.int(rng.chance(0.9) ? 66 : alphabet.length)];
    out.push(key);
  }
  return out;
}

const metadata = (n: number) => Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));

describe('javaCompatiblePartitioner', () => {
  it('puts every key on the partition kafkajs\' DefaultPartitioner picks', () => {
    const ours = javaCompatiblePartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 12, 50]) {
      const partitionMetadata = metadata(partitions);
      for (const key of keys(3_000)) {
        const message = { key, value: 'v' };
        expect(ours({ topic: 't', partitionMetadata, message }), key).toBe(theirs({ topic: 't', partitionMetadata, message }));
      }
    }
  });

  it('hashes a string and its UTF-8 bytes alike, and keeps an explicit partition', () => {
    for (const key of keys(500)) expect(murmur2(key)).toBe(murmur2(Buffer.from(key, 'utf8')));
    expect(javaCompatiblePartitioner()({ topic: 't', partitionMetadata: metadata(12), message: { key: 'k', value: 'v', partition: 7 } })).toBe(7);
  });
});
