import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The actor runtime's metrics, registered once per process on the given registry. */
export interface RuntimeMetrics {
  readonly eventsIn: Counter<'pipeline' | 'outcome'>;
  readonly inputLagRecords: Gauge<'pipeline' | 'partition'>;
  readonly actorMessages: Counter<'actor_type'>;
  /** `target`: the emit's topic (as the actor names it, before the deployment's prefix) or the upsert's sink. */
  readonly effectsOut: Counter<'kind' | 'target'>;
  readonly deadLetters: Counter<'topic' | 'code'>;
  readonly batchSize: Histogram<'pipeline'>;
  readonly commitSeconds: Histogram<'pipeline'>;
  readonly drainSeconds: Histogram<'pipeline'>;
  readonly drainFailures: Counter<'pipeline'>;
  readonly undrainedEffects: Gauge<'pipeline' | 'partition'>;
  readonly stateBytes: Counter<'pipeline'>;
  readonly activeActors: Gauge<'pipeline'>;
  readonly activeStateBytes: Gauge<'pipeline'>;
  readonly passivatedActors: Counter<'pipeline'>;
  readonly watermarkMs: Gauge<'pipeline' | 'partition'>;
  readonly eventTimeLagMs: Gauge<'pipeline' | 'partition'>;
  readonly rebalances: Counter<'pipeline'>;
  readonly fenced: Counter<'pipeline'>;
  readonly timersFired: Counter<'pipeline'>;
  readonly retries: Counter<'pipeline'>;
  readonly alignmentWaits: Counter<'pipeline'>;
  /**
   * From an input's ingest (the time the platform accepted it, as the record carries it) to its
   * output being visible in a sink: for live scores, the product's "ingest → score visible
   * through the lookup API". Wall clocks of two processes, so it includes their skew.
   */
  readonly visibleSeconds: Histogram<'sink'>;
}

export function createRuntimeMetrics(registry: Registry): RuntimeMetrics {
  const registers = [registry];
  const p = 'riskstream_runtime_';
  return {
    eventsIn: new Counter({ name: `${p}events_total`, help: 'Input records by outcome (processed, duplicate, late, invalid, skipped)', labelNames: ['pipeline', 'outcome'], registers }),
    actorMessages: new Counter({ name: `${p}actor_messages_total`, help: 'Messages handled per actor type', labelNames: ['actor_type'], registers }),
    effectsOut: new Counter({ name: `${p}effects_total`, help: 'Effects performed by kind and target (topic or sink)', labelNames: ['kind', 'target'], registers }),
    deadLetters: new Counter({ name: `${p}dead_letters_total`, help: 'Dead-lettered records by DLQ topic and code', labelNames: ['topic', 'code'], registers }),
    batchSize: new Histogram({ name: `${p}batch_size`, help: 'Records per partition batch', labelNames: ['pipeline'], buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000], registers }),
    commitSeconds: new Histogram({ name: `${p}commit_seconds`, help: 'Atomic state commit latency', labelNames: ['pipeline'], buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers }),
    visibleSeconds: new Histogram({
      name: `${p}ingest_to_visible_seconds`,
      help: 'From ingest to the output being visible in its sink (live_scores: servable by the lookup API)',
      labelNames: ['sink'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    drainSeconds: new Histogram({ name: `${p}outbox_drain_seconds`, help: 'Outbox drain latency', labelNames: ['pipeline'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], registers }),
    drainFailures: new Counter({ name: `${p}outbox_drain_failures_total`, help: 'Outbox drain rounds that failed (retried with a backoff)', labelNames: ['pipeline'], registers }),
    undrainedEffects: new Gauge({ name: `${p}outbox_undrained_effects`, help: 'Committed effects not yet performed, per partition (bounded by runtime.maxUndrainedEffects)', labelNames: ['pipeline', 'partition'], registers }),
    stateBytes: new Counter({ name: `${p}state_written_bytes_total`, help: 'Encoded state bytes written', labelNames: ['pipeline'], registers }),
    activeActors: new Gauge({ name: `${p}active_actors`, help: 'Actor states held in memory', labelNames: ['pipeline'], registers }),
    activeStateBytes: new Gauge({
      name: `${p}active_state_bytes`, help: 'Encoded bytes of the actor states held in memory', labelNames: ['pipeline'], registers,
    }),
    passivatedActors: new Counter({ name: `${p}passivated_actors_total`, help: 'Actor states evicted from memory', labelNames: ['pipeline'], registers }),
    watermarkMs: new Gauge({ name: `${p}watermark_ms`, help: 'Partition watermark (event time, ms since epoch)', labelNames: ['pipeline', 'partition'], registers }),
    inputLagRecords: new Gauge({ name: `${p}input_lag_records`, help: 'Records of the input partition after the durable position (Kafka end offset minus stored next offset), per partition this worker holds', labelNames: ['pipeline', 'partition'], registers }),
    eventTimeLagMs: new Gauge({ name: `${p}event_time_lag_ms`, help: 'Wall clock minus max event time seen, per partition', labelNames: ['pipeline', 'partition'], registers }),
    rebalances: new Counter({ name: `${p}rebalances_total`, help: 'Consumer group rebalances seen', labelNames: ['pipeline'], registers }),
    fenced: new Counter({ name: `${p}fenced_total`, help: 'Commits refused because another owner took the partition', labelNames: ['pipeline'], registers }),
    timersFired: new Counter({ name: `${p}timers_fired_total`, help: 'Event-time timers fired', labelNames: ['pipeline'], registers }),
    alignmentWaits: new Counter({ name: `${p}alignment_waits_total`, help: 'Batches held back because their partition ran ahead of the slowest in event time', labelNames: ['pipeline'], registers }),
    retries: new Counter({ name: `${p}batch_retries_total`, help: 'Partition batches retried after an I/O failure', labelNames: ['pipeline'], registers }),
  };
}
