import cassandra from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import {
  assertSameSchema, assertSupported, type ColumnSpec, fromJsonValue, restoreWrites, toJsonValue,
} from '../../../../src/adapters/cassandra/backup-values.ts';

const col = (name: string, type: string, kind: ColumnSpec['kind'] = 'regular'): ColumnSpec => ({ name, kind, type });

describe('Cassandra backup values', () => {
  it.each([
    ['bigint', cassandra.types.Long.fromString('9007199254740993'), '9007199254740993'],
    ['timestamp', new Date(1_767_225_600_123), 1_767_225_600_123],
    ['blob', Buffer.from([0, 1, 254, 255]), 'AAH+/w=='],
    ['double', 0.1, 0.1],
    ['double', Number.NaN, 'NaN'],
    ['double', Number.NEGATIVE_INFINITY, '-Infinity'],
    ['text', 'é"\n', 'é"\n'],
    ['boolean', false, false],
    ['frozen<list<text>>', ['a', 'b'], ['a', 'b']],
    ['frozen<map<text, double>>', { a: 1.5 }, { a: 1.5 }],
  ])('%s survives JSON exactly', (type, value, json) => {
    const encoded = toJsonValue(type, value);
    expect(encoded).toEqual(json);
    const decoded = fromJsonValue(type, JSON.parse(JSON.stringify(encoded)));
    if (type === 'bigint') expect(String(decoded)).toBe('9007199254740993');
    else if (type === 'double' && Number.isNaN(value)) expect(decoded).toBeNaN();
    else expect(decoded).toEqual(value);
  });

  it('keeps uuids', () => {
    const uuid = cassandra.types.Uuid.random();
    expect(String(fromJsonValue('uuid', toJsonValue('uuid', uuid)))).toBe(uuid.toString());
  });

  it('refuses types it cannot carry, naming the column', () => {
    for (const type of ['text', 'bigint', 'frozen<list<text>>', 'frozen<map<text, double>>', 'blob']) expect(() => assertSupported('t', col('c', type))).not.toThrow();
    for (const type of ['list<text>', 'map<text, double>', 'frozen<list<bigint>>', 'frozen<my_udt>', 'duration']) {
      expect(() => assertSupported('t', col('c', type))).toThrow(expect.objectContaining({ code: 'BACKUP_UNSUPPORTED_TYPE', message: expect.stringContaining(`t.c has type ${type}`) }));
    }
  });
});

describe('restore writes', () => {
  const keys = [col('id', 'text', 'partition_key'), col('ts', 'bigint', 'clustering')];
  const cells = new Map([col('a', 'text'), col('b', 'bigint'), col('c', 'double')].map((c) => [c.name, c]));

  it('writes each (write time, TTL) group once, at the original write time', () => {
    const writes = restoreWrites(keys, cells, { k: ['u1', '5'], c: { a: ['x', '100', null], b: ['7', '100', null], c: [0.5, '200', 60] } }, 0, '999');
    expect(writes.map((w) => ({ ...w, values: w.values.map(String) }))).toEqual([
      { columns: ['id', 'ts', 'a', 'b'], values: ['u1', '5', 'x', '7'], timestampMicros: '100', ttlSeconds: 0 },
      { columns: ['id', 'ts', 'c'], values: ['u1', '5', '0.5'], timestampMicros: '200', ttlSeconds: 60 },
    ]);
  });

  it('counts TTLs down from the backup and leaves expired cells out', () => {
    const row = { k: ['u1', '5'], c: { a: ['x', '100', 60], c: [0.5, '100', 10] } } as const;
    const writes = restoreWrites(keys, cells, row, 30_500, '999');
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ columns: ['id', 'ts', 'a'], ttlSeconds: 30 });
  });

  it('writes a row without cells as its key at the fallback time', () => {
    expect(restoreWrites(keys, cells, { k: ['u1', '5'], c: {} }, 0, '999')).toMatchObject([{ columns: ['id', 'ts'], timestampMicros: '999', ttlSeconds: 0 }]);
  });

  it('refuses a cell of an unknown column', () => {
    expect(() => restoreWrites(keys, cells, { k: ['u1', '5'], c: { zz: ['x', '1', null] } }, 0, '1')).toThrow(expect.objectContaining({ code: 'BACKUP_CORRUPT' }));
  });

  it('refuses another schema version', () => {
    const v2 = { version: 2, migrations: [{ version: 1, name: 'init', checksum: 'a' }, { version: 2, name: 'x', checksum: 'b' }] };
    expect(() => assertSameSchema(v2, v2, 'ks')).not.toThrow();
    expect(() => assertSameSchema(v2, { version: 1, migrations: v2.migrations.slice(0, 1) }, 'ks')).toThrow(expect.objectContaining({ code: 'RESTORE_SCHEMA_MISMATCH' }));
    const changed = { version: 2, migrations: [v2.migrations[0]!, { ...v2.migrations[1]!, checksum: 'c' }] };
    expect(() => assertSameSchema(v2, changed, 'ks')).toThrow(expect.objectContaining({ code: 'RESTORE_SCHEMA_MISMATCH' }));
  });
});
