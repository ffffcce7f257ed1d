import { decodeLabel, type FraudLabel } from '../../contract/label.ts';
import type { LabelReader } from '../../batch/ports.ts';
import type { Config } from '../../runtime/config.ts';
import type { Logger } from '../../runtime/logger.ts';
import { readToEnd } from './reader.ts';

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
    const out: FraudLabel[] = [];
    await readToEnd(this.#config, { topic: this.#topic, groupPrefix: 'riskstream-labels-reader', timeoutMs: this.#timeoutMs, logger: this.#logger }, (record) => {
      try {
        if (record.value !== null) out.push(decodeLabel(record.value.toString('utf8')));
        else this.invalid += 1;
      } catch {
        this.invalid += 1;
      }
    });
    return out;
  }
}
