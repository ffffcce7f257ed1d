import { groupFixInstalled } from './group-fix.ts'; // before kafkajs (see group-fix.ts)
import kafkajs, { type Kafka } from 'kafkajs';
import type { Config } from '../../runtime/config.ts';
import type { Logger } from '../../runtime/logger.ts';
import { kafkaLogCreator } from './log-creator.ts';
import { installRecordEncoder } from './record-encoder.ts';
import { installRequestQueueFix } from './request-queue-fix.ts';

export interface KafkaClientOptions {
  readonly clientId: string;
  readonly brokers: readonly string[];
  readonly logger: Logger;
  readonly connectionTimeout?: number;
  readonly requestTimeout?: number;
}

/**
 * Every kafkajs client of the project is made here: kafkajs logs into pino, and the fix of
 * kafkajs's request queue is installed first (without it each broker connection wakes the
 * process every millisecond once it has had a response; see request-queue-fix.ts), as is the
 * faster record encoder (record-encoder.ts: same bytes, a fraction of kafkajs's CPU).
 */
export function kafkaClient(options: KafkaClientOptions): Kafka {
  if (!installRequestQueueFix()) options.logger.warn('kafkajs is not 2.2.4: its request-queue fix is not installed');
  if (!installRecordEncoder()) options.logger.warn('kafkajs record encoder not replaced (not 2.2.4, or a produce request was built first)');
  if (!groupFixInstalled) options.logger.warn('kafkajs message grouping not replaced (not 2.2.4, or kafkajs was loaded before group-fix.ts)');
  const { clientId, brokers, logger, connectionTimeout, requestTimeout } = options;
  return new kafkajs.Kafka({
    clientId,
    brokers: [...brokers],
    logCreator: kafkaLogCreator(logger),
    ...(connectionTimeout === undefined ? {} : { connectionTimeout }),
    ...(requestTimeout === undefined ? {} : { requestTimeout }),
  });
}

/**
 * A kafkajs client for one role of this process (`admin`, `reader`, ...): client id
 * `<kafka.clientId>-<role>`. Short connection timeout: a broker that does not answer in 3 s is
 * down for our purposes (the caller's retry policy decides).
 */
export function createKafka(config: Pick<Config, 'kafka'>, logger: Logger, role: string): Kafka {
  return kafkaClient({
    clientId: `${config.kafka.clientId}-${role}`, brokers: config.kafka.brokers, logger, connectionTimeout: 3_000, requestTimeout: 30_000,
  });
}
