import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, keysByPrefix, unlinkByPrefix } from '../../src/adapters/redis/admin.ts';
import { partitionKeys, partitionTag } from '../../src/adapters/redis/keys.ts';
import { RedisStateStore } from '../../src/adapters/redis/state-store.ts';
import { userActor } from '../../src/actors/user/user-actor.ts';
import { DEFAULT_MODEL } from '../../src/analytics/default-model.ts';
import { emptyUserState, resolveUserFeatureConfig } from '../../src/analytics/user-features.ts';
import type { IngestedEvent } from '../../src/contract/event.ts';
import type { OutputEffect } from '../../src/runtime/actor.ts';
import { stateId } from '../../src/runtime/store.ts';
import { stateStoreContract } from './state-store.contract.ts';
import { batch, emit, REF } from './state-store.fixtures.ts';

// The local stack's Redis; override to point the suite elsewhere.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Unique per run, so concurrent runs and leftovers of crashed runs never meet. */
const RUN_PREFIX = `test:store:${process.pid}:${Date.now().toString(36)}`;
let stores = 0;

/** A store over its own client and key prefix; cleanup closes it and unlinks every key. */
function makeRedisStore(): { store: RedisStateStore; keyPrefix: string; cleanup(): Promise<void> } {
  const keyPrefix = `${RUN_PREFIX}:${stores++}`;
  const store = new RedisStateStore({ redis: REDIS_URL, keyPrefix });
  return {
    store,
    keyPrefix,
    cleanup: async () => {
      await store.close();
      const admin = connectRedis(REDIS_URL);
      try {
        await unlinkByPrefix(admin, keyPrefix);
      } finally {
        await admin.quit();
      }
    },
  };
}

stateStoreContract('RedisStateStore', async () => makeRedisStore());

