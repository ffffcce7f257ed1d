/**
 * One kill of the recovery benchmark, measured from the state store: the victim's partitions are
 * "processing again" when their stored position advances under a new fencing epoch, i.e. another
 * worker claimed them and committed input past where the victim stopped. Positions are sampled
 * every 20 ms, so each time is late by at most one sample.
 *
 * Scenarios: `failover` kills a worker and leaves the survivor to take over (a node lost): the
 * group notices the dead member only when its session times out, which is most of the time.
 * `restart` starts a replacement right after the kill under the same instance id (a container
 * restarted in its pod), which removes its predecessor from the group at once
 * (adapters/kafka/group-evict.ts); without instance ids it too waits for the session.
 * `graceful` stops the worker with SIGTERM instead (a rolling update): it drains, commits and
 * leaves the group, so the survivor is told at once.
 */
import { PARTITIONS, type Positions, type RecoveryWorker, type RecoveryWorld } from './recovery-world.ts';

export type Scenario = 'failover' | 'restart' | 'graceful';

export interface RoundResult {
  readonly round: number;
  readonly scenario: Scenario;
  readonly victim: string;
  /** The partitions the victim owned when it was killed. */
  readonly partitions: readonly number[];
  /** Per partition of the victim (same order): kill → first commit by its new owner. */
  readonly recoveryMs: readonly number[];
  /** Per partition of the victim: kill → its new owner's claim visible (epoch raised). */
  readonly claimMs: readonly number[];
  readonly maxRecoveryMs: number;
  /** Kill → the first group assignment a live worker logged after it (the dead member noticed). */
  readonly detectMs: number | null;
  /** Longest time without a commit on a partition the victim did not own, kill → recovery. */
  readonly othersMaxStallMs: number;
  /** `failover` and `graceful`: a replacement then joined; longest commit gap of any partition until steady. */
  readonly joinMaxStallMs: number | null;
  /** The victim's group member id (its last assignment) and the members its replacement removed on start. */
  readonly victimMemberId: string | null;
  readonly removedMembers: readonly string[];
}

const SAMPLE_MS = 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the group is settled: no epoch changed for `quietMs`, every partition committed in
 * the last second, and every partition's current epoch is a claim of one of `workers`. Returns
 * the longest commit gap of any partition seen while waiting.
 */
export async function waitSteady(world: RecoveryWorld, workers: readonly RecoveryWorker[], timeoutMs: number, quietMs = 3_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = await world.positions();
  let epochChangedAt = last.at;
  const advancedAt = last.next.map(() => last.at);
  let maxGap = 0;
  while (Date.now() < deadline) {
    await sleep(SAMPLE_MS);
    const now = await world.positions();
    for (let p = 0; p < PARTITIONS; p += 1) {
      if (now.epoch[p] !== last.epoch[p]) epochChangedAt = now.at;
      if (now.next[p]! > last.next[p]!) {
        maxGap = Math.max(maxGap, now.at - advancedAt[p]!);
        advancedAt[p] = now.at;
      }
    }
    last = now;
    const fresh = advancedAt.every((t) => now.at - t < 1_000);
    if (fresh && now.at - epochChangedAt >= quietMs && ownedByLive(now, workers)) return maxGap;
  }
  throw new Error(`the group did not settle within ${timeoutMs} ms`);
}

function ownedByLive(positions: Positions, workers: readonly RecoveryWorker[]): boolean {
  const claims = workers.map((w) => w.claims());
  return positions.epoch.every((epoch, p) => claims.some((c) => c.get(p) === epoch));
}

export interface RoundInput {
  readonly round: number;
  readonly scenario: Scenario;
  readonly victim: RecoveryWorker;
  readonly survivor: RecoveryWorker;
  readonly timeoutMs: number;
}

/** Stops `victim` (SIGKILL, or SIGTERM when graceful), measures until each of its partitions committed again, and returns the live workers. */
export async function killAndMeasure(world: RecoveryWorld, input: RoundInput): Promise<{ result: RoundResult; live: RecoveryWorker[] }> {
  const before = await world.positions();
  const victimClaims = input.victim.claims();
  const owned = before.epoch.flatMap((epoch, p) => (victimClaims.get(p) === epoch ? [p] : []));
  const killedAt = Date.now();
  await input.victim.child.stop(input.scenario === 'graceful' ? 'SIGTERM' : 'SIGKILL');
  const live = [input.survivor];
  // A container restarted in its pod keeps the pod's name, hence the instance id.
  if (input.scenario === 'restart') live.push(world.startWorker(input.victim.instance));

  const claimAt = new Map<number, number>();
  const recoveredAt = new Map<number, number>();
  const advancedAt = before.next.map(() => killedAt);
  let last = before;
  let othersMaxStall = 0;
  const deadline = killedAt + input.timeoutMs;
  while (recoveredAt.size < owned.length) {
    if (Date.now() > deadline) throw new Error(`partitions ${owned.filter((p) => !recoveredAt.has(p)).join(', ')} not processing ${input.timeoutMs} ms after the kill`);
    await sleep(SAMPLE_MS);
    const now = await world.positions();
    for (let p = 0; p < PARTITIONS; p += 1) {
      const moved = now.epoch[p]! > before.epoch[p]!;
      if (owned.includes(p)) {
        if (moved && !claimAt.has(p)) claimAt.set(p, now.at);
        if (moved && now.next[p]! > before.next[p]! && !recoveredAt.has(p)) recoveredAt.set(p, now.at);
      } else if (now.next[p]! > last.next[p]!) {
        othersMaxStall = Math.max(othersMaxStall, now.at - advancedAt[p]!);
        advancedAt[p] = now.at;
      }
    }
    last = now;
  }
  for (let p = 0; p < PARTITIONS; p += 1) {
    if (!owned.includes(p)) othersMaxStall = Math.max(othersMaxStall, last.at - advancedAt[p]!);
  }

  const assignments = live.flatMap((w) => w.records('assignment')).map((r) => r.at).filter((at) => at >= killedAt);
  let joinMaxStallMs: number | null = null;
  if (input.scenario !== 'restart') {
    live.push(world.startWorker(input.victim.instance === null ? null : undefined));
    joinMaxStallMs = await waitSteady(world, live, input.timeoutMs);
  }
  const recoveryMs = owned.map((p) => recoveredAt.get(p)! - killedAt);
  const victimMemberId = input.victim.records('assignment').map((r) => String(r.fields.memberId)).pop() ?? null;
  const removedMembers = live.slice(1).flatMap((w) => w.records('previous incarnation removed from the group')).flatMap((r) => r.fields.members as string[]);
  return {
    live,
    result: {
      round: input.round, scenario: input.scenario, victim: input.victim.name, partitions: owned, recoveryMs,
      claimMs: owned.map((p) => (claimAt.get(p) ?? Number.NaN) - killedAt),
      maxRecoveryMs: Math.max(...recoveryMs), detectMs: assignments.length > 0 ? Math.min(...assignments) - killedAt : null,
      othersMaxStallMs: othersMaxStall, joinMaxStallMs, victimMemberId, removedMembers,
    },
  };
}
