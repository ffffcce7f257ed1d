import { eventJsonSchema } from '../../contract/event.ts';

/** OpenAPI 3.1 document, generated from the event contract (no hand-copied schema). */
export function openApiDocument(maxBatchEvents: number, bodyLimitBytes: number): Record<string, unknown> {
  const { $schema: _dialect, ...event } = eventJsonSchema();
  const fieldError = {
    type: 'object',
    properties: { path: { type: 'string' }, reason: { type: 'string' } },
    required: ['path', 'reason'],
  };
  const error = {
    type: 'object',
    properties: {
      error: { type: 'string' },
      message: { type: 'string' },
      requestId: { type: 'string' },
      details: { type: 'array', items: { $ref: '#/components/schemas/FieldError' } },
    },
    required: ['error', 'message'],
  };
  const errors = Object.fromEntries(
    [
      ['400', 'Invalid body or event (details name field path and reason)'],
      ['401', 'Missing/unknown API key or bad signature'],
      ['403', 'Key lacks the ingest scope'],
      ['413', `Body over ${bodyLimitBytes} bytes or more than ${maxBatchEvents} events`],
      ['415', 'Unsupported content type'],
      ['429', 'Rate limit exceeded (see Retry-After)'],
      ['503', 'Kafka unavailable: nothing was accepted, retry'],
    ].map(([code, description]) => [code, { description, content: json('#/components/schemas/Error') }]),
  );
  return {
    openapi: '3.1.0',
    info: { title: 'riskstream ingest API', version: '1' },
    components: {
      schemas: { PaymentEvent: event, FieldError: fieldError, Error: error },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'API key rsk_<id>_<secret>' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths: {
      '/v1/events': {
        post: {
          summary: 'Ingest one event; 202 once Kafka acknowledged it',
          parameters: [signatureParameter()],
          requestBody: { required: true, content: json('#/components/schemas/PaymentEvent') },
          responses: { '202': { description: 'Accepted (durably in Kafka)' }, ...errors },
        },
      },
      '/v1/events/batch': {
        post: {
          summary: `Ingest up to ${maxBatchEvents} events (JSON array or NDJSON); per-event results`,
          parameters: [signatureParameter()],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'array',
                  maxItems: maxBatchEvents,
                  items: { $ref: '#/components/schemas/PaymentEvent' },
                },
              },
              'application/x-ndjson': {
                schema: { type: 'string', description: 'One PaymentEvent JSON per line' },
              },
            },
          },
          responses: {
            '202': { description: 'All accepted' },
            '207': { description: 'Some accepted, some rejected (see results)' },
            ...errors,
          },
        },
      },
    },
  };
}

function json(ref: string): Record<string, unknown> {
  return { 'application/json': { schema: { $ref: ref } } };
}

function signatureParameter(): Record<string, unknown> {
  return {
    name: 'x-rs-signature',
    in: 'header',
    required: false,
    description: 't=<epoch ms>,v1=<hex HMAC-SHA256(SHA-256(apiKey), "<t>.<raw body>")>',
    schema: { type: 'string' },
  };
}
