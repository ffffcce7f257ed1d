import type { RiskModel } from '../../src/analytics/model.ts';
import type { FraudLabel } from '../../src/contract/label.ts';
import type {
  BronzeEvent,
  BronzeRange,
  GraphPublisher,
  JobContext,
  LabelReader,
  LakeReader,
  ModelStore,
  ReportStore,
} from '../../src/batch/ports.ts';

/** In-memory ports of the batch jobs, for unit tests. */
export class MemoryLake implements LakeReader {
  readonly ranges: BronzeRange[] = [];
  constructor(readonly stored: readonly Record<string, unknown>[]) {}
  async events(range: BronzeRange): Promise<BronzeEvent[]> {
    this.ranges.push(range);
    const seen = new Set<unknown>();
    return (await this.rows(range)).filter((r) => !seen.has(r.event_id) && seen.add(r.event_id)) as unknown as BronzeEvent[];
  }
  async rows(range: BronzeRange): Promise<Record<string, unknown>[]> {
    return this.stored.filter(
      (r) =>
        (r.ts_ms as number) >= range.fromMs &&
        (r.ts_ms as number) < range.toMs &&
        (range.arrivedBeforeMs === undefined || r.kafka_timestamp_ms === undefined || (r.kafka_timestamp_ms as number) < range.arrivedBeforeMs),
    );
  }
}

export class MemoryLabels implements LabelReader {
  constructor(readonly list: readonly FraudLabel[]) {}
  async labels(): Promise<FraudLabel[]> {
    return [...this.list];
  }
}

export class MemoryGraph implements GraphPublisher {
  readonly published: Parameters<GraphPublisher['publish']>[0][] = [];
  async publish(snapshot: Parameters<GraphPublisher['publish']>[0]): Promise<void> {
    this.published.push(snapshot);
  }
}

export class MemoryModels implements ModelStore {
  readonly models = new Map<string, RiskModel>();
  current: string | null = null;
  async currentVersion(): Promise<string | null> {
    return this.current;
  }
  async get(version: string): Promise<RiskModel | null> {
    return this.models.get(version) ?? null;
  }
  async publish(model: RiskModel): Promise<void> {
    this.models.set(model.version, model);
  }
  async promote(version: string): Promise<void> {
    if (!this.models.has(version)) throw new Error(`unknown ${version}`);
    this.current = version;
  }
}

export class MemoryReports implements ReportStore {
  readonly reports = new Map<string, object>();
  async put(job: string, report: object): Promise<void> {
    this.reports.set(job, report);
  }
}

export function jobContext(asOfMs: number): JobContext & { progressSeen: number[] } {
  const progressSeen: number[] = [];
  return { asOfMs, progressSeen, progress: async (p) => void progressSeen.push(p), log: async () => undefined };
}
