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

/** SQL source of the committed bronze events under `dir` (single quotes escaped). */
export function bronzeSource(dir: string): string {
  const glob = `${dir.replace(/\/$/, '')}/date=*/*.parquet`.replaceAll("'", "''");
  return `read_parquet('${glob}', hive_partitioning = true)`;
}
