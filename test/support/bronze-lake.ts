import { encodeBronzeParquet } from '../../src/adapters/parquet/bronze-writer.ts';
import { encodeEvent } from '../../src/contract/wire.ts';
import type { PaymentEvent } from '../../src/contract/event.ts';
import { toBuckets, type ArchiveRecord } from '../../src/bronze/rows.ts';
import { BronzeStore } from '../../src/bronze/store.ts';

/** One record of the events topic as a test writes it to the lake. */
export interface LakeRecord {
  readonly partition: number;
  /** The event (encoded as the ingest API writes it) or raw bytes of an invalid record. */
  readonly event: PaymentEvent | string;
  readonly timestampMs: number;
}

/**
 * Writes records to a bronze directory through the archiver's own commit path (BronzeStore +
 * the Parquet encoder), one segment per partition, offsets in the order given from `firstOffset`
 * (the end of the previous call's segments + 1 to append).
 */
export async function writeBronzeLake(dir: string, records: readonly LakeRecord[], firstOffset = 0): Promise<void> {
  const store = new BronzeStore(dir);
  const byPartition = new Map<number, ArchiveRecord[]>();
  for (const r of records) {
    const list = byPartition.get(r.partition) ?? [];
    const value = typeof r.event === 'string' ? r.event : encodeEvent(r.event, r.timestampMs).value;
    list.push({ offset: BigInt(firstOffset + list.length), value: Buffer.from(value), timestampMs: r.timestampMs });
    byPartition.set(r.partition, list);
  }
  for (const [partition, list] of byPartition) {
    const ok = await store.commit('payments.events', partition, BigInt(firstOffset), BigInt(firstOffset + list.length - 1), toBuckets(partition, list), encodeBronzeParquet, Date.now());
    if (!ok) throw new Error(`segment of partition ${partition} already committed`);
  }
}
