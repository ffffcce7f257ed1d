import { Agent, request } from 'node:http';
import { signBody } from '../api/ingest/auth.ts';

/** Minimal keep-alive HTTP client for the ingest API (generator, benchmark, e2e). */
export interface IngestClientOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly sign?: boolean;
  readonly maxSockets?: number;
}

export interface IngestResponse {
  readonly status: number;
  readonly body: string;
  readonly retryAfterSec?: number;
}

export class IngestClient {
  readonly #agent: Agent;
  readonly #url: URL;
  readonly #options: IngestClientOptions;

  constructor(options: IngestClientOptions) {
    this.#options = options;
    this.#url = new URL(options.baseUrl);
    this.#agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  }

  postBatch(ndjson: string): Promise<IngestResponse> {
    return this.post('/v1/events/batch', ndjson, 'application/x-ndjson');
  }

  postEvent(json: string): Promise<IngestResponse> {
    return this.post('/v1/events', json, 'application/json');
  }

  post(path: string, body: string, contentType: string): Promise<IngestResponse> {
    const payload = Buffer.from(body);
    const headers: Record<string, string | number> = {
      authorization: `Bearer ${this.#options.apiKey}`,
      'content-type': contentType,
      'content-length': payload.length,
    };
    if (this.#options.sign) headers['x-rs-signature'] = signBody(this.#options.apiKey, payload, Date.now());
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.#url.hostname, port: this.#url.port, path, method: 'POST', agent: this.#agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const retry = Number(res.headers['retry-after']);
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              ...(Number.isFinite(retry) ? { retryAfterSec: retry } : {}),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
