/**
 * The one error type of riskstream. Every failure carries a stable `code` (for metrics, DLQ
 * records and alerts), a `retriable` flag (the supervisor's first question) and context.
 *
 * Rule of thumb: I/O errors are retriable; errors from pure code are terminal for the message
 * that caused them (replaying it fails the same way), so the message goes to a dead-letter topic.
 */
export type ErrorContext = Readonly<Record<string, string | number | boolean | undefined>>;

export interface RiskstreamErrorOptions {
  readonly retriable?: boolean;
  readonly cause?: unknown;
  readonly context?: ErrorContext;
}

export class RiskstreamError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly context: ErrorContext;

  constructor(code: string, message: string, options: RiskstreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RiskstreamError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, retriable: this.retriable, context: this.context };
  }
}

/** Stable codes. Add here, never inline a new string elsewhere. */
export const ErrorCodes = {
  configInvalid: 'CONFIG_INVALID',
  decodeFailed: 'DECODE_FAILED',
  validationFailed: 'VALIDATION_FAILED',
  handlerFailed: 'HANDLER_FAILED',
  lateEvent: 'LATE_EVENT',
  notOwner: 'NOT_OWNER',
  offsetMismatch: 'OFFSET_MISMATCH',
  stateCodec: 'STATE_CODEC',
  storeUnavailable: 'STORE_UNAVAILABLE',
  kafkaUnavailable: 'KAFKA_UNAVAILABLE',
  cassandraUnavailable: 'CASSANDRA_UNAVAILABLE',
  sinkFailed: 'SINK_FAILED',
  timeout: 'TIMEOUT',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Wraps anything thrown into a RiskstreamError, keeping the original as `cause`. */
export function toRiskstreamError(err: unknown, fallbackCode: string, retriable: boolean): RiskstreamError {
  if (err instanceof RiskstreamError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RiskstreamError(fallbackCode, message, { retriable, cause: err });
}
