/**
 * Exact, order-independent amount sums.
 *
 * Floating-point addition is not associative: summing the same amounts in a different order (out
 * of order events, a replay after a crash, a brute-force check) can differ in the last bits, and
 * the product promises that a replay gives identical window sums. So sums are kept as integers of
 * 1/10,000 of a currency unit (every ISO 4217 currency has at most 4 minor digits), which add
 * exactly in any order while |sum| < 2^53 units ≈ 9·10^11 currency units.
 */

/** Minor units per currency unit used for exact sums. */
export const UNITS_PER_AMOUNT = 10_000;

/** An amount as integer units (rounded half away from zero to 4 decimals). */
export function amountToUnits(amount: number): number {
  const u = Math.round(Math.abs(amount) * UNITS_PER_AMOUNT);
  return amount < 0 ? -u : u;
}

/** Integer units back to an amount: the double nearest to the 4-decimal value. */
export function unitsToAmount(units: number): number {
  return units / UNITS_PER_AMOUNT;
}
