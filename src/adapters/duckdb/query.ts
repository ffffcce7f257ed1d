import { DuckDBInstance } from '@duckdb/node-api';

/** A small DuckDB session over the lake (in-memory database; files are read in place). */
export class LakeQuery {
  readonly #instance: DuckDBInstance;
  readonly #connection: Awaited<ReturnType<DuckDBInstance['connect']>>;

  private constructor(instance: DuckDBInstance, connection: Awaited<ReturnType<DuckDBInstance['connect']>>) {
    this.#instance = instance;
    this.#connection = connection;
  }

  static async open(): Promise<LakeQuery> {
    const instance = await DuckDBInstance.create(':memory:');
    return new LakeQuery(instance, await instance.connect());
  }

  /** Rows as JSON-safe objects (BIGINT → string). */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    const reader = await this.#connection.runAndReadAll(sql);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  }

  close(): void {
    this.#connection.closeSync();
    this.#instance.closeSync();
  }
}

/** A SQL string literal (single quotes doubled). */
export const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** SQL source of the committed bronze events under `dir`. */
export function bronzeSource(dir: string): string {
  return `read_parquet(${sqlString(`${dir.replace(/\/$/, '')}/date=*/*.parquet`)}, hive_partitioning = true)`;
}
