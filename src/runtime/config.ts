import { z } from 'zod';
import { ErrorCodes, RiskstreamError } from './errors.ts';

/**
 * Configuration: parsed and validated once by the entry point, frozen, passed down as an
 * argument. Nothing below an entry point reads `process.env`.
 *
 * Every option: default and why. Environment overrides are `RISKSTREAM_<SECTION>_<NAME>` in
 * upper snake case, e.g. `RISKSTREAM_KAFKA_BROKERS=127.0.0.1:9092`,
 * `RISKSTREAM_RUNTIME_ALLOWED_LATENESS_MS=1200000`. Lists are comma-separated.
 */
const kafka = z.strictObject({
  /** Bootstrap brokers. Default: the local stack's single KRaft broker. */
  brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']),
  /** Client id prefix; the process name is appended. */
  clientId: z.string().min(1).default('riskstream'),
  /**
   * A stable name of this process across restarts, unique among the live members of its group:
   * a pod's name (deploy/k8s sets it from metadata.name, which a container restart keeps). A
   * worker with one joins as `<clientId>-worker-<instanceId>` and, before joining, removes a
   * member of that client id left by its killed predecessor instead of waiting for its session
   * to time out (adapters/kafka/group-evict.ts). Empty (the default): no such removal.
   */
  instanceId: z.string().regex(/^([A-Za-z0-9][A-Za-z0-9._-]{0,99})?$/, 'letters, digits, dot, underscore, hyphen; 100 at most').default(''),
  /** Prefix for every topic name, so tests and tenants can share a cluster. */
  topicPrefix: z.string().default(''),
  /** Consumer session timeout. 10 s keeps failover of a killed worker well inside 15 s. */
  sessionTimeoutMs: z.number().int().min(6_000).default(10_000),
  /** Heartbeat interval; Kafka recommends ≤ 1/3 of the session timeout. */
  heartbeatIntervalMs: z.number().int().min(500).default(2_000),
  /**
   * Longest a consumer's fetch waits on the broker for `fetchMinBytes` (kafkajs
   * maxWaitTimeInMs, 5 s by default): with the two, a fetch carries at most ~10 ms of traffic
   * instead of whatever arrived since the last answer. With minBytes 1 every fetch came back
   * with the next record or two, and each worker sent ~180 fetches and ~190 produce requests a
   * second at 1,000 events/s, each a wake-up of the broker, the worker and the Redis and
   * Cassandra calls of one more step. bench:pipeline latency phase, 30 s runs, 1 B / 250 ms
   * (before) vs 16 KiB / 10 ms: at 1,000/s, 2 interleaved pairs, 1,600–1,620 → 1,340–1,360 µs
   * of CPU per event (all processes), p99 165–254 → 111–131 ms, fetches 180 → 82/s per worker;
   * single runs at 2,000/s: 843–861 → 780 µs, p50 107–122 → 69 ms; at 5,000/s: p50 3.3–7.1 s →
   * 1.0 s. Cost: a consumer with nothing to read sends 100 empty fetches a second (4 before):
   * an idle user worker used 48 instead of 9 ms of CPU per second. A partition resumed after a
   * pause (alignment, backoff) is fetched by the next request, so a short wait lets it in sooner.
   */
  fetchMaxWaitMs: z.number().int().min(1).max(30_000).default(10),
  /** Bytes a fetch waits for (up to fetchMaxWaitMs) before the broker answers (kafkajs minBytes). */
  fetchMinBytes: z.number().int().min(1).max(16 * 1024 * 1024).default(16 * 1024),
});

const redis = z.strictObject({
  /** Redis URL of the state store. */
  url: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** Prefix for every key, so tests and tenants can share one Redis. */
  keyPrefix: z.string().default('rs'),
  /**
   * Workers send the commands of one event-loop turn (several partitions' loads, commits and
   * acknowledgements, the live scores) in one socket write: a live batch is a few records, and
   * its Redis calls cost mostly per write, not per byte. bench:pipeline at 2,000 events/s, two
   * pairs: Redis 72/76 → 66/66 µs per event, all processes 849/842 → 829/818, p50 315 → 280 ms.
   */
  autoPipelining: z.boolean().default(true),
});

