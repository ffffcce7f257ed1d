import kafkajs, { type Kafka } from 'kafkajs';
import type { Config } from '../../runtime/config.ts';
import type { Logger } from '../../runtime/logger.ts';
import { kafkaLogCreator } from './log-creator.ts';
import { installRequestQueueFix } from './request-queue-fix.ts';

/**
 * A kafkajs client for one role of this process (`admin`, `reader`, ...): client id
 * `<kafka.clientId>-<role>`, kafkajs logs into pino. Short connection timeout: a broker that
 * does not answer in 3 s is down for our purposes (the caller's retry policy decides).
 */
export function createKafka(config: Pick<Config, 'kafka'>, logger: Logger, role: string): Kafka {
  installRequestQueueFix(); // see request-queue-fix.ts: every kafkajs client of the process
  return new kafkajs.Kafka({
    clientId: `${config.kafka.clientId}-${role}`,
    brokers: [...config.kafka.brokers],
    logCreator: kafkaLogCreator(logger),
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
  });
}
