// Bars for the consoles' charts, drawn in CSS/SVG (no chart library): widths are shares
// computed in integers (fen stay integers), shares of a whole in basis points.

/**
 * Each value's bar length as a percentage (0..100, one decimal) of the largest value;
 * a value above zero never shrinks to an invisible bar.
 * @param {number[]} values integer amounts (fen) or counts
 * @returns {number[]}
 */
export function barLengths(values) {
  const top = Math.max(0, ...values)
  if (top === 0) return values.map(() => 0)
  return values.map((v) => {
    if (!(v > 0)) return 0
    const tenths = Math.floor((v * 1000) / top)
    return Math.max(1, tenths) / 10
  })
}

/**
 * `part` of `whole` as a percentage text with two decimals, by integer arithmetic
 * (half up): share(1, 3) -> "33.33%". A zero whole is "—".
 */
export function share(part, whole) {
  if (!Number.isSafeInteger(part) || !Number.isSafeInteger(whole)) {
    throw new TypeError('shares are of integers')
  }
  if (whole === 0) return '—'
  const bp = BigInt(part) * 20000n
  const w = BigInt(whole)
  const hundredths = (bp / w + 1n) / 2n // half up on the unsigned case
  return `${hundredths / 100n}.${String(hundredths % 100n).padStart(2, '0')}%`
}