const cassandra = z.strictObject({
  contactPoints: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9042']),
  /** Single-node local stack runs SimpleSnitch, whose data center is `datacenter1`. */
  localDataCenter: z.string().min(1).default('datacenter1'),
  keyspace: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/).default('riskstream'),
  /** 1 for the local single node; 3 in production (NetworkTopologyStrategy). */
  replicationFactor: z.number().int().min(1).default(1),
});

const runtime = z.strictObject({
  /** Watermark = max event time seen − allowed lateness. 20 minutes, as in the seed design. */
  allowedLatenessMs: z.number().int().min(0).default(20 * 60_000),
  /** A partition with no input for this long stops holding timers back (see watermarks). */
  idlePartitionMs: z.number().int().min(100).default(30_000),
  /**
   * Mailbox bound per partition, in messages: the largest slice of a fetch committed at once.
   * 2,000: a slice's records, states and commit arguments stay alive across two Redis round
   * trips, and at 10,000 (a whole 1 MiB fetch) they outlived the young generation and were
   * promoted; bench:runtime measured 13.1 → 11.1 µs of worker CPU and 6.4 → 5.2 µs of Redis CPU
   * per event from 10,000 to 2,000 (1,000 was no better), and commit p50 361 → 54 ms.
   */
  mailboxCapacity: z.number().int().min(1).default(2_000),
  /** Idle actors are passivated (dropped from memory) beyond this many per worker. */
  maxActiveActors: z.number().int().min(100).default(200_000),
  /**
   * ... or beyond this many bytes of their encoded form (what the commit wrote). The count alone
   * did not bound memory: 400,000 users with five payments each ran a user worker out of its
   * 352 MiB heap with ~150,000 states cached (bench:memory). A user state of ~300 encoded bytes
   * takes ~1.2 KB decoded (3.8×), so 16 MiB holds ~55,000 users in ~70 MB of heap.
   */
  maxActiveStateBytes: z.number().int().min(1 << 20).default(16 << 20),
  /** Retries of a failing handler before the supervisor dead-letters the message. */
  handlerRetries: z.number().int().min(0).default(2),
  /**
   * Committed batches per partition whose effects may still be draining while the next batches
   * are processed; beyond it the partition waits (backpressure). 2 overlaps a batch's Kafka
   * emits and Cassandra upserts with the next batch's work; 0 drains each batch before the next.
   * While a drain is failing (a sink down) only maxUndrainedEffects applies (partition-task.ts).
   */
  maxUndrainedCommits: z.number().int().min(0).default(2),
  /**
   * ... and at most this many effects in those commits, per partition: a slice of sparse
   * history emits several windows per record, and undrained entries counted only by commits
   * took a merchant worker past its heap cap with 5,000-record slices. It is also how much a
   * partition commits while a sink is down before it waits: about an hour of a merchant
   * partition's window closes at 5,000 events/s.
   */
  maxUndrainedEffects: z.number().int().min(1).default(20_000),
  /**
   * A partition acknowledges its drained outbox entries at most once per this many ms (0: after
   * every drain round). Live batches are a few records each, and the acknowledgement was one of
   * the four Redis calls per batch; entries drained but not yet acknowledged are drained again
   * after a crash (harmless: sinks are idempotent).
   */
  outboxAckIntervalMs: z.number().int().min(0).max(10_000).default(50),
  /**
   * V8 old-space cap of a worker, MiB (`--max-old-space-size`). 352 keeps a worker's peak RSS
   * under a 512 MiB container limit with the default maxActiveActors and 1 MiB fetches
   * (measured by bench:runtime); without a cap V8 sizes the heap from the machine's RAM and lets
   * garbage pile up far beyond that. 0: V8's default.
   */
  heapMib: z.number().int().min(0).default(352),
  /**
   * Event-time alignment of inputs that ask for it (the merchant pipeline): while replaying, a
   * partition may run at most this far ahead, in event time, of the slowest other partition
   * with input left (see runtime/alignment.ts). 0 (the default) disables it. Set it (the
   * allowed lateness is the natural value) for replays whose scores must match live ones: the
   * e2e test measured 75% of user events with a wrong 24 h history without it and 15% with
   * 20 minutes; it costs throughput on sparse history (a step per drift of event time), see
   * ARCHITECTURE.md.
   */
  alignmentMaxDriftMs: z.number().int().min(0).default(0),
  /** How long a partition held back by alignment pauses before it is fetched again. */
  alignmentPauseMs: z.number().int().min(10).default(100),
  /** V8 semi-space cap, MiB (`--max-semi-space-size`); 8 keeps the young generation small. 0: V8's default. */
  semiSpaceMib: z.number().int().min(0).default(8),
});

