import { ErrorCodes, RiskstreamError } from './errors.ts';

/**
 * The one place that decides what happens after a failure.
 *
 * - `deadLetter`: the message itself is bad or makes pure code fail; replaying it fails the same
 *   way, so it goes to a DLQ and the partition moves on.
 * - `retry`: an I/O dependency failed (store, sink, broker); the batch is retried after a backoff
 *   with nothing committed, so no input is lost or applied twice.
 * - `crash`: the process cannot go on correctly (bad config, state written by newer code); let
 *   the orchestrator restart it and alert.
 */
export type Verdict = 'retry' | 'deadLetter' | 'crash';

const crashCodes: ReadonlySet<string> = new Set([ErrorCodes.configInvalid, ErrorCodes.stateCodec]);

export function classifyHandlerFailure(attempt: number, maxRetries: number): Verdict {
  return attempt < maxRetries ? 'retry' : 'deadLetter';
}

export function classifyInfrastructureFailure(err: unknown): Verdict {
  if (err instanceof RiskstreamError) {
    if (crashCodes.has(err.code)) return 'crash';
    return err.retriable ? 'retry' : 'crash';
  }
  // Unknown errors from I/O clients (sockets, timeouts) are presumed transient.
  return 'retry';
}

/** Exponential backoff with a cap; deterministic (no jitter) so tests can assert it. */
export function backoffMs(attempt: number, baseMs = 100, capMs = 5_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
}
