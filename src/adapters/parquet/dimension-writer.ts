import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { Dimensions } from '../../generator/dimensions.ts';

/**
 * Writes dimension tables as `<dir>/merchants|users|fx_rates/<name>.parquet` (temp file, then
 * rename, so a curate run never reads half a file). A later name replaces earlier rows of the
 * same key when the curated layer joins them.
 */
export async function writeDimensions(dir: string, name: string, dims: Dimensions): Promise<void> {
  const tables = {
    merchants: [
      { name: 'merchant_id', data: dims.merchants.map((r) => r.merchant_id), type: 'STRING' },
      { name: 'category', data: dims.merchants.map((r) => r.category), type: 'STRING' },
      { name: 'country', data: dims.merchants.map((r) => r.country), type: 'STRING' },
      { name: 'currency', data: dims.merchants.map((r) => r.currency), type: 'STRING' },
    ],
    users: [
      { name: 'user_id', data: dims.users.map((r) => r.user_id), type: 'STRING' },
      { name: 'home_country', data: dims.users.map((r) => r.home_country), type: 'STRING' },
      { name: 'registered_devices', data: dims.users.map((r) => r.registered_devices), type: 'INT32' },
    ],
    fx_rates: [
      { name: 'currency', data: dims.fxRates.map((r) => r.currency), type: 'STRING' },
      { name: 'usd_per_unit', data: dims.fxRates.map((r) => r.usd_per_unit), type: 'DOUBLE' },
    ],
  } as const;
  for (const [table, columnData] of Object.entries(tables)) {
    const folder = join(dir, table);
    await mkdir(folder, { recursive: true });
    const buffer = parquetWriteBuffer({ columnData: columnData as never, createdBy: 'riskstream dimensions' });
    const tmp = join(folder, `.${name}.parquet.tmp`);
    await writeFile(tmp, new Uint8Array(buffer));
    await rename(tmp, join(folder, `${name}.parquet`));
  }
}
