import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PartitionRef, StateStore, StateWrite } from '../../src/runtime/store.ts';
import { MIN_TIME_MS, stateId, timerId } from '../../src/runtime/store.ts';
import { batch, emit, observe, position, REF, upsert } from './state-store.fixtures.ts';

export interface StoreUnderTest {
  readonly store: StateStore;
  cleanup(): Promise<void>;
}

const A = stateId('merchant', 'm-1');
const B = stateId('merchant', 'm-2');

/**
 * The state store contract: the exact semantics every StateStore implementation must share.
 * `makeStore` is called once per test and must return an empty store.
 */
export function stateStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`StateStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: StateStore;
    beforeEach(async () => {
      sut = await makeStore();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    /** Claims REF and commits one batch with a bit of everything at offsets [10, 20). */
    async function seed(): Promise<number> {
      const { epoch } = await store.claim(REF);
      const result = await store.commit(
        batch(epoch, '10', '20', {
          states: [{ id: A, value: 'v1:1' }],
          dedup: [{ id: 'e1', eventTimeMs: 1_000 }],
          timersAdd: [{ id: timerId('merchant', 'm-1', 'close'), atMs: 5_000 }],
          effects: [emit('x')],
          maxEventTimeMs: 1_000,
          watermarkMs: 500,
        }),
      );
      expect(result).toEqual({ ok: true, outboxSeq: 1 });
      return epoch;
    }
    const SEEDED = {
      nextOffset: '20',
      maxEventTimeMs: 1_000,
      watermarkMs: 500,
      timers: [{ id: timerId('merchant', 'm-1', 'close'), atMs: 5_000 }],
      outbox: [{ seq: 1, effects: [emit('x')] }],
    };

    it('claims a fresh partition at epoch 1 with an empty position, and increments the epoch', async () => {
      expect(await store.claim(REF)).toEqual({
        epoch: 1,
        nextOffset: null,
        maxEventTimeMs: MIN_TIME_MS,
        watermarkMs: MIN_TIME_MS,
        timers: [],
        outbox: [],
      });
      expect((await store.claim(REF)).epoch).toBe(2);
      expect((await store.claim(REF)).epoch).toBe(3);
    });

    it('keeps partitions, topics and groups apart', async () => {
      const refs: PartitionRef[] = [
        { group: 'g', topic: 't', partition: 0 },
        { group: 'g', topic: 't', partition: 1 },
        { group: 'g', topic: 'u', partition: 0 },
        { group: 'h', topic: 't', partition: 0 },
        { group: 'a|b', topic: 'c', partition: 0 },
        { group: 'a', topic: 'b|c', partition: 0 },
        { group: 'x{y}', topic: 't}', partition: 0 },
      ];
      for (const [i, ref] of refs.entries()) {
        const { epoch } = await store.claim(ref);
        expect(epoch).toBe(1);
        const write = { id: A, value: `v1:${i}` };
        expect(await store.commit(batch(epoch, '0', String(i + 1), { states: [write] }, ref))).toMatchObject({
          ok: true,
        });
      }
      for (const [i, ref] of refs.entries()) {
        expect(await store.loadStates(ref, [A])).toEqual([`v1:${i}`]);
        expect((await store.claim(ref)).nextOffset).toBe(String(i + 1));
      }
    });

    it('reads any partitions\' committed positions without claiming them (alignment)', async () => {
      await seed();
      const other = { ...REF, partition: REF.partition + 1 };
      await store.claim(other); // claimed, never committed: still no position
      const epochBefore = (await store.claim(REF)).epoch;
      expect(await store.positions([REF, other, { ...REF, topic: 'never.seen' }])).toEqual([
        { nextOffset: '20', maxEventTimeMs: 1_000 },
        null,
        null,
      ]);
      expect(await store.positions([])).toEqual([]);
      // Reading is not claiming: the owner's epoch is untouched.
      expect((await store.claim(REF)).epoch).toBe(epochBefore + 1);
    });

    it('round-trips states, dedup marks, timers, outbox and position', async () => {
      await seed();
      expect(await observe(store, [A, B], ['e1', 'e2'])).toEqual({
        states: ['v1:1', null],
        seen: [true, false],
      });
      expect(await position(store)).toEqual(SEEDED);
    });

    it('accepts any fromOffset for a partition that was never committed', async () => {
      const { epoch } = await store.claim(REF);
      expect(await store.commit(batch(epoch, '42', '50'))).toEqual({ ok: true, outboxSeq: null });
      expect((await store.claim(REF)).nextOffset).toBe('50');
    });

    it('refuses a stale epoch with fenced and changes nothing', async () => {
      const stale = await seed();
      const { epoch: current } = await store.claim(REF);
      expect(current).toBe(stale + 1);
      const zombie = batch(stale, '20', '30', {
        states: [
          { id: A, value: 'v1:zombie' },
          { id: B, value: 'v1:zombie' },
        ],
        dedup: [{ id: 'e2', eventTimeMs: 2_000 }],
        dedupPruneBelowMs: 10_000,
        timersAdd: [{ id: 'zombie-timer', atMs: 1 }],
        timersRemove: [timerId('merchant', 'm-1', 'close')],
        effects: [emit('zombie')],
        maxEventTimeMs: 9_999,
        watermarkMs: 9_999,
      });
      expect(await store.commit(zombie)).toEqual({ ok: false, reason: 'fenced', storedOffset: '20' });
      // A future epoch is no better than a past one.
      expect(await store.commit({ ...zombie, epoch: current + 1 })).toMatchObject({
        ok: false,
        reason: 'fenced',
      });
      // Fencing wins over a wrong offset.
      expect(await store.commit({ ...zombie, fromOffset: '7' })).toMatchObject({
        ok: false,
        reason: 'fenced',
      });
      expect(await observe(store, [A, B], ['e1', 'e2'])).toEqual({
        states: ['v1:1', null],
        seen: [true, false],
      });
      expect(await position(store)).toEqual(SEEDED);
      // The outbox counter did not move either: the owner's next entry is seq 2.
      const { epoch } = await store.claim(REF);
      expect(await store.commit(batch(epoch, '20', '30', { effects: [emit('y')] }))).toEqual({
        ok: true,
        outboxSeq: 2,
      });
    });

    it('refuses a fromOffset other than the stored next offset and changes nothing', async () => {
      await seed();
      const { epoch } = await store.claim(REF);
      for (const fromOffset of ['19', '21', '0', '200']) {
        const wrong = batch(epoch, fromOffset, '300', {
          states: [{ id: A, value: 'v1:wrong' }],
          dedup: [{ id: 'e2', eventTimeMs: 2_000 }],
          dedupPruneBelowMs: 10_000,
          timersRemove: [timerId('merchant', 'm-1', 'close')],
          effects: [emit('wrong')],
          maxEventTimeMs: 9_999,
          watermarkMs: 9_999,
        });
        expect(await store.commit(wrong)).toEqual({
          ok: false,
          reason: 'offset_mismatch',
          storedOffset: '20',
        });
      }
      expect(await observe(store, [A], ['e1', 'e2'])).toEqual({ states: ['v1:1'], seen: [true, false] });
      expect(await position(store)).toEqual(SEEDED);
    });

    it('throws for a batch whose next offset is below its from offset and changes nothing', async () => {
      await seed();
      const { epoch } = await store.claim(REF);
      const backwards = batch(epoch, '20', '15', {
        states: [{ id: A, value: 'v1:backwards' }],
        dedup: [{ id: 'e2', eventTimeMs: 2_000 }],
        effects: [emit('backwards')],
      });
      await expect(store.commit(backwards)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(await observe(store, [A], ['e1', 'e2'])).toEqual({ states: ['v1:1'], seen: [true, false] });
      expect(await position(store)).toEqual(SEEDED);
      // An empty step (an idle advance) commits at the same position.
      const { epoch: again } = await store.claim(REF);
      expect(await store.commit(batch(again, '20', '20'))).toMatchObject({ ok: true });
    });

    it('refuses a replay of a committed batch (offset_mismatch) without applying it twice', async () => {
      const { epoch } = await store.claim(REF);
      const once = batch(epoch, '0', '100', {
        states: [{ id: A, value: 'v1:1' }],
        dedup: [{ id: 'e1', eventTimeMs: 1 }],
        effects: [emit('once')],
      });
      expect(await store.commit(once)).toEqual({ ok: true, outboxSeq: 1 });
      expect(await store.commit(once)).toEqual({ ok: false, reason: 'offset_mismatch', storedOffset: '100' });
      const after = await store.claim(REF);
      expect(after.nextOffset).toBe('100');
      expect(after.outbox).toEqual([{ seq: 1, effects: [emit('once')] }]);
    });

    it('deletes a state written as null, applying writes of one batch in order', async () => {
      const { epoch } = await store.claim(REF);
      const C = stateId('user', 'u-1');
      await store.commit(
        batch(epoch, '0', '1', {
          states: [
            { id: A, value: 'v1:a' },
            { id: B, value: 'v1:b' },
          ],
        }),
      );
      const writes: StateWrite[] = [
        { id: A, value: null },
        { id: B, value: null },
        { id: B, value: 'v1:b2' },
        { id: C, value: 'v1:c' },
        { id: C, value: null },
      ];
      expect(await store.commit(batch(epoch, '1', '2', { states: writes }))).toMatchObject({ ok: true });
      expect(await store.loadStates(REF, [A, B, C])).toEqual([null, 'v1:b2', null]);
      // Deleting an absent state is fine.
      expect(await store.commit(batch(epoch, '2', '3', { states: [{ id: A, value: null }] }))).toMatchObject({
        ok: true,
      });
    });

    it('keeps the last of repeated writes of one id in a batch without deletes', async () => {
      const { epoch } = await store.claim(REF);
      const writes = [
        { id: A, value: 'v1:a1' },
        { id: B, value: 'v1:b1' },
        { id: A, value: 'v1:a2' },
      ];
      expect(await store.commit(batch(epoch, '0', '1', { states: writes }))).toMatchObject({ ok: true });
      expect(await store.loadStates(REF, [A, B])).toEqual(['v1:a2', 'v1:b1']);
    });

    it('prunes dedup marks with event time strictly below the threshold, new marks included', async () => {
      const { epoch } = await store.claim(REF);
      const marks = [100, 200, 250, 300].map((t) => ({ id: `e${t}`, eventTimeMs: t }));
      await store.commit(batch(epoch, '0', '1', { dedup: marks }));
      expect(await store.seen(REF, ['e100', 'e200', 'e250', 'e300'])).toEqual([true, true, true, true]);
      const late = { id: 'late', eventTimeMs: 240 };
      const fresh = { id: 'fresh', eventTimeMs: 400 };
      await store.commit(batch(epoch, '1', '2', { dedup: [late, fresh], dedupPruneBelowMs: 250 }));
      expect(await store.seen(REF, ['e100', 'e200', 'e250', 'e300', 'late', 'fresh'])).toEqual([
        false,
        false,
        true,
        true,
        false,
        true,
      ]);
      expect(await store.seen(REF, [])).toEqual([]);
    });

    it('adds, moves and removes timers; a remove and an add of one id in a batch keeps it', async () => {
      const { epoch } = await store.claim(REF);
      const [t1, t2, t3] = ['t1', 't2', 't3'].map((tag) => timerId('merchant', 'm-1', tag)) as [
        string,
        string,
        string,
      ];
      await store.commit(
        batch(epoch, '0', '1', {
          timersAdd: [
            { id: t1, atMs: 10 },
            { id: t2, atMs: 20 },
          ],
        }),
      );
      await store.commit(
        batch(epoch, '1', '2', {
          timersRemove: [t1, t2, 'never-added'],
          timersAdd: [
            { id: t2, atMs: 25 },
            { id: t3, atMs: 30 },
          ],
        }),
      );
      expect((await position(store)).timers).toEqual([
        { id: t2, atMs: 25 },
        { id: t3, atMs: 30 },
      ]);
    });

    it('numbers the outbox per commit with effects and drops acknowledged entries', async () => {
      const { epoch } = await store.claim(REF);
      const commit = (from: number, effects: ReturnType<typeof emit>[]) =>
        store.commit(batch(epoch, String(from), String(from + 1), { effects }));
      expect(await commit(0, [emit('a'), upsert({ id: 1, score: 0.5 })])).toEqual({ ok: true, outboxSeq: 1 });
      expect(await commit(1, [])).toEqual({ ok: true, outboxSeq: null });
      expect(await commit(2, [emit('b')])).toEqual({ ok: true, outboxSeq: 2 });
      expect(await commit(3, [emit('c')])).toEqual({ ok: true, outboxSeq: 3 });
      expect(await store.ackOutbox(REF, epoch, 0)).toBe(true);
      expect(await store.ackOutbox(REF, epoch, 1)).toBe(true);
      expect(await store.ackOutbox(REF, epoch, 1)).toBe(true); // again: drops nothing more
      const next = await store.claim(REF);
      expect(next.outbox).toEqual([
        { seq: 2, effects: [emit('b')] },
        { seq: 3, effects: [emit('c')] },
      ]);
      expect(await store.ackOutbox(REF, epoch, 3)).toBe(false);
      expect((await store.claim(REF)).outbox.map((e) => e.seq)).toEqual([2, 3]);
      const { epoch: owner } = await store.claim(REF);
      expect(await store.ackOutbox(REF, owner, 2)).toBe(true);
      expect((await store.claim(REF)).outbox.map((e) => e.seq)).toEqual([3]);
      const { epoch: owner2 } = await store.claim(REF);
      expect(await store.ackOutbox(REF, owner2, 99)).toBe(true);
      expect((await store.claim(REF)).outbox).toEqual([]);
      const { epoch: last } = await store.claim(REF);
      expect(await store.commit(batch(last, '4', '5', { effects: [emit('d')] }))).toEqual({
        ok: true,
        outboxSeq: 4,
      });
    });

    it('never moves max event time or watermark backwards', async () => {
      const { epoch } = await store.claim(REF);
      await store.commit(batch(epoch, '0', '1', { maxEventTimeMs: 1_000, watermarkMs: 900 }));
      await store.commit(batch(epoch, '1', '2', { maxEventTimeMs: 500, watermarkMs: 400 }));
      expect(await store.claim(REF)).toMatchObject({
        nextOffset: '2',
        maxEventTimeMs: 1_000,
        watermarkMs: 900,
      });
      const { epoch: e2 } = await store.claim(REF);
      await store.commit(batch(e2, '2', '3', { maxEventTimeMs: 2_000, watermarkMs: 800 }));
      expect(await store.claim(REF)).toMatchObject({ maxEventTimeMs: 2_000, watermarkMs: 900 });
    });

    it('commits large batches (10,000 writes, marks, timers and effects)', async () => {
      const n = 10_000;
      const ids = Array.from({ length: n }, (_, i) => stateId('merchant', `m-${i}`));
      const { epoch } = await store.claim(REF);
      const big = batch(epoch, '0', String(n), {
        states: ids.map((id, i) => ({ id, value: `v1:{"count":${i}}` })),
        dedup: ids.map((_, i) => ({ id: `evt-${i}`, eventTimeMs: 1_000 + i })),
        timersAdd: ids.map((_, i) => ({ id: timerId('merchant', `m-${i}`, 'w'), atMs: 60_000 + i })),
        effects: ids.map((_, i) => emit(`score-${i}`, `m-${i}`)),
        maxEventTimeMs: 1_000 + n,
        watermarkMs: n,
      });
      expect(await store.commit(big)).toEqual({ ok: true, outboxSeq: 1 });
      const states = await store.loadStates(REF, ids);
      expect(states.every((value, i) => value === `v1:{"count":${i}}`)).toBe(true);
      const seen = await store.seen(REF, [...ids.map((_, i) => `evt-${i}`), 'evt-absent']);
      expect(seen.filter(Boolean)).toHaveLength(n);
      expect(seen.at(-1)).toBe(false);
      const claim = await store.claim(REF);
      expect(claim.timers).toHaveLength(n);
      expect(claim.outbox[0]?.effects).toEqual(big.effects);
      const deletes = ids.map((id, i) => ({ id, value: i % 2 === 0 ? null : 'v2:odd' }));
      await store.commit(batch(claim.epoch, String(n), String(n + 1), { states: deletes }));
      const after = await store.loadStates(REF, ids);
      expect(after.every((value, i) => value === (i % 2 === 0 ? null : 'v2:odd'))).toBe(true);
    });

    it('round-trips values and ids with unicode, NUL, quotes and escapes exactly', async () => {
      const values = [
        '',
        'v1:{"name":"\\"quoted\\"","single":\'x\'}',
        'v1:\u0000nul\u0000inside\u0000',
        'v1:emoji 🎉 ü ß 中文 \u2028\u2029',
        'v1:back\\slash\nnewline\r\ttab % * ? [ ] { } |',
        `v1:${'x'.repeat(200_000)}`,
      ];
      const ids = values.map((_, i) => stateId('actor\u0000type', `key ✓ "${i}" \u0000 {x}`));
      const { epoch } = await store.claim(REF);
      const tid = timerId('merchant', 'ключ\u0000"', 'tag{}');
      const effects = [
        emit('é\u0000"\\'),
        upsert({ 'col"1': 'ü\u0000', nested: { list: [1, 'two', null] } }),
      ];
      const states = ids.map((id, i) => ({ id, value: values[i] ?? null }));
      await store.commit(batch(epoch, '0', '1', { states, dedup: [{ id: 'évt\u0000"1"', eventTimeMs: 1 }] }));
      await store.commit(batch(epoch, '1', '2', { timersAdd: [{ id: tid, atMs: 7 }], effects }));
      expect(await store.loadStates(REF, ids)).toEqual(values);
      expect(await store.seen(REF, ['évt\u0000"1"', 'évt\u0000"2"'])).toEqual([true, false]);
      const claim = await store.claim(REF);
      expect(claim.timers).toEqual([{ id: tid, atMs: 7 }]);
      expect(claim.outbox).toEqual([{ seq: 1, effects }]);
    });

    it('answers empty reads with empty arrays', async () => {
      expect(await store.loadStates(REF, [])).toEqual([]);
      expect(await store.seen(REF, [])).toEqual([]);
      expect(await store.loadStates(REF, [A])).toEqual([null]);
    });
  });
}
