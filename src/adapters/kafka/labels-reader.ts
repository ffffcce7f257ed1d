import { randomUUID } from 'node:crypto';
import { decodeLabel, type FraudLabel } from '../../contract/label.ts';
import type { LabelReader } from '../../batch/ports.ts';
import type { Config } from '../../runtime/config.ts';
import type { Logger } from '../../runtime/logger.ts';
import { offsetRanges } from './admin.ts';
import { readTopic } from './reader.ts';

/**
 * Reads the whole labels topic as it stands when called (from each partition's first kept
 * offset to its end offset at the start), in a throw-away group. A record that is not a valid
 * label is skipped and counted: one bad label must not stop a retrain.
 */
export class KafkaLabelReader implements LabelReader {
  readonly #config: Pick<Config, 'kafka'>;
  readonly #topic: string;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  invalid = 0;

  constructor(config: Pick<Config, 'kafka'>, topic: string, logger: Logger, timeoutMs = 120_000) {
    this.#config = config;
    this.#topic = topic;
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  async labels(): Promise<FraudLabel[]> {
    const ranges = await offsetRanges(this.#config, this.#topic, this.#logger);
    const remaining = new Map<number, bigint>();
    const from = new Map<number, string>();
    for (const [partition, { low, high }] of ranges) {
      if (BigInt(high) > BigInt(low)) {
        remaining.set(partition, BigInt(high) - 1n);
        from.set(partition, low);
      }
    }
    const out: FraudLabel[] = [];
    if (remaining.size === 0) return out;
    // Next offset wanted per partition: a record delivered twice is read once.
    const want = new Map([...from].map(([p, o]) => [p, BigInt(o)]));
    await readTopic(this.#config, {
      topic: this.#topic,
      groupId: `riskstream-labels-reader-${randomUUID()}`,
      from,
      timeoutMs: this.#timeoutMs,
      logger: this.#logger,
      onRecord: (record) => {
        const last = remaining.get(record.partition);
        const offset = BigInt(record.offset);
        if (last === undefined || offset > last || offset < (want.get(record.partition) ?? 0n)) return remaining.size === 0;
        want.set(record.partition, offset + 1n);
        try {
          if (record.value !== null) out.push(decodeLabel(record.value.toString('utf8')));
          else this.invalid += 1;
        } catch {
          this.invalid += 1;
        }
        if (offset >= last) remaining.delete(record.partition);
        return remaining.size === 0;
      },
    });
    return out;
  }
}
