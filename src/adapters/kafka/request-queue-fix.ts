import { createRequire } from 'node:module';

/**
 * Fix for a kafkajs 2.2.4 bug in every broker connection's request queue (upstream issues
 * tulios/kafkajs#1704 and #1751, unfixed in the last release).
 *
 * `RequestQueue.scheduleCheckPendingRequests` runs after every response. With nothing pending
 * and no throttle (`throttledUntil` is -1) it calls `setTimeout(check, -1 - Date.now())`: Node
 * clamps the delay to 1 ms and prints `TimeoutNegativeWarning: -17952… is a negative number`
 * once per process, and since the check schedules itself again, each connection that ever got
 * a response wakes its process every millisecond for as long as it stays open: CPU burnt on
 * an idle client, and timer work on the event loop between our requests.
 *
 * The replacement keeps the upstream behaviour whenever there is something pending (a check at
 * the end of a broker-requested throttle, else after CHECK_PENDING_REQUESTS_INTERVAL as a
 * safety net) and schedules nothing when the queue is empty: a request pushed later either
 * goes out at once or is queued by `push`, which schedules its own check, and a response or
 * timeout runs the check itself.
 */

/** kafkajs's own constant in network/requestQueue (not exported). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;
/** The release whose RequestQueue this was written against; any other is left alone. */
const FIXED_VERSION = '2.2.4';

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const PATCHED = Symbol.for('riskstream.kafkajs.requestQueueFix');

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const untilUnthrottledMs = this.throttledUntil - Date.now();
  const delayMs = untilUnthrottledMs > 0 ? untilUnthrottledMs : CHECK_PENDING_REQUESTS_INTERVAL_MS;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delayMs);
}

/**
 * Installs the fix on kafkajs's RequestQueue prototype (process-wide: every kafkajs client of
 * the process shares the module). Idempotent. Returns whether the fix is in place; false when
 * the installed kafkajs is not the release it was written for (then check whether that release
 * fixed the bug, and update or drop this module).
 */
export function installRequestQueueFix(): boolean {
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== FIXED_VERSION) return false;
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: RequestQueueInternals & { [PATCHED]?: true };
  };
  const proto = RequestQueue.prototype;
  if (proto[PATCHED]) return true;
  proto.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  proto[PATCHED] = true;
  return true;
}
