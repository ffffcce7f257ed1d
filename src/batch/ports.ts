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