describe('RedisStateStore on a real Redis', () => {
  const admin = connectRedis(REDIS_URL);
  const cleanups: (() => Promise<void>)[] = [];
  const make = () => {
    const made = makeRedisStore();
    cleanups.push(made.cleanup);
    return made;
  };
  beforeAll(async () => {
    expect(await admin.ping()).toBe('PONG');
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    expect(await keysByPrefix(admin, RUN_PREFIX)).toEqual([]);
    await admin.quit();
  });

  it("re-drains the user actor's effects after a crash as they were (the record stored once, emits by reference)", async () => {
    const { store } = make();
    const actor = userActor({ features: resolveUserFeatureConfig() }, { model: () => DEFAULT_MODEL, graph: () => undefined });
    const effects: OutputEffect[] = [];
    let state = emptyUserState();
    for (let n = 0; n < 6; n += 1) {
      const event = {
        event_id: `e"${n}`, ts_ms: 1_767_225_600_000 + n * 1_000, user_id: 'u1', merchant_id: `m${n}`, amount: n === 5 ? 90_000 : 10,
        currency: 'EUR', country: n === 5 ? 'NG' : 'FR', device_id: `d${n}`, status: n > 2 ? 'failed' : 'captured', ingest_received_ms: 1,
      } as IngestedEvent;
      const out = actor.handle(state, event, { key: 'u1', partition: 3, offset: String(n), watermarkMs: 0 });
      state = out.state;
      // The user actor performs these before its commit (beforeCommit), so a worker never stores
      // them; they stay this test's realistic outbox content for the codec's record-once encoding,
      // as an actor without the flag would leave them.
      for (const e of out.effects) if (e.type !== 'timer') effects.push({ ...e, beforeCommit: undefined });
    }
    const { epoch } = await store.claim(REF);
    expect(await store.commit(batch(epoch, '0', '6', { effects }))).toEqual({ ok: true, outboxSeq: 1 });
    // a new owner after a crash gets the entry back from Redis, not the in-memory objects
    const [entry] = (await store.claim(REF)).outbox;
    const withoutJson = effects.map((e) => (e.type === 'upsert' ? { type: e.type, sink: e.sink, row: e.row } : e));
    expect(entry).toEqual({ seq: 1, effects: withoutJson });
    const emits = (list: readonly OutputEffect[]) => list.flatMap((e) => (e.type === 'emit' ? [`${e.topic} ${e.value}`] : []));
    expect(emits(entry!.effects)).toEqual(emits(effects));
    expect(emits(effects).some((v) => v.startsWith('risk.alerts'))).toBe(true);
  });

  it('fences a zombie worker: after B claims, every write of A is refused and B is intact', async () => {
    const a = make();
    const workerA = a.store;
    const workerB = new RedisStateStore({ redis: REDIS_URL, keyPrefix: a.keyPrefix });
    cleanups.push(() => workerB.close());
    const counter = stateId('counter', 'k');

    const claimA = await workerA.claim(REF);
    expect(claimA.epoch).toBe(1);
    expect(
      await workerA.commit(batch(1, '0', '10', { states: [{ id: counter, value: 'v1:10' }] })),
    ).toMatchObject({
      ok: true,
    });
    // The partition moves to B while A is paused (GC pause, network partition).
    const claimB = await workerB.claim(REF);
    expect(claimB).toMatchObject({ epoch: 2, nextOffset: '10' });
    const fromB = batch(2, '10', '20', { states: [{ id: counter, value: 'v1:20' }], effects: [emit('b')] });
    expect(await workerB.commit(fromB)).toEqual({ ok: true, outboxSeq: 1 });

    // A wakes up and keeps going from where it believes it is, then tries to catch up.
    const attempts = [
      batch(1, '10', '20', { states: [{ id: counter, value: 'v1:20-zombie' }], effects: [emit('a')] }),
      batch(1, '20', '30', { states: [{ id: counter, value: 'v1:30-zombie' }] }),
      ...Array.from({ length: 18 }, (_, i) =>
        batch(1, '20', String(21 + i), { states: [{ id: counter, value: 'x' }] }),
      ),
    ];
    const results = await Promise.all(attempts.map((attempt) => workerA.commit(attempt)));
    expect(results.every((r) => !r.ok && r.reason === 'fenced' && r.storedOffset === '20')).toBe(true);
    expect(workerA.fencedCommits).toBe(attempts.length);
    expect(await workerA.ackOutbox(REF, 1, 1)).toBe(false);

    expect(await workerB.loadStates(REF, [counter])).toEqual(['v1:20']);
    expect(await workerB.commit(batch(2, '20', '25', { states: [{ id: counter, value: 'v1:25' }] }))).toEqual(
      {
        ok: true,
        outboxSeq: null,
      },
    );
    expect(await workerB.ackOutbox(REF, 2, 1)).toBe(true);
    expect(workerB.fencedCommits).toBe(0);
    const final = await workerB.claim(REF);
    expect(final).toMatchObject({ epoch: 3, nextOffset: '25', outbox: [] });
    expect(await workerB.loadStates(REF, [counter])).toEqual(['v1:25']);
  });

  it('keeps all keys of a partition under one hash tag, as laid out in keys.ts', async () => {
    const { store, keyPrefix } = make();
    const { epoch } = await store.claim(REF);
    await store.commit(
      batch(epoch, '0', '1', {
        states: [{ id: 'a', value: 'v1:a' }],
        dedup: [{ id: 'e', eventTimeMs: 1 }],
        timersAdd: [{ id: 't', atMs: 2 }],
        effects: [emit('x')],
      }),
    );
    const keys = partitionKeys(keyPrefix, REF);
    const found = await keysByPrefix(admin, keyPrefix);
    expect(found.sort()).toEqual([keys.dedup, keys.meta, keys.outbox, keys.state, keys.timers].sort());
    const tag = partitionTag(REF);
    expect(found.every((key) => key.startsWith(`${keyPrefix}:${tag}:`))).toBe(true);
    expect(await admin.hgetall(keys.meta)).toEqual({
      epoch: '1',
      next_offset: '1',
      max_et: expect.any(String),
      wm: expect.any(String),
      outbox_seq: '1',
    });
  });

  // SCRIPT FLUSH is server-wide, as a Redis restart is; ioredis clients re-send on NOSCRIPT, and
  // the integration suite runs its files one at a time.
  it('reloads its scripts after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const { store } = make();
    const { epoch } = await store.claim(REF);
    expect(await store.commit(batch(epoch, '0', '1'))).toMatchObject({ ok: true });
    await admin.script('FLUSH');
    expect(await store.commit(batch(epoch, '1', '2'))).toMatchObject({ ok: true });
    expect((await store.claim(REF)).nextOffset).toBe('2');
  });

  it('closes the client it created, but not a shared one', async () => {
    const { store } = make();
    await store.close();
    await expect(store.loadStates(REF, ['x'])).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      retriable: true,
    });
    const shared = connectRedis(REDIS_URL);
    const borrowed = new RedisStateStore({ redis: shared, keyPrefix: `${RUN_PREFIX}:shared` });
    await borrowed.close();
    expect(await shared.ping()).toBe('PONG');
    await shared.quit();
  });

  it('rejects malformed batches before touching Redis', async () => {
    const { store } = make();
    const { epoch } = await store.claim(REF);
    for (const bad of [
      batch(epoch, '01', '2'),
      batch(epoch, '1', '-2'),
      batch(epoch, 'x', '2'),
      batch(epoch, '0', '99999999999999999'),
      batch(epoch, '0', '1', { watermarkMs: Number.NaN }),
      batch(epoch, '0', '1', { dedup: [{ id: 'e', eventTimeMs: Number.POSITIVE_INFINITY }] }),
    ]) {
      await expect(store.commit(bad)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', retriable: false });
    }
    expect((await store.claim(REF)).nextOffset).toBeNull();
  });
});
