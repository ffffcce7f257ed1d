import type { IngestedEvent } from '../contract/event.ts';
import { decodeEvent } from '../contract/wire.ts';
import { eventDate, INVALID_BUCKET } from './layout.ts';

/** One Kafka record as the archiver sees it. */
export interface ArchiveRecord {
  readonly offset: bigint;
  readonly value: Buffer | null;
  readonly timestampMs: number;
}

/**
 * Columns of a bronze Parquet file (spec): the event fields as ingested (null for invalid
 * records), `metadata` as a JSON object, plus the Kafka coordinates that make every row unique:
 * (kafka_partition, kafka_offset). `raw_value` holds the undecodable value of an invalid record.
 */
export interface BronzeColumns {
  event_id: (string | null)[];
  ts_ms: (bigint | null)[];
  user_id: (string | null)[];
  merchant_id: (string | null)[];
  amount: (number | null)[];
  currency: (string | null)[];
  country: (string | null)[];
  device_id: (string | null)[];
  status: (string | null)[];
  metadata: (Record<string, string> | null)[];
  ingest_received_ms: (bigint | null)[];
  kafka_partition: number[];
  kafka_offset: bigint[];
  kafka_timestamp_ms: bigint[];
  raw_value: (string | null)[];
  error: (string | null)[];
}

export function emptyColumns(): BronzeColumns {
  return {
    event_id: [],
    ts_ms: [],
    user_id: [],
    merchant_id: [],
    amount: [],
    currency: [],
    country: [],
    device_id: [],
    status: [],
    metadata: [],
    ingest_received_ms: [],
    kafka_partition: [],
    kafka_offset: [],
    kafka_timestamp_ms: [],
    raw_value: [],
    error: [],
  };
}

/** Decodes records and splits them into per-bucket (event date or `_invalid`) columns. Pure. */
export function toBuckets(partition: number, records: readonly ArchiveRecord[]): Map<string, BronzeColumns> {
  const buckets = new Map<string, BronzeColumns>();
  for (const r of records) {
    let event: IngestedEvent | undefined;
    let error: string | null = null;
    try {
      event = decodeEvent(r.value ?? '');
    } catch (err) {
      error = (err as Error).message;
    }
    const bucket = event ? eventDate(event.ts_ms) : INVALID_BUCKET;
    let c = buckets.get(bucket);
    if (!c) {
      c = emptyColumns();
      buckets.set(bucket, c);
    }
    c.event_id.push(event?.event_id ?? null);
    c.ts_ms.push(event ? BigInt(event.ts_ms) : null);
    c.user_id.push(event?.user_id ?? null);
    c.merchant_id.push(event?.merchant_id ?? null);
    c.amount.push(event?.amount ?? null);
    c.currency.push(event?.currency ?? null);
    c.country.push(event?.country ?? null);
    c.device_id.push(event?.device_id ?? null);
    c.status.push(event?.status ?? null);
    c.metadata.push(event?.metadata ? { ...event.metadata } : null);
    c.ingest_received_ms.push(event ? BigInt(event.ingest_received_ms) : null);
    c.kafka_partition.push(partition);
    c.kafka_offset.push(r.offset);
    c.kafka_timestamp_ms.push(BigInt(r.timestampMs));
    c.raw_value.push(event ? null : (r.value?.toString('utf8') ?? null));
    c.error.push(error);
  }
  return buckets;
}
