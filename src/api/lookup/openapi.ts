/**
 * OpenAPI paths of the lookup routes (read scope), merged into the API's document. Kept beside
 * routes.ts so the two change together; the error shape is the ingest document's `Error`.
 */
const errorRef = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
const errors = {
  '400': { description: 'Malformed id or query (details name the parameter and reason)', content: errorRef },
  '401': { description: 'Missing or unknown API key', content: errorRef },
  '403': { description: 'Key lacks the read scope', content: errorRef },
  '404': { description: 'Unknown id', content: errorRef },
  '503': {
    description: 'Redis (STORE_UNAVAILABLE) or Cassandra (CASSANDRA_UNAVAILABLE) did not answer within api.storeTimeoutMs; retry after the Retry-After seconds',
    headers: { 'Retry-After': { schema: { type: 'integer' } } },
    content: errorRef,
  },
};
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' } });
const intQuery = (name: string, description: string, required: boolean) => ({ name, in: 'query', required, description, schema: { type: 'integer' } });
const object = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });

export function lookupPaths(): Record<string, unknown> {
  return {
    '/v1/users/{userId}/risk': {
      get: {
        summary: 'Latest risk score of a user: score, decision, reasons, features, model version, as_of_ms (event time) and staleness_ms',
        parameters: [idParam('userId')],
        responses: { '200': object('The latest score'), ...errors },
      },
    },
    '/v1/users/{userId}/graph': {
      get: {
        summary: 'Graph context of a user from the latest batch graph rebuild: ring_score, component_size and component (users linked by shared devices; 0, 1 and null for a user who shares none), shared_device_users (direct neighbours, at most 50), snapshot_id, as_of_ms and staleness_ms. 404 until a rebuild has run',
        parameters: [idParam('userId')],
        responses: { '200': object('The graph context'), ...errors },
      },
    },
    '/v1/scores/{eventId}': {
      get: { summary: 'Score of one event', parameters: [idParam('eventId')], responses: { '200': object('The score'), ...errors } },
    },
    '/v1/merchants/{merchantId}/windows': {
      get: {
        summary: 'Final 5-minute windows of a merchant by window start range, newest first, paginated',
        parameters: [
          idParam('merchantId'),
          intQuery('from', 'window_start ≥ from (epoch ms)', true),
          intQuery('to', 'window_start < to (epoch ms); at most 7 days after from', true),
          intQuery('limit', 'rows per page, 1..1000 (default 100)', false),
          { name: 'status', in: 'query', required: false, schema: { enum: ['authorized', 'captured', 'refunded', 'failed'] } },
          { name: 'page_state', in: 'query', required: false, description: 'cursor from the previous page', schema: { type: 'string' } },
        ],
        responses: { '200': object('{ rows, page_state, as_of_ms }'), ...errors },
      },
    },
    '/v1/merchants/{merchantId}/stats': {
      get: {
        summary: 'Failure counts and rates (rolling hour, since start) of a merchant',
        parameters: [idParam('merchantId')],
        responses: { '200': object('The stats'), ...errors },
      },
    },
  };
}
