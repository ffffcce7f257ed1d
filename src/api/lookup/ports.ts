/** What the lookup API reads. Adapters: Redis (live scores) and Cassandra (windows, history). */
export interface StoredScore {
  readonly event_id: string;
  readonly user_id: string;
  readonly merchant_id: string;
  readonly ts_ms: number;
  readonly ingest_received_ms?: number;
  readonly score: number;
  readonly decision: string;
  readonly reasons: readonly string[];
  readonly features: Readonly<Record<string, number>>;
  readonly model_version: string;
}

export interface WindowRowOut {
  readonly merchant_id: string;
  readonly window_start: number;
  readonly window_end: number;
  readonly status: string;
  readonly cnt: number;
  readonly sum_amount: number;
  readonly n_users: number;
  readonly final: boolean;
}

export interface WindowQuery {
  readonly merchantId: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly status?: string;
  readonly limit: number;
  /** Opaque cursor from a previous page. */
  readonly pageState?: string;
}

export interface MerchantStatsOut {
  readonly merchant_id: string;
  readonly total_cnt: number;
  readonly failed_cnt: number;
  readonly hour_cnt: number;
  readonly hour_failed: number;
  readonly as_of_ms: number;
}

/** A user's place in the latest graph snapshot of the batch rebuild. */
export interface UserGraphOut {
  readonly user_id: string;
  readonly snapshot_id: string;
  /** When the rebuild ran (its as-of time, epoch ms). */
  readonly built_at_ms: number;
  readonly ring_score: number;
  /** Users sharing a device with this one, directly or through others, including this one. */
  readonly component_size: number;
  /** The component's id (its smallest user id); null for a user who shares no device. */
  readonly component: string | null;
  /** Users sharing a device with this one directly (at most 50). */
  readonly shared_device_users: readonly string[];
}

export interface LookupReader {
  latestUserScore(userId: string): Promise<StoredScore | null>;
  scoreByEvent(eventId: string): Promise<StoredScore | null>;
  merchantWindows(query: WindowQuery): Promise<{ rows: WindowRowOut[]; pageState: string | null }>;
  merchantStats(merchantId: string): Promise<MerchantStatsOut | null>;
  /** Null while no graph rebuild has run. */
  userGraph(userId: string): Promise<UserGraphOut | null>;
}
