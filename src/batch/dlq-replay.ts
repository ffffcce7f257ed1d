/**
 * Batch job: replay dead letters into the topics they came from, once the cause is fixed (a
 * producer's bad data corrected upstream, a contract relaxed, a handler bug fixed).
 *
 * - Reads each DLQ topic from its replay cursor (where the last replay stopped) to its end
 *   offsets at the start, in order; a dead letter repeated by an outbox re-drain (same DLQ key:
 *   source topic, partition, offset) is replayed once.
 * - `dlq.invalid` letters are checked again with the current contract first: one that still fails
 *   stays where it is, counted by reason; `dlq.processing` letters go back as they are.
 * - The original key and value bytes go back to the source topic, with a header naming the dead
 *   letter, and only to the topics given (the payment event topics): a letter cannot route a
 *   record anywhere else.
 * - Late events (`dlq.late`) are never replayed: they would be late again. They stay in the lake.
 * - The cursor moves after the broker acknowledged the records. A crash in between replays those
 *   letters again on the next run; the actors drop the repeats by event id, so nothing is counted
 *   twice.
 */
import { ErrorCodes, RiskstreamError } from '../runtime/errors.ts';
import type { DeadLetter } from '../runtime/dead-letter.ts';
import type { JobContext, ReportStore } from './ports.ts';

export interface DeadLetterRecord {
  readonly partition: number;
  readonly offset: string;
  /** The DLQ record's key (`<topic>:<partition>:<offset>` of the source record). */
  readonly key: string | null;
  /** Null when the DLQ record itself is not a dead letter (not JSON, other format). */
  readonly letter: DeadLetter | null;
}

export interface ReplayRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

export interface DlqReplayPorts {
  readonly dlq: {
    /** Records of `topic` from `from` (per partition; missing: the first kept offset) to the end offsets at the call. */
    read(topic: string, from: ReadonlyMap<number, string>): Promise<{ records: DeadLetterRecord[]; next: Map<number, string> }>;
  };
  readonly republish: { send(records: readonly ReplayRecord[]): Promise<void> };
  readonly cursors: {
    get(topic: string): Promise<Map<number, string>>;
    set(topic: string, next: ReadonlyMap<number, string>): Promise<void>;
  };
  readonly reports: ReportStore;
}

export interface DlqReplayInput {
  /** Full names of the DLQ topics to replay, each with its kind. */
  readonly topics: readonly { readonly name: string; readonly kind: 'invalid' | 'processing' | 'late' }[];
  /** Full names of the topics a letter may go back to. */
  readonly targets: ReadonlySet<string>;
  /** Null when the value passes the current contract, else the reason it does not. */
  readonly validate: (value: Buffer) => string | null;
}

export interface DlqTopicResult {
  topic: string;
  read: number;
  replayed: number;
  repeats: number;
  stillInvalid: Record<string, number>;
  skipped: Record<string, number>;
  /** Records sent back, per target topic. */
  replayedTo: Record<string, number>;
  from: Record<string, string>;
  to: Record<string, string>;
}

export const REPLAY_HEADER = 'rs-replayed-from';

export async function runDlqReplay(ports: DlqReplayPorts, input: DlqReplayInput, ctx: JobContext): Promise<{ topics: DlqTopicResult[] }> {
  const late = input.topics.find((t) => t.kind === 'late');
  if (late) {
    throw new RiskstreamError(ErrorCodes.configInvalid, `${late.name}: late events are not replayed (they would be late again); they are in the lake`);
  }
  const results: DlqTopicResult[] = [];
  for (const [i, topic] of input.topics.entries()) {
    const from = await ports.cursors.get(topic.name);
    const { records, next } = await ports.dlq.read(topic.name, from);
    const result: DlqTopicResult = {
      topic: topic.name, read: records.length, replayed: 0, repeats: 0, stillInvalid: {}, skipped: {}, replayedTo: {},
      from: Object.fromEntries(from), to: Object.fromEntries(next),
    };
    const bump = (counts: Record<string, number>, reason: string) => {
      counts[reason] = (counts[reason] ?? 0) + 1;
    };
    const seen = new Set<string>();
    const out: ReplayRecord[] = [];
    for (const r of records) {
      const l = r.letter;
      if (l === null) {
        bump(result.skipped, 'not a dead letter');
        continue;
      }
      const id = `${l.source.topic}:${l.source.partition}:${l.source.offset}`;
      if (seen.has(id)) {
        result.repeats += 1;
        continue;
      }
      seen.add(id);
      if (!input.targets.has(l.source.topic)) {
        bump(result.skipped, `source topic ${l.source.topic} is not replayable`);
        continue;
      }
      if (l.value_b64 === null) {
        bump(result.skipped, 'no value');
        continue;
      }
      const value = Buffer.from(l.value_b64, 'base64');
      if (topic.kind === 'invalid') {
        const reason = input.validate(value);
        if (reason !== null) {
          bump(result.stillInvalid, reason);
          continue;
        }
      }
      bump(result.replayedTo, l.source.topic);
      out.push({
        topic: l.source.topic,
        key: l.key_b64 === null ? null : Buffer.from(l.key_b64, 'base64'),
        value,
        headers: { [REPLAY_HEADER]: `${topic.name}:${r.partition}:${r.offset}` },
      });
    }
    await ports.republish.send(out);
    result.replayed = out.length;
    await ports.cursors.set(topic.name, next);
    results.push(result);
    await ctx.progress(Math.round((100 * (i + 1)) / input.topics.length));
  }
  const report = { topics: results };
  await ports.reports.put('dlq-replay', report);
  return report;
}
