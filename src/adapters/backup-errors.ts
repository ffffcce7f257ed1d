import type { z } from 'zod';
import { type ErrorContext, RiskstreamError } from '../runtime/errors.ts';

/**
 * Stable codes of the backup and restore tools (src/cli/backup.ts). They are kept here, beside
 * the only code that raises them, rather than in runtime/errors.ts: no worker or API path can
 * meet them. Every refusal is terminal (re-running without a change fails the same way), except
 * the tools' own I/O, which says so with `retriable`.
 */
export const BackupErrorCodes = {
  /** The backup directory or its manifest is missing, malformed or from another format version. */
  manifestInvalid: 'BACKUP_MANIFEST_INVALID',
  /** A backup file does not match its manifest (checksum, row count, keys). */
  corrupt: 'BACKUP_CORRUPT',
  /** redis-cli or redis-server failed or is missing. */
  toolFailed: 'BACKUP_TOOL_FAILED',
  /** A column type the logical Cassandra backup cannot carry faithfully. */
  unsupportedType: 'BACKUP_UNSUPPORTED_TYPE',
  /** A consumer group of the restored prefix has live members (workers must be stopped). */
  workersRunning: 'RESTORE_WORKERS_RUNNING',
  /** Kafka no longer holds the input from a restored position on (or the topic changed). */
  offsetGone: 'RESTORE_OFFSET_GONE',
  /** The target holds partitions of groups or topics the backup knows nothing about. */
  unknownPartitions: 'RESTORE_UNKNOWN_PARTITIONS',
  /** The target keyspace's applied migrations differ from the backup's. */
  schemaMismatch: 'RESTORE_SCHEMA_MISMATCH',
} as const;

export function backupError(code: string, message: string, context: ErrorContext = {}, cause?: unknown): RiskstreamError {
  return new RiskstreamError(code, message, { context, ...(cause === undefined ? {} : { cause }) });
}

/** Parses a manifest's JSON text with `schema`; BACKUP_MANIFEST_INVALID naming every bad field. */
export function parseManifest<T>(schema: z.ZodType<T>, text: string, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw backupError(BackupErrorCodes.manifestInvalid, `${what} manifest is not JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw backupError(BackupErrorCodes.manifestInvalid, `invalid ${what} backup manifest: ${issues}`);
  }
  return parsed.data;
}