const api = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Events may be at most this far in the future of the API's clock. */
  maxFutureSkewMs: z.number().int().min(0).default(5 * 60_000),
  bodyLimitBytes: z.number().int().min(1024).default(1024 * 1024),
  /**
   * Request bytes the ingest routes hold in flight at most; past it 503 OVERLOADED with
   * Retry-After (src/api/ingest/admission.ts). A batch request's body costs the heap about 4–6
   * times its size while it is decoded, encoded and waits for Kafka's ack, so 16 MiB stays well
   * inside the 192 MiB heap.
   */
  maxInFlightBytes: z.number().int().min(1024).default(16 * 1024 * 1024),
  maxBatchEvents: z.number().int().min(1).default(1000),
  /** Accepted clock difference of a signed request's `t` (also its replay window). */
  signatureToleranceMs: z.number().int().min(1_000).default(5 * 60_000),
  /** Default per-key rate limit in events/s (a key record may override it). */
  rateLimitEventsPerSec: z.number().int().min(1).default(50_000),
  /** Token-bucket capacity in seconds of the rate (never below maxBatchEvents). */
  rateLimitBurstSec: z.number().min(0).default(2),
  /** API-key lookups are cached this long; it bounds how late a revocation bites. */
  keyCacheTtlMs: z.number().int().min(0).default(5_000),
  /** Idle producer waits this long for more requests to share a produce request. */
  kafkaLingerMs: z.number().int().min(0).default(2),
  /** Records per produce request (whole HTTP requests are never split). */
  kafkaMaxBatchRecords: z.number().int().min(1).default(5_000),
  /** A request whose events are not acknowledged by then gets 503 (retry is safe by event_id). */
  kafkaSendTimeoutMs: z.number().int().min(100).default(5_000),
  /**
   * Longest a lookup or an API-key read waits on Redis or Cassandra; past it the request gets
   * 503 STORE_UNAVAILABLE with Retry-After instead of hanging on a frozen or unreachable store
   * (Redis: ioredis commandTimeout; Cassandra: the driver's read timeout, 12 s by default).
   */
  storeTimeoutMs: z.number().int().min(50).default(1_000),
  /**
   * V8 old-space cap of the API process, MiB (`--max-old-space-size`; 0: V8's default). Without
   * it V8 sizes the heap from the machine's RAM and the API's peak RSS reached 330–415 MiB at
   * 2,000 events/s (bench:pipeline, session 8), mostly garbage not yet collected.
   */
  heapMib: z.number().int().min(0).default(192),
  /**
   * V8 semi-space cap of the API process, MiB (`--max-semi-space-size`; 0: V8's default). With
   * the 192 MiB heap, 8 cost less CPU than V8's default (95 vs 110–115 µs per event against 85–90
   * uncapped) and kept the peak RSS lower (175–179 vs 227–238 MiB); docs/ingest.md.
   */
  semiSpaceMib: z.number().int().min(0).default(8),
});

