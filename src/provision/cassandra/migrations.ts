import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, RiskstreamError } from '../../runtime/errors.ts';

/**
 * Cassandra schema migrations: ordered files `NNN_name.cql` in ./migrations, each applied once
 * (src/adapters/cassandra/migrate.ts runs them). Pure: reads files, never talks to Cassandra.
 */
export interface Migration {
  /** The file's number: 1 for `001_init.cql`. Unique, applied in increasing order. */
  readonly version: number;
  /** The file name without number and extension: `init`. */
  readonly name: string;
  /** sha256 (hex) of the file with line endings normalised; an applied file must keep it. */
  readonly checksum: string;
  /** The CQL statements in file order, without comments or the trailing ';'. */
  readonly statements: readonly string[];
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.cql$/;

/** Loads every migration of `dir`, sorted by version. Throws on a stray or duplicate file. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): readonly Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.cql'))
    .map((file) => parseMigration(file, readFileSync(join(dir, file), 'utf8')))
    .sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw invalid(`two migrations have version ${migrations[i]!.version} in ${dir}`);
    }
  }
  return migrations;
}

/** Builds a migration from its file name and text. */
export function parseMigration(file: string, text: string): Migration {
  const match = FILE_NAME.exec(file);
  if (!match) throw invalid(`migration file "${file}" must be named NNN_lower_snake.cql`);
  const normalised = text.replace(/\r\n?/g, '\n');
  const statements = splitStatements(normalised);
  if (statements.length === 0) throw invalid(`migration file "${file}" has no statement`);
  return {
    version: Number(match[1]),
    name: match[2]!,
    checksum: createHash('sha256').update(normalised).digest('hex'),
    statements,
  };
}

/**
 * Splits CQL text on ';' outside string literals, quoted identifiers and comments
 * (`--` and `//` to end of line, block comments), dropping the comments.
 */
export function splitStatements(cql: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < cql.length) {
    const ch = cql[i]!;
    const two = cql.slice(i, i + 2);
    if (two === '--' || two === '//') {
      i = endOf(cql, '\n', i + 2);
    } else if (two === '/*') {
      i = endOf(cql, '*/', i + 2) + 2;
    } else if (ch === "'" || ch === '"') {
      const end = closingQuote(cql, ch, i);
      current += cql.slice(i, end + 1);
      i = end + 1;
    } else if (two === '$$') {
      const end = endOf(cql, '$$', i + 2) + 1;
      current += cql.slice(i, end + 1);
      i = end + 1;
    } else if (ch === ';') {
      pushStatement(statements, current);
      current = '';
      i++;
    } else {
      current += ch;
      i++;
    }
  }
  pushStatement(statements, current);
  return statements;
}

function pushStatement(statements: string[], text: string): void {
  const trimmed = text.trim();
  if (trimmed.length > 0) statements.push(trimmed);
}

/** Index of the first character of `token` at or after `from`, or the text's last index. */
function endOf(text: string, token: string, from: number): number {
  const at = text.indexOf(token, from);
  return at === -1 ? text.length - 1 : at;
}

/** Index of the quote closing the literal opened at `start`; a doubled quote is an escape. */
function closingQuote(text: string, quote: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === quote) {
      if (text[i + 1] !== quote) return i;
      i += 2;
    } else {
      i++;
    }
  }
  throw invalid(`unterminated ${quote} literal starting at character ${start}`);
}

function invalid(message: string): RiskstreamError {
  return new RiskstreamError(ErrorCodes.configInvalid, message);
}
