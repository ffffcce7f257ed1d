/**
 * What the batch jobs read and write, as interfaces: the jobs (src/batch/*.ts) hold the logic, the
 * adapters (DuckDB over the lake, Kafka labels, Redis registries) do the I/O, and unit tests pass
 * in-memory versions.
 */
import type { PaymentEvent } from '../contract/event.ts';
import type { FraudLabel } from '../contract/label.ts';
import type { RiskModel } from '../analytics/model.ts';
import type { GraphContext } from '../analytics/user-features.ts';

/** Event time range [fromMs, toMs). */
export interface BronzeRange {
  readonly fromMs: number;
  readonly toMs: number;
  /**
   * Only rows that reached Kafka before this time (the record's timestamp): a retried job reads
   * the same rows even though events of that event-time range kept arriving since.
   */
  readonly arrivedBeforeMs?: number;
}

/** A valid bronze event, once per event id: the contract's event as ingested. */
export type BronzeEvent = Omit<PaymentEvent, 'metadata'>;

export interface LakeReader {
  /** Valid events in the range, deduplicated by event id, in arrival order. */
  events(range: BronzeRange): Promise<BronzeEvent[]>;
  /** Every stored row of the range as written (duplicates included): the quality check's input. */
  rows(range: BronzeRange): Promise<Record<string, unknown>[]>;
}

export interface LabelReader {
  /** Every label on the labels topic so far (a later label of an event replaces an earlier one). */
  labels(): Promise<FraudLabel[]>;
}

export interface GraphPublisher {
  publish(snapshot: {
    id: string;
    builtAtMs: number;
    contexts: Readonly<Record<string, GraphContext>>;
    /** Component id and direct device-sharing users, for the lookup API. */
    neighbours: Readonly<Record<string, { component: string; sharedWith: readonly string[] }>>;
    summary: Readonly<Record<string, number | string>>;
  }): Promise<void>;
}

export interface ModelStore {
  currentVersion(): Promise<string | null>;
  get(version: string): Promise<RiskModel | null>;
  publish(model: RiskModel, nowMs: number): Promise<void>;
  promote(version: string): Promise<void>;
}

/** Latest report of each job, for operators and the lookup API. */
export interface ReportStore {
  put(job: string, report: object): Promise<void>;
}

/** What a running job may do besides its work. */
export interface JobContext {
  /** 0–100, shown on the dashboard. */
  progress(percent: number): Promise<void>;
  log(message: string): Promise<void>;
  /** The job's "now": its scheduled time, so a retried run reads the same range. */
  readonly asOfMs: number;
  /** Parameters of an on-demand run (`batch --run <job> --param k=v`); empty for scheduled runs. */
  readonly params?: Readonly<Record<string, string>>;
}

/** Curated tables (src/batch/curate.ts; layout and format: src/adapters/file/curated-catalog.ts). */
export const CURATED_TABLES = ['payments', 'merchant_daily', 'merchant_daily_status'] as const;
export type CuratedTable = (typeof CURATED_TABLES)[number];

/** One table's rows of one event date, as a run wrote them. */
export interface CuratedDay {
  /** Paths relative to the curated root. */
  readonly files: readonly string[];
  readonly rows: number;
  /** The run's as-of time and arrival cut: rows that reached Kafka after the cut are not in it. */
  readonly asOfMs: number;
  readonly arrivedBeforeMs: number;
}

/** A consistent state of every curated table: which files make up which day. */
export interface CuratedSnapshot {
  readonly version: 1;
  readonly seq: number;
  readonly runId: string;
  readonly asOfMs: number;
  readonly createdMs: number;
  readonly tables: Readonly<Record<CuratedTable, Readonly<Record<string, CuratedDay>>>>;
}

/** What one curate run rebuilds: whole event dates, read with context before them. */
export interface CurateRequest {
  readonly runId: string;
  /** Event dates (`YYYY-MM-DD`, UTC) whose rows are rebuilt. */
  readonly dates: readonly string[];
  /** Events from here on are read, so per-user windows of the first rebuilt day see history. */
  readonly contextFromMs: number;
  /** Event-time bound (exclusive): the run's as-of time. */
  readonly toMs: number;
  readonly arrivedBeforeMs: number;
}

export interface CurateOutput {
  /** Per table, the rebuilt dates that have rows, with their files (relative) and row counts. */
  readonly tables: Readonly<Record<CuratedTable, Readonly<Record<string, { files: string[]; rows: number }>>>>;
  /** Distinct events read, context included. */
  readonly eventsRead: number;
  /** Rows of each dimension table read. */
  readonly dimensions: Readonly<Record<'merchants' | 'users' | 'fx_rates', number>>;
  /** Rebuilt payments whose merchant, user or currency has no dimension row. */
  readonly unmatched: { readonly merchants: number; readonly users: number; readonly currencies: number };
}

export interface CuratedLake {
  /** Event dates the bronze layer holds, ascending. */
  bronzeDates(): Promise<string[]>;
  /** Writes the requested dates' files (not yet visible: see the catalog). */
  build(request: CurateRequest): Promise<CurateOutput>;
  current(): Promise<CuratedSnapshot | null>;
  publish(snapshot: CuratedSnapshot): Promise<void>;
  /** Curated payments of the current snapshot with event time in [fromMs, toMs) (quality check). */
  payments(range: { fromMs: number; toMs: number }): Promise<Record<string, unknown>[] | null>;
  /** Drops snapshots beyond the newest `keep` and files none of them lists; returns files deleted. */
  collect(keep: number, nowMs: number): Promise<number>;
}