/** Bronze archiver: payments.events → Parquet by event date (own group, own process). */
const bronze = z.strictObject({
  /** Root directory of the lake's bronze layer. */
  dir: z.string().min(1).default('data/bronze'),
  /** Consumer group; separate from the stream workers so archiving never slows them. */
  groupId: z.string().min(1).default('riskstream-bronze'),
  /** A partition's buffer is written as one segment when it holds this many records... */
  segmentMaxRecords: z.number().int().min(1).default(100_000),
  /** ...or when its oldest record has waited this long. */
  segmentMaxAgeMs: z.number().int().min(100).default(10_000),
});

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Batch layer (BullMQ jobs in their own process: src/cli/batch.ts). Every*: 0 = on demand only. */
const batch = z.strictObject({
  queueName: z.string().min(1).default('riskstream-batch'),
  /**
   * A running job's lock in BullMQ. The retrain and the graph rebuild keep the event loop busy
   * for tens of seconds at a time, so the lock (renewed at half of it) must outlast that, or the
   * job is taken for stalled and run again meanwhile (seen with BullMQ's 30 s default). A crashed
   * worker's job is picked up again after this.
   */
  lockDurationMs: z.number().int().min(5_000).default(600_000),
  /**
   * Lake rows that reached Kafka in the last this-many ms before a job's as-of time are left to
   * the next run: the archiver writes a segment every few seconds, so a retry reads the same rows.
   */
  lakeSettleMs: z.number().int().min(0).default(60_000),
  attempts: z.number().int().min(1).default(3),
  backoffMs: z.number().int().min(0).default(10_000),
  graphRebuildEveryMs: z.number().int().min(0).default(15 * 60_000),
  graphLookbackMs: z.number().int().min(60_000).default(30 * DAY_MS),
  qualityEveryMs: z.number().int().min(0).default(HOUR_MS),
  qualityLookbackMs: z.number().int().min(60_000).default(DAY_MS),
  /** The quality report fails (and the alert fires) below this score. */
  qualityAlertBelow: z.number().min(0).max(100).default(80),
  anomaliesEveryMs: z.number().int().min(0).default(6 * HOUR_MS),
  anomaliesLookbackDays: z.number().int().min(8).default(60),
  anomaliesZThreshold: z.number().positive().default(3),
  retrainEveryMs: z.number().int().min(0).default(DAY_MS),
  retrainLookbackMs: z.number().int().min(HOUR_MS).default(30 * DAY_MS),
  /** Events younger than this are left out of training: their chargebacks may still come. */
  retrainLabelMaturityMs: z.number().int().min(0).default(7 * DAY_MS),
  retrainMinAucGain: z.number().min(0).default(0.005),
  retrainMinTestPositives: z.number().int().min(1).default(20),
  /**
   * Share of legitimate rows kept for training (prior-corrected): 0.1 keeps ~10 legitimate rows
   * per fraud row at ~1% fraud and bounds the fits' cost (bench:batch, docs/batch.md).
   */
  retrainNegativeSampleRate: z.number().gt(0).max(1).default(0.1),
  /**
   * Curated layer (Parquet by event date, published as snapshots: src/batch/curate.ts). Each run
   * rebuilds the event dates from `curateRebuildDays` before its as-of time on (late events land
   * in recent days), reading `curateContextDays` more for the per-user rolling amount.
   */
  curatedDir: z.string().min(1).default('data/curated'),
  /** Merchant, user and FX dimension tables (Parquet under merchants/, users/, fx_rates/). */
  dimensionsDir: z.string().min(1).default('data/dim'),
  curateEveryMs: z.number().int().min(0).default(HOUR_MS),
  curateRebuildDays: z.number().int().min(0).default(2),
  curateContextDays: z.number().int().min(0).default(7),
  /** Snapshots kept (with their files) so that queries that began on an older one still run. */
  curatedKeepSnapshots: z.number().int().min(1).default(3),
  /** Dead-letter replay: on demand by default (after the cause is fixed). */
  dlqReplayEveryMs: z.number().int().min(0).default(0),
  /** OpenLineage run events of every job attempt, one JSON line each, a file per UTC day. */
  lineageDir: z.string().min(1).default('data/lineage'),
  /** Queue dashboard (bull-board); off while the password is empty. */
  dashboardHost: z.string().min(1).default('127.0.0.1'),
  dashboardPort: z.number().int().min(0).max(65535).default(9473),
  dashboardUser: z.string().min(1).default('admin'),
  dashboardPassword: z.string().default(''),
});

