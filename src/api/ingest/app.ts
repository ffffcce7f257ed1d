import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Registry } from 'prom-client';
import type { FieldError } from '../../contract/event.ts';
import { fullTopicName, TopicBase } from '../../provision/topics.ts';
import type { Config } from '../../runtime/config.ts';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/logger.ts';
import { hasScope, KeyResolver, presentedKey, verifySignature } from './auth.ts';
import { decodeBatch, decodeSingle, mediaType, NDJSON_TYPES } from './body.ts';
import { createIngestMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import type { ApiKeyRecord, ApiKeyStore, RecordSink, Scope } from './ports.ts';
import type { LookupReader } from '../lookup/ports.ts';
import { lookupPaths } from '../lookup/openapi.ts';
import { registerLookupRoutes } from '../lookup/routes.ts';
import { InFlightBudget, requestCost } from './admission.ts';
import { TokenBuckets } from './rate-limit.ts';
import { ingest } from './service.ts';

/** Error codes of stores that did not answer: 503 with Retry-After, not a 500. */
const UNAVAILABLE: ReadonlySet<string> = new Set([ErrorCodes.storeUnavailable, ErrorCodes.cassandraUnavailable]);

export interface IngestAppDeps {
  readonly config: Readonly<Config>;
  readonly sink: RecordSink;
  readonly keys: ApiKeyStore;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Injected clock (tests pin it). */
  readonly now?: () => number;
  /** When given, the lookup routes (read scope) are served by the same app. */
  readonly lookup?: LookupReader;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: { hash: string; record: ApiKeyRecord };
  }
}

/**
 * Builds the ingest app (not listening). Fastify only wires HTTP: decoding, validation,
 * auth, rate limiting and the accept-after-ack rule live in the pure modules beside it.
 */
