import type { FastifyInstance, FastifyReply, RouteShorthandOptions } from 'fastify';
import { ID_PATTERN, STATUSES } from '../../contract/event.ts';
import type { LookupReader } from './ports.ts';

export interface LookupDeps {
  /** Route options applied to every lookup route (the read-scope auth hook). */
  readonly guard: RouteShorthandOptions;
  readonly reader: LookupReader;
  readonly now: () => number;
  /** Longest range one window query may span. */
  readonly maxRangeMs: number;
}

interface Problem {
  readonly path: string;
  readonly reason: string;
}

// Same error shape as the ingest API: { error, message, details: [{ path, reason }], requestId }.
function bad(reply: FastifyReply, details: Problem[]): FastifyReply {
  return reply.code(400).send({ error: 'INVALID_QUERY', message: 'invalid request', details, requestId: reply.request.id });
}

function notFound(reply: FastifyReply, what: string): FastifyReply {
  return reply.code(404).send({ error: 'NOT_FOUND', message: `${what} not found`, details: [], requestId: reply.request.id });
}

function intParam(raw: unknown, path: string, problems: Problem[]): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^-?\d{1,16}$/.test(raw)) {
    problems.push({ path, reason: 'must be an integer (epoch milliseconds or a count)' });
    return undefined;
  }
  return Number(raw);
}

/**
 * Read endpoints (read scope). Every answer says how fresh it is: `as_of_ms` is the event time
 * of the data, `staleness_ms` the API clock minus the time the data was ingested (scores) or its
 * event time (windows, stats). Reads never touch the stream path.
 */
export function registerLookupRoutes(app: FastifyInstance, deps: LookupDeps): void {
  app.get<{ Params: { userId: string } }>('/v1/users/:userId/risk', deps.guard, async (req, reply) => {
    const { userId } = req.params;
    if (!ID_PATTERN.test(userId))
      return bad(reply, [{ path: 'userId', reason: 'must match [A-Za-z0-9_.:-]{1,128}' }]);
    const score = await deps.reader.latestUserScore(userId);
    if (!score) return notFound(reply, `risk score of user ${userId}`);
    const received = score.ingest_received_ms ?? score.ts_ms;
    return { ...score, as_of_ms: score.ts_ms, staleness_ms: Math.max(0, deps.now() - received) };
  });

  app.get<{ Params: { userId: string } }>('/v1/users/:userId/graph', deps.guard, async (req, reply) => {
    const { userId } = req.params;
    if (!ID_PATTERN.test(userId))
      return bad(reply, [{ path: 'userId', reason: 'must match [A-Za-z0-9_.:-]{1,128}' }]);
    const graph = await deps.reader.userGraph(userId);
    if (!graph) return notFound(reply, 'graph snapshot (no rebuild has run yet)');
    return { ...graph, as_of_ms: graph.built_at_ms, staleness_ms: Math.max(0, deps.now() - graph.built_at_ms) };
  });

  app.get<{ Params: { eventId: string } }>('/v1/scores/:eventId', deps.guard, async (req, reply) => {
    const { eventId } = req.params;
    if (!ID_PATTERN.test(eventId))
      return bad(reply, [{ path: 'eventId', reason: 'must match [A-Za-z0-9_.:-]{1,128}' }]);
    const score = await deps.reader.scoreByEvent(eventId);
    if (!score) return notFound(reply, `score of event ${eventId}`);
    return { ...score, as_of_ms: score.ts_ms };
  });

  app.get<{ Params: { merchantId: string }; Querystring: Record<string, unknown> }>(
    '/v1/merchants/:merchantId/windows',
    async (req, reply) => {
      const { merchantId } = req.params;
      const q = req.query;
      const problems: Problem[] = [];
      if (!ID_PATTERN.test(merchantId))
        problems.push({ path: 'merchantId', reason: 'must match [A-Za-z0-9_.:-]{1,128}' });
      const from = intParam(q.from, 'query.from', problems);
      const to = intParam(q.to, 'query.to', problems);
      const limit = intParam(q.limit, 'query.limit', problems) ?? 100;
      const status = q.status;
      if (from === undefined && !problems.some((p) => p.path === 'query.from'))
        problems.push({ path: 'query.from', reason: 'is required' });
      if (to === undefined && !problems.some((p) => p.path === 'query.to'))
        problems.push({ path: 'query.to', reason: 'is required' });
      if (from !== undefined && to !== undefined && from >= to)
        problems.push({ path: 'query.to', reason: 'must be greater than from' });
      if (from !== undefined && to !== undefined && to - from > deps.maxRangeMs)
        problems.push({ path: 'query.to', reason: `range must not exceed ${deps.maxRangeMs} ms` });
      if (limit < 1 || limit > 1000) problems.push({ path: 'query.limit', reason: 'must be within 1..1000' });
      if (
        status !== undefined &&
        (typeof status !== 'string' || !(STATUSES as readonly string[]).includes(status))
      ) {
        problems.push({ path: 'query.status', reason: `must be one of ${STATUSES.join(', ')}` });
      }
      if (
        q.page_state !== undefined &&
        (typeof q.page_state !== 'string' || !/^[A-Za-z0-9_-]{1,512}$/.test(q.page_state))
      ) {
        problems.push({ path: 'query.page_state', reason: 'must be a cursor returned by a previous page' });
      }
      if (problems.length > 0 || from === undefined || to === undefined) return bad(reply, problems);
      const page = await deps.reader.merchantWindows({
        merchantId,
        fromMs: from,
        toMs: to,
        limit,
        ...(typeof status === 'string' ? { status } : {}),
        ...(typeof q.page_state === 'string' ? { pageState: q.page_state } : {}),
      });
      const newest = page.rows.reduce((m, r) => Math.max(m, r.window_end), Number.NEGATIVE_INFINITY);
      return {
        rows: page.rows,
        page_state: page.pageState,
        as_of_ms: Number.isFinite(newest) ? newest : null,
      };
    },
  );

  app.get<{ Params: { merchantId: string } }>('/v1/merchants/:merchantId/stats', deps.guard, async (req, reply) => {
    const { merchantId } = req.params;
    if (!ID_PATTERN.test(merchantId))
      return bad(reply, [{ path: 'merchantId', reason: 'must match [A-Za-z0-9_.:-]{1,128}' }]);
    const stats = await deps.reader.merchantStats(merchantId);
    if (!stats) return notFound(reply, `stats of merchant ${merchantId}`);
    const failureRate = stats.total_cnt === 0 ? 0 : stats.failed_cnt / stats.total_cnt;
    const hourRate = stats.hour_cnt === 0 ? 0 : stats.hour_failed / stats.hour_cnt;
    return {
      ...stats,
      failure_rate_since_start: failureRate,
      failure_rate_1h: hourRate,
      as_of_ms: stats.as_of_ms,
    };
  });
}