const observability = z.strictObject({
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Port of /metrics, /healthz, /readyz for processes without their own HTTP app. */
  metricsPort: z.number().int().min(0).max(65535).default(9464),
  /**
   * Address that port listens on. Loopback by default (a developer machine); in a pod 0.0.0.0,
   * so the kubelet's probes and Prometheus reach it (deploy/k8s/configmap.yaml).
   */
  metricsHost: z.string().min(1).default('127.0.0.1'),
});

export const configSchema = z.strictObject({
  kafka: kafka.prefault({}),
  redis: redis.prefault({}),
  cassandra: cassandra.prefault({}),
  runtime: runtime.prefault({}),
  api: api.prefault({}),
  bronze: bronze.prefault({}),
  batch: batch.prefault({}),
  observability: observability.prefault({}),
});

export type Config = z.infer<typeof configSchema>;
type Input = Record<string, Record<string, unknown>>;

/**
 * RISKSTREAM_* variables of the tooling, not of a process's configuration: the local stack's
 * directory (scripts/stack, test/support/stack-redis.ts). A worker started by a test that sets
 * it inherits it and must not refuse to start; every other unknown name still fails.
 */
const TOOLING_VARIABLES: ReadonlySet<string> = new Set(['RISKSTREAM_STACK_DIR']);

/**
 * Builds the frozen config from defaults, then `overrides` (already structured), then the
 * environment. Throws CONFIG_INVALID naming every bad field.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = {}, overrides: Input = {}): Readonly<Config> {
  const input: Input = structuredClone(overrides);
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith('RISKSTREAM_') || TOOLING_VARIABLES.has(name)) continue;
    const [section, ...rest] = name.slice('RISKSTREAM_'.length).toLowerCase().split('_');
    if (!section || rest.length === 0) continue;
    const field = rest.map((part, i) => (i === 0 ? part : part[0]!.toUpperCase() + part.slice(1))).join('');
    const shape = (configSchema.shape as Record<string, z.ZodType>)[section];
    if (!shape) throw invalid(`${name}: unknown config section "${section}"`);
    input[section] = { ...(input[section] ?? {}), [field]: coerceEnv(raw, fieldKind(section, field)) };
  }
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw invalid(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  checkCrossFields(parsed.data);
  return deepFreeze(parsed.data);
}

function checkCrossFields(config: Config): void {
  if (config.kafka.heartbeatIntervalMs * 3 > config.kafka.sessionTimeoutMs) {
    throw invalid('kafka.heartbeatIntervalMs must be at most a third of kafka.sessionTimeoutMs');
  }
}

type Kind = 'number' | 'list' | 'string' | 'boolean';
const defaults = configSchema.parse({}) as unknown as Record<string, Record<string, unknown>>;

function fieldKind(section: string, field: string): Kind {
  const value = defaults[section]?.[field];
  if (value === undefined) throw invalid(`RISKSTREAM_${section.toUpperCase()}: unknown field "${field}"`);
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (Array.isArray(value)) return 'list';
  return 'string';
}

function coerceEnv(raw: string, kind: Kind): unknown {
  if (kind === 'list') return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  // Anything but the two words stays a string, and the schema rejects it with the field's path.
  if (kind === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (kind === 'number') {
    const n = Number(raw);
    return raw.trim() === '' || !Number.isFinite(n) ? raw : n;
  }
  return raw;
}

function invalid(message: string): RiskstreamError {
  return new RiskstreamError(ErrorCodes.configInvalid, `invalid configuration: ${message}`);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
