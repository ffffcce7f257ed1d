import kafkajs, { type Producer, type TopicMessages } from 'kafkajs';
import type { OutputEffect } from '../../runtime/actor.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { EffectSink } from '../../runtime/sink.ts';
import { kafkaLogCreator } from './log-creator.ts';

const { Kafka, CompressionTypes } = kafkajs;

export interface KafkaEmitSinkOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topicPrefix: string;
  readonly logger: Logger;
}

/**
 * Performs `emit` effects with an idempotent, acks=all producer. One `sendBatch` per outbox
 * drain. A repeat after a crash (outbox drained, not yet acknowledged) produces the same keys
 * and values again: consumers of riskstream topics treat records as upserts by key.
 */
export class KafkaEmitSink implements EffectSink {
  readonly #producer: Producer;
  readonly #prefix: string;
  #connected: Promise<void> | undefined;

  constructor(options: KafkaEmitSinkOptions) {
    this.#prefix = options.topicPrefix;
    const kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      logCreator: kafkaLogCreator(options.logger),
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
    });
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  }

  async perform(effects: readonly OutputEffect[]): Promise<void> {
    const byTopic = new Map<string, TopicMessages>();
    for (const effect of effects) {
      if (effect.type !== 'emit') continue;
      const topic = this.#prefix + effect.topic;
      let entry = byTopic.get(topic);
      if (!entry) {
        entry = { topic, messages: [] };
        byTopic.set(topic, entry);
      }
      entry.messages.push({ key: effect.key, value: effect.value });
    }
    if (byTopic.size === 0) return;
    try {
      this.#connected ??= this.#producer.connect();
      await this.#connected;
      await this.#producer.sendBatch({ topicMessages: [...byTopic.values()], acks: -1, compression: CompressionTypes.None });
    } catch (err) {
      this.#connected = undefined;
      throw new RiskstreamError(ErrorCodes.kafkaUnavailable, `emit failed: ${(err as Error).message}`, { retriable: true, cause: err });
    }
  }

  async close(): Promise<void> {
    await this.#producer.disconnect();
  }
}
