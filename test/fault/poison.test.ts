import { afterAll, describe, expect, it } from 'vitest';
import { compareWithOracle, FAULT_LATENESS_MS, faultStream } from '../support/fault-oracle.ts';
import { DLQ_INVALID, FaultFixture, placeStream } from '../support/kafka-fixture.ts';
import { killAllWorkers } from '../support/worker-process.ts';

/**
 * Fault (e): a raw record that is not a counter message, written straight into the input topic
 * between good records, lands on dlq.invalid with its original bytes and its source position,
 * and the partition keeps moving (every count is still exact).
 */
describe('fault: a poison record in the input topic', () => {
  afterAll(killAllWorkers);

  it('dead-letters the poison record with its bytes and offset, and the stream goes on', async () => {
    const fixture = new FaultFixture({ name: 'fault_poison', latenessMs: FAULT_LATENESS_MS });
    let passed = false;
    try {
      await fixture.setUp();
      const stream = faultStream(5, 20_000, 2_000);
      const [first, second] = placeStream(stream, 2);
      await fixture.produce(first!);
      const poison = Buffer.from([0x7b, 0x22, 0x69, 0x64, 0xff, 0x00, 0x80, 0x0a, 0x7d]); // '{"id' + invalid UTF-8 + '\n}'
      const poisonPartition = 3;
      const poisonOffset = await fixture.produceRaw(poisonPartition, poison);
      await fixture.produce(second!);

      // Slices of 500: the poison record sits in one of many commits per partition.
      const worker = fixture.startWorker({ RISKSTREAM_RUNTIME_MAILBOX_CAPACITY: '500' });
      await worker.waitRunning();
      await fixture.waitCaughtUp(90_000);

      const invalid = await fixture.readDeadLetters(DLQ_INVALID);
      expect(invalid).toHaveLength(1);
      const [{ key, letter }] = invalid as [(typeof invalid)[number]];
      expect(key).toBe(`${fixture.topic}:${poisonPartition}:${poisonOffset}`);
      expect(letter.source).toEqual({ topic: fixture.topic, partition: poisonPartition, offset: poisonOffset });
      expect(Buffer.from(letter.value_b64 ?? '', 'base64')).toEqual(poison);
      expect(letter.code).toBe('DECODE_FAILED');
      expect(await worker.metric('riskstream_runtime_dead_letters_total')).toBeGreaterThanOrEqual(1);

      // Records after the poison one in its partition were processed: the partition moved on.
      const high = await fixture.highWatermarks();
      expect(high.get(poisonPartition)).toBeGreaterThan(Number(poisonOffset) + 1);
      const result = await compareWithOracle(fixture, stream);
      expect(result.mismatches).toEqual([]);
      expect(result.keys).toBe(result.expected.counts.size);
      expect(result.expected.late).toBeGreaterThan(100);
      expect(result.expected.duplicates).toBeGreaterThan(500);
      expect(result.lateLetters).toBe(result.expected.late);
      passed = true;
    } finally {
      const kept = await fixture.tearDown(passed);
      if (kept) console.error(`worker logs kept in ${kept}`);
    }
  }, 180_000);
});
