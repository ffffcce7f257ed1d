import type { RecordSink } from '../../api/ingest/ports.ts';
import type { WireRecord } from '../../contract/wire.ts';

/**
 * In-memory RecordSink that records every acknowledged send. Faults are injected by setting
 * `failNext` (the call rejects and nothing is recorded, like a produce request that was not
 * acknowledged) or `ready = false`.
 */
export class MemoryRecordSink implements RecordSink {
  readonly sends: { topic: string; records: WireRecord[] }[] = [];
  ready = true;
  failNext = 0;

  isReady(): boolean {
    return this.ready;
  }

  async send(topic: string, records: readonly WireRecord[]): Promise<void> {
    if (!this.ready) throw new Error('memory sink not ready');
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('injected produce failure');
    }
    this.sends.push({ topic, records: [...records] });
  }

  /** Every record value sent so far, decoded. */
  values(): Record<string, unknown>[] {
    return this.sends.flatMap((s) => s.records.map((r) => JSON.parse(r.value) as Record<string, unknown>));
  }
}
