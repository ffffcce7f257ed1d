import { describe, expect, it } from 'vitest';
import {
  checkOffsets, type OffsetRange, type PartitionMeta, parseMetaKey, parsePartitionKey, parseRedisManifest, restoredEpoch,
  uncoveredPartitions,
} from '../../../../src/adapters/redis/backup-manifest.ts';
import { partitionKeys } from '../../../../src/adapters/redis/keys.ts';

const SHA = 'a'.repeat(64);

function manifest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format: 'riskstream-redis-backup', formatVersion: 1, createdAtMs: 1_700_000_000_000, createdAt: '2023-11-14T22:13:20.000Z',
    source: { host: '127.0.0.1', port: 6379, db: 0, redisVersion: '7.0.15' }, keyPrefix: 'rs',
    rdb: { file: 'redis.rdb', bytes: 317, sha256: SHA }, keys: 3,
    partitions: [{ group: 'g', topic: 't', partition: 0, nextOffset: '10', epoch: 3 }],
    ...overrides,
  };
}

const meta = (partition: number, nextOffset: string | null, epoch = 1, topic = 't', group = 'g'): PartitionMeta => ({ group, topic, partition, nextOffset, epoch });
const ranges = (topic: string, ...r: [number, number][]) => new Map([[topic, new Map<number, OffsetRange>(r.map(([low, high], p) => [p, { low: String(low), high: String(high) }]))]]);

describe('Redis backup manifest', () => {
  it('accepts a well-formed manifest', () => {
    expect(parseRedisManifest(JSON.stringify(manifest())).partitions[0]).toEqual(meta(0, '10', 3));
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['another format', JSON.stringify(manifest({ format: 'x' })), /format/],
    ['a newer format version', JSON.stringify(manifest({ formatVersion: 2 })), /formatVersion/],
    ['a prefix with braces', JSON.stringify(manifest({ keyPrefix: 'a{b}' })), /keyPrefix: a key prefix may not contain braces/],
    ['a bad offset', JSON.stringify(manifest({ partitions: [meta(0, '-1')] })), /partitions\.0\.nextOffset/],
    ['a short checksum', JSON.stringify(manifest({ rdb: { file: 'redis.rdb', bytes: 1, sha256: 'abc' } })), /rdb\.sha256/],
    ['an unknown field', JSON.stringify(manifest({ extra: 1 })), /extra/],
    ['a partition twice', JSON.stringify(manifest({ partitions: [meta(0, '1'), meta(0, '2')] })), /partition g\|t\|0 twice/],
  ])('refuses %s with BACKUP_MANIFEST_INVALID', (_, text, message) => {
    let caught: unknown;
    try {
      parseRedisManifest(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'BACKUP_MANIFEST_INVALID', retriable: false });
    expect((caught as Error).message).toMatch(message);
  });
});

describe('partition keys of a snapshot', () => {
  it.each([
    ['rs', { group: 'workers', topic: 'payments.events', partition: 7 }],
    ['', { group: 'g', topic: 't', partition: 0 }],
    ['fault:x_1', { group: 'a|b%c', topic: 'x{y}z', partition: 11 }],
  ])('inverts keys.ts for prefix "%s"', (prefix, ref) => {
    const keys = partitionKeys(prefix, ref);
    for (const [kind, key] of Object.entries(keys)) expect(parsePartitionKey(prefix, key)).toEqual({ ref, kind });
    expect(parseMetaKey(prefix, keys.meta)).toEqual(ref);
    expect(parseMetaKey(prefix, keys.state)).toBeUndefined();
  });

  it.each(['rs:live:u1', 'rs:{g|t|x}:meta', 'rs:{g|t}:meta', 'rs:{g|t|1}:other', 'other:{g|t|1}:meta', 'rs:models:{a|b|1}:meta'])('ignores %s', (key) => {
    expect(parsePartitionKey('rs', key)).toBeUndefined();
  });
});

describe('restore rules', () => {
  it('never lowers an epoch: above both the live and the backup epoch', () => {
    expect(restoredEpoch(0, 0)).toBe(1);
    expect(restoredEpoch(5, 3)).toBe(6);
    expect(restoredEpoch(3, 5)).toBe(6);
    expect(restoredEpoch(4, 4)).toBe(5);
  });

  it('accepts positions Kafka still holds and commits them as the group offsets', () => {
    const check = checkOffsets([meta(0, '10'), meta(1, '0'), meta(2, '50')], ranges('t', [5, 20], [0, 0], [0, 50]));
    expect(check.problems).toEqual([]);
    expect(check.groupOffsets).toEqual([{ group: 'g', topic: 't', partitions: [{ partition: 0, offset: '10' }, { partition: 1, offset: '0' }, { partition: 2, offset: '50' }] }]);
  });

  it('starts a partition without a backed-up position from its first offset, which must be 0', () => {
    const ok = checkOffsets([meta(0, '10')], ranges('t', [0, 20], [0, 7]));
    expect(ok.problems).toEqual([]);
    expect(ok.groupOffsets[0]!.partitions).toEqual([{ partition: 0, offset: '10' }, { partition: 1, offset: '0' }]);
    const gone = checkOffsets([meta(0, '10'), meta(1, null)], ranges('t', [0, 20], [3, 7]));
    expect(gone.problems).toEqual(['topic t partition 1 (group g): the backup has no position (nothing processed) but Kafka\'s earliest offset is 3: records 0..2 are gone']);
  });

  it('refuses positions below the earliest or beyond the end offset, naming topic, partition and offsets', () => {
    const check = checkOffsets([meta(0, '10'), meta(1, '30')], ranges('t', [11, 40], [0, 20]));
    expect(check.problems).toEqual([
      'topic t partition 0 (group g): restored next_offset 10 is below Kafka\'s earliest offset 11: records 10..10 are gone',
      'topic t partition 1 (group g): restored next_offset 30 is beyond Kafka\'s end offset 20 (was the topic re-created?)',
    ]);
  });

  it('refuses missing topics and partitions', () => {
    expect(checkOffsets([meta(0, '1', 1, 'gone')], ranges('t', [0, 1])).problems).toEqual(['topic gone (group g) does not exist in Kafka']);
    expect(checkOffsets([meta(3, '1')], ranges('t', [0, 1])).problems).toEqual(['topic t has no partition 3 (group g), which the backup has']);
  });

  it('lists target partitions of streams the backup does not cover', () => {
    const backup = [meta(0, '1'), meta(1, '1')];
    expect(uncoveredPartitions(backup, [meta(0, '5'), meta(2, '5'), meta(0, '5', 1, 't2'), meta(0, '5', 1, 't', 'g2')])).toEqual(['g2|t|0', 'g|t2|0']);
  });
});
