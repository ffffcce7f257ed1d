import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadMigrations,
  parseMigration,
  splitStatements,
} from '../../../../src/provision/cassandra/migrations.ts';

describe('splitStatements', () => {
  it('splits on semicolons and drops comments', () => {
    const cql = `-- header; with a semicolon
CREATE TABLE a (k text PRIMARY KEY); // trailing; comment
/* block; comment */ CREATE TABLE b (k text PRIMARY KEY)
;
   `;
    expect(splitStatements(cql)).toEqual([
      'CREATE TABLE a (k text PRIMARY KEY)',
      'CREATE TABLE b (k text PRIMARY KEY)',
    ]);
  });

  it('keeps semicolons and comment markers inside literals and quoted names', () => {
    const cql = `INSERT INTO t (k, v) VALUES ('a;b -- c', 'it''s; fine'); SELECT "odd;name" FROM t; CREATE FUNCTION f() RETURNS text LANGUAGE java AS $$ return "x;y"; $$;`;
    expect(splitStatements(cql)).toEqual([
      `INSERT INTO t (k, v) VALUES ('a;b -- c', 'it''s; fine')`,
      'SELECT "odd;name" FROM t',
      'CREATE FUNCTION f() RETURNS text LANGUAGE java AS $$ return "x;y"; $$',
    ]);
  });

  it('rejects an unterminated literal', () => {
    expect(() => splitStatements("SELECT 'oops FROM t;")).toThrow(/unterminated/);
  });
});

describe('parseMigration', () => {
  it('takes version and name from the file name and checksums the text', () => {
    const m = parseMigration('007_add_index.cql', 'CREATE INDEX IF NOT EXISTS i ON t (v);');
    expect([m.version, m.name, m.statements]).toEqual([
      7,
      'add_index',
      ['CREATE INDEX IF NOT EXISTS i ON t (v)'],
    ]);
    expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores line endings in the checksum but not content', () => {
    const unix = parseMigration('001_x.cql', 'SELECT 1 FROM t;\n');
    expect(parseMigration('001_x.cql', 'SELECT 1 FROM t;\r\n').checksum).toBe(unix.checksum);
    expect(parseMigration('001_x.cql', 'SELECT 2 FROM t;\n').checksum).not.toBe(unix.checksum);
  });

  it('rejects badly named or empty files', () => {
    expect(() => parseMigration('init.cql', 'SELECT 1 FROM t;')).toThrow(/NNN_lower_snake/);
    expect(() => parseMigration('001_empty.cql', '-- nothing\n')).toThrow(/no statement/);
  });
});

describe('loadMigrations', () => {
  it('loads the shipped migrations in order, starting with 001_init and its four tables', () => {
    const migrations = loadMigrations();
    expect(migrations[0]?.name).toBe('init');
    expect(migrations.map((m) => m.version)).toEqual(
      [...migrations.map((m) => m.version)].sort((a, b) => a - b),
    );
    const tables = migrations[0]!.statements.map((s) => /CREATE TABLE IF NOT EXISTS (\w+)/.exec(s)?.[1]);
    expect(tables).toEqual([
      'merchant_windows',
      'risk_scores_by_user',
      'risk_scores_by_event',
      'merchant_stats',
    ]);
  });

  it('sorts by number, not by name, and refuses duplicate versions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
    writeFileSync(join(dir, '010_ten.cql'), 'SELECT 10 FROM t;');
    writeFileSync(join(dir, '002_two.cql'), 'SELECT 2 FROM t;');
    writeFileSync(join(dir, 'README.md'), 'not a migration');
    expect(loadMigrations(dir).map((m) => m.version)).toEqual([2, 10]);
    writeFileSync(join(dir, '0002_again.cql'), 'SELECT 2 FROM t;');
    expect(() => loadMigrations(dir)).toThrow(/two migrations have version 2/);
  });
});
