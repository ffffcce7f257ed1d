import { parquetWriteBuffer } from 'hyparquet-writer';
import type { BronzeColumns } from '../../bronze/rows.ts';

/** Encodes bronze columns as one Parquet file (Snappy). Row groups of ≤ 100k rows. */
export function encodeBronzeParquet(c: BronzeColumns): Uint8Array {
  const buffer = parquetWriteBuffer({
    rowGroupSize: 100_000,
    createdBy: 'riskstream bronze archiver',
    columnData: [
      { name: 'event_id', data: c.event_id, type: 'STRING' },
      { name: 'ts_ms', data: c.ts_ms, type: 'INT64' },
      { name: 'user_id', data: c.user_id, type: 'STRING' },
      { name: 'merchant_id', data: c.merchant_id, type: 'STRING' },
      { name: 'amount', data: c.amount, type: 'DOUBLE' },
      { name: 'currency', data: c.currency, type: 'STRING' },
      { name: 'country', data: c.country, type: 'STRING' },
      { name: 'device_id', data: c.device_id, type: 'STRING' },
      { name: 'status', data: c.status, type: 'STRING' },
      { name: 'metadata', data: c.metadata, type: 'JSON' },
      { name: 'ingest_received_ms', data: c.ingest_received_ms, type: 'INT64' },
      { name: 'kafka_partition', data: c.kafka_partition, type: 'INT32', nullable: false },
      { name: 'kafka_offset', data: c.kafka_offset, type: 'INT64', nullable: false },
      { name: 'kafka_timestamp_ms', data: c.kafka_timestamp_ms, type: 'INT64', nullable: false },
      { name: 'raw_value', data: c.raw_value, type: 'STRING' },
      { name: 'error', data: c.error, type: 'STRING' },
    ],
  });
  return new Uint8Array(buffer);
}
