/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of a Kafka record batch,
 * computed slicing-by-8 (eight bytes per step through eight 256-entry tables) instead of
 * kafkajs's byte-at-a-time loop. Same value as kafkajs's `protocol/recordBatch/crc32C` for every
 * input (test/unit/adapters/kafka/crc32c.test.ts compares them); record-encoder.ts installs it.
 */
const POLY = 0x82f63b78;
const T: Int32Array[] = Array.from({ length: 8 }, () => new Int32Array(256));
const T0 = T[0] as Int32Array;
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T0[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let t = 1; t < 8; t++) {
    const prev = (T[t - 1] as Int32Array)[n] as number;
    (T[t] as Int32Array)[n] = (prev >>> 8) ^ (T0[prev & 0xff] as number);
  }
}
const [, T1, T2, T3, T4, T5, T6, T7] = T as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];

/** CRC-32C of `buf` as an unsigned 32-bit integer. */
export function crc32c(buf: Uint8Array): number {
  let crc = -1;
  let i = 0;
  const whole = buf.length - 8;
  for (; i <= whole; i += 8) {
    crc ^= (buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24);
    crc =
      (T7[crc & 0xff] as number) ^ (T6[(crc >>> 8) & 0xff] as number) ^ (T5[(crc >>> 16) & 0xff] as number) ^ (T4[crc >>> 24] as number) ^
      (T3[buf[i + 4] as number] as number) ^ (T2[buf[i + 5] as number] as number) ^ (T1[buf[i + 6] as number] as number) ^
      (T0[buf[i + 7] as number] as number);
  }
  for (; i < buf.length; i++) crc = (T0[(crc ^ (buf[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
