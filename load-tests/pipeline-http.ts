/**
 * HTTP pieces of the pipeline benchmark: a keep-alive GET client for the lookup API, an open-loop
 * scheduler (send times fixed in advance; latency counted from the scheduled time, so a slow
 * moment is never hidden by sending later: no coordinated omission) and latency summaries.
 */
import { Agent, request } from 'node:http';

export interface GetResponse {
  readonly status: number;
  readonly body: string;
}

/** GETs against the API with an API key, over keep-alive sockets on loopback. */
export class LookupClient {
  readonly #agent: Agent;
  readonly #host: string;
  readonly #port: number;
  readonly #apiKey: string;

  constructor(baseUrl: string, apiKey: string, maxSockets = 512) {
    const url = new URL(baseUrl);
    this.#host = url.hostname;
    this.#port = Number(url.port);
    this.#apiKey = apiKey;
    this.#agent = new Agent({ keepAlive: true, maxSockets });
  }

  get(path: string): Promise<GetResponse> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.#host, port: this.#port, path, method: 'GET', agent: this.#agent, headers: { authorization: `Bearer ${this.#apiKey}` } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/**
 * Fires `fire(i, scheduledMs)` for i = 0..total-1 at `startMs + i * intervalMs`
 * (performance.now() time base), never waiting for a previous call: every due item is
 * dispatched on each ~1 ms tick. Resolves when all were dispatched and have settled.
 */
export async function openLoop(total: number, intervalMs: number, fire: (i: number, scheduledMs: number) => Promise<void>): Promise<{ durationMs: number; maxDispatchLagMs: number }> {
  const pending = new Set<Promise<void>>();
  const startMs = performance.now() + 5;
  let i = 0;
  let maxDispatchLagMs = 0;
  while (i < total) {
    const now = performance.now();
    while (i < total && startMs + i * intervalMs <= now) {
      const scheduled = startMs + i * intervalMs;
      maxDispatchLagMs = Math.max(maxDispatchLagMs, now - scheduled);
      const p = fire(i, scheduled).catch(() => undefined);
      pending.add(p);
      void p.finally(() => pending.delete(p));
      i += 1;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
  return { durationMs: performance.now() - startMs, maxDispatchLagMs };
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const round = (x: number) => Math.round(x * 100) / 100;

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length, p50Ms: round(percentile(sorted, 50)), p90Ms: round(percentile(sorted, 90)), p99Ms: round(percentile(sorted, 99)),
    p999Ms: round(percentile(sorted, 99.9)), maxMs: round(sorted.at(-1) ?? Number.NaN), meanMs: round(sorted.length ? sum / sorted.length : Number.NaN),
  };
}

/**
 * Samples (`[at, latency]`) summarised per `sliceMs` of `at` from `start`, every slice up to the
 * last sample's listed (an empty one has count 0 and NaN times); samples before `start` count
 * in the first.
 */
export function summarizeBySlice(samples: readonly (readonly [number, number])[], start: number, sliceMs: number): (LatencySummary & { fromSeconds: number })[] {
  const slices: number[][] = [];
  for (const [at, latency] of samples) {
    const i = Math.max(0, Math.floor((at - start) / sliceMs));
    for (let j = slices.length; j <= i; j += 1) slices.push([]);
    (slices[i] as number[]).push(latency);
  }
  return slices.map((values, i) => ({ fromSeconds: (i * sliceMs) / 1000, ...summarize(values) }));
}