export function buildIngestApp(deps: IngestAppDeps): FastifyInstance {
  const { config, sink, registry } = deps;
  const now = deps.now ?? Date.now;
  const metrics = createIngestMetrics(registry);
  const resolver = new KeyResolver(deps.keys, config.api.keyCacheTtlMs, now);
  const buckets = new TokenBuckets(config.api.rateLimitBurstSec, config.api.maxBatchEvents);
  const topic = fullTopicName(config.kafka.topicPrefix, TopicBase.events);
  const base = openApiDocument(config.api.maxBatchEvents, config.api.bodyLimitBytes);
  const openapi = deps.lookup ? { ...base, paths: { ...(base.paths as object), ...lookupPaths() } } : base;
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'ingest-api' }) as FastifyBaseLogger,
    // Our onResponse hook logs one line per request (with reqId); Fastify's own pair is off.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.api.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    return503OnClosing: true,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', ...NDJSON_TYPES], { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply) => {
    // A store that did not answer (lookups, API-key reads on a cache miss): the client retries.
    if (err instanceof RiskstreamError && err.retriable && UNAVAILABLE.has(err.code)) {
      req.log.warn({ err }, 'store unavailable');
      void reply.header('retry-after', '1');
      return sendError(reply, 503, err.code, 'a store did not answer in time; retry', []);
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    const code =
      status === 413 ? 'BODY_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : (err.code ?? 'ERROR');
    void sendError(reply, status, code, status >= 500 ? 'internal error' : err.message, []);
  });
  const budget = new InFlightBudget(config.api.maxInFlightBytes);
  const release = (req: FastifyRequest) => {
    if (req.admittedBytes === 0) return;
    budget.release(req.admittedBytes);
    req.admittedBytes = 0;
    metrics.inFlightBytes.set(budget.bytes);
  };
  app.addHook('onRequest', async (req, reply) => {
    req.startNs = process.hrtime.bigint();
    req.admittedBytes = 0;
    reply.header('x-request-id', req.id); // clients quote it; logs carry it as reqId
    if (req.method !== 'POST' || !req.url.startsWith('/v1/events')) return;
    const cost = requestCost(req.headers['content-length'], config.api.bodyLimitBytes);
    if (!budget.tryAdmit(cost)) {
      reply.header('retry-after', '1');
      return sendError(reply, 503, 'OVERLOADED', 'the API has too many requests in flight; retry', []);
    }
    req.admittedBytes = cost;
    metrics.inFlightBytes.set(budget.bytes);
  });
  app.addHook('onRequestAbort', async (req) => release(req));
  app.addHook('onResponse', async (req, reply) => {
    release(req);
    const route = req.routeOptions.url ?? 'unknown';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.duration.observe({ route }, Number(process.hrtime.bigint() - req.startNs) / 1e9);
    const line = { reqId: req.id, route, status: reply.statusCode, keyId: req.apiKey?.record.keyId };
    if (reply.statusCode >= 500) req.log.warn(line, 'request answered');
    else req.log.debug(line, 'request answered');
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) =>
    sink.isReady() ? { status: 'ready' } : reply.code(503).send({ status: 'kafka unavailable' }),
  );
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.get('/openapi.json', async () => openapi);

  const guard = { onRequest: authenticate(resolver, 'ingest') };
  if (deps.lookup) {
    registerLookupRoutes(app, { reader: deps.lookup, now, maxRangeMs: 7 * 24 * 3_600_000, guard: { onRequest: authenticate(resolver, 'read') } });
  }
  const handle = (single: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const raw = req.body as Buffer | undefined;
    const media = mediaType(req.headers['content-type']);
    if (single && media !== 'application/json') {
      return sendError(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', 'single events must be application/json', []);
    }
    const body = raw ?? Buffer.alloc(0);
    const key = req.apiKey!;
    const signature = req.headers['x-rs-signature'];
    if (typeof signature === 'string' || key.record.requireSignature) {
      const check =
        typeof signature === 'string'
          ? verifySignature(signature, body, key.hash, now(), config.api.signatureToleranceMs)
          : 'missing';
      if (check !== 'ok') return sendError(reply, 401, 'BAD_SIGNATURE', `request signature ${check}`, []);
    }
    const decoded = single ? decodeSingle(body) : decodeBatch(body, media, config.api.maxBatchEvents);
    if (!decoded.ok)
      return sendError(reply, decoded.status, decoded.error, 'request body rejected', decoded.details);
    const rate = key.record.rateLimitPerSec ?? config.api.rateLimitEventsPerSec;
    const decision = buckets.take(key.record.keyId, rate, decoded.items.length, now());
    if (!decision.allowed) {
      reply.header('retry-after', String(decision.retryAfterSec));
      return sendError(reply, 429, 'RATE_LIMITED', `rate limit of ${rate} events/s exceeded`, []);
    }
    const started = process.hrtime.bigint();
    const outcome = await ingest(decoded.items, {
      sink,
      topic,
      nowMs: now,
      validate: { maxFutureSkewMs: config.api.maxFutureSkewMs },
    });
    metrics.kafkaSend.observe(Number(process.hrtime.bigint() - started) / 1e9);
    metrics.events.inc({ outcome: 'rejected' }, outcome.rejected);
    if (outcome.kind === 'unavailable') {
      metrics.events.inc({ outcome: 'failed' }, decoded.items.length - outcome.rejected);
      req.log.warn({ reqId: req.id, err: outcome.error }, 'kafka unavailable; nothing accepted');
      reply.header('retry-after', '1');
      return sendError(reply, 503, 'KAFKA_UNAVAILABLE', 'events not accepted: Kafka unavailable; retry', []);
    }
    metrics.events.inc({ outcome: 'accepted' }, outcome.accepted);
    return single ? answerSingle(reply, outcome.results[0]!) : answerBatch(reply, outcome);
  };
  app.post('/v1/events', guard, handle(true));
  app.post('/v1/events/batch', guard, handle(false));
  return app;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Bytes this request holds of the ingest admission budget (0: none). */
    admittedBytes: number;
    startNs: bigint;
  }
}

function authenticate(resolver: KeyResolver, scope: Scope) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const key = presentedKey(req.headers);
    if (key === undefined)
      return sendError(reply, 401, 'UNAUTHENTICATED', 'missing or malformed API key', []);
    const found = await resolver.resolve(key);
    if (found.record === undefined)
      return sendError(reply, 401, 'UNAUTHENTICATED', 'unknown or revoked API key', []);
    if (!hasScope(found.record, scope))
      return sendError(reply, 403, 'FORBIDDEN', `API key lacks scope ${scope}`, []);
    req.apiKey = { hash: found.hash, record: found.record };
  };
}

function sendError(
  reply: FastifyReply,
  status: number,
  error: string,
  message: string,
  details: FieldError[],
) {
  return reply.code(status).send({ error, message, details, requestId: reply.request.id });
}

function answerSingle(reply: FastifyReply, result: import('./service.ts').EventResult) {
  if (result.status === 'accepted')
    return reply.code(202).send({ event_id: result.event_id, status: 'accepted' });
  return sendError(reply, 400, 'INVALID_EVENT', 'event rejected', result.errors);
}

function answerBatch(
  reply: FastifyReply,
  outcome: { results: unknown[]; accepted: number; rejected: number },
) {
  const status = outcome.rejected === 0 ? 202 : outcome.accepted > 0 ? 207 : 400;
  return reply
    .code(status)
    .send({ accepted: outcome.accepted, rejected: outcome.rejected, results: outcome.results });
}
