import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { groupMessagesPerPartition } from '../../../../src/adapters/kafka/group-fix.ts';

/** kafkajs 2.2.4's grouping, restated as the oracle: partition → messages in input order. */
function upstream<T>(messages: readonly T[], partitionOf: (m: T) => number): Record<number, T[]> {
  return messages.reduce<Record<number, T[]>>((result, message) => {
    const partition = partitionOf(message);
    return Object.assign(result, { [partition]: [...(result[partition] ?? []), message] });
  }, {});
}

describe('kafkajs message grouping fix', () => {
  it('groups exactly as kafkajs does: same partitions, same order, every message once', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const [n, partitions] of [[0, 12], [1, 1], [50, 3], [3_000, 12]] as const) {
      const messages = Array.from({ length: n }, (_, i) => ({ key: `k${Math.floor(rand() * 500)}`, value: `v${i}` }));
      const partitionOf = (m: { key: string }) => Number(m.key.slice(1)) % partitions;
      const metadata = Array.from({ length: partitions }, (_, p) => ({ partitionId: p }));
      const calls: string[] = [];
      const ours = groupMessagesPerPartition({
        topic: 't', partitionMetadata: metadata, messages,
        partitioner: ({ topic, message }) => {
          calls.push(`${topic}/${message.value}`);
          return partitionOf(message);
        },
      });
      expect(ours).toEqual(upstream(messages, partitionOf));
      expect(Object.values(ours).flat()).toHaveLength(n);
      expect(calls).toEqual(messages.map((m) => `t/${m.value}`)); // the partitioner sees each message once, in order
    }
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages: [{ key: 'a' }], partitioner: () => 0 })).toEqual({});
  });

  it('is what kafkajs uses in a process that loads kafkajs through the project adapters', () => {
    // A fresh process: in the test runner kafkajs may already be loaded by another file.
    const script = `
      const { createRequire } = await import('node:module');
      await import('./src/adapters/kafka/emit-sink.ts');
      const { groupFixInstalled } = await import('./src/adapters/kafka/group-fix.ts');
      const require = createRequire(process.cwd() + '/package.json');
      const grouping = require('kafkajs/src/producer/groupMessagesPerPartition.js');
      const sendLoaded = require.cache[require.resolve('kafkajs/src/producer/sendMessages.js')] !== undefined;
      console.log(JSON.stringify({ groupFixInstalled, ours: grouping[Symbol.for('riskstream.kafkajs.groupFix')] === true, sendLoaded }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ groupFixInstalled: true, ours: true, sendLoaded: true });
  });
});
