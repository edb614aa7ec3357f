// Money and dates, in ONE place: the API speaks integer fen and ISO instants; people
// read yuan with two decimals and China time (Asia/Shanghai), whatever the browser's zone.

export const ZONE = 'Asia/Shanghai'

/**
 * Integer fen -> yuan with two decimals and thousands separators: 123456 -> "1,234.56".
 * Integer arithmetic only (no float rounding); anything but a safe integer is refused.
 * @param {number} fen
 * @returns {string}
 */
export function yuan(fen) {
  if (typeof fen !== 'number' || !Number.isSafeInteger(fen)) {
    throw new TypeError(`an amount in fen is a safe integer, not ${String(fen)}`)
  }
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  const cents = String(abs % 100).padStart(2, '0')
  return `${sign}${whole}.${cents}`
}

/** yuan() with the currency sign: "¥1,234.56". */
export function money(fen) {
  const text = yuan(fen)
  return text.startsWith('-') ? `-¥${text.slice(1)}` : `¥${text}`
}

/**
 * What a person types in yuan ("1,234.5", "２００") -> integer fen, or null when it is
 * not an amount with at most two decimals.
 * @param {string|number} text
 * @returns {number|null}
 */
export function fenFromYuan(text) {
  const folded = String(text)
    .replace(/[\uFF10-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[,\s]/g, '')
  const match = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(folded)
  if (!match) return null
  return Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'))
}

/**
 * A decimal rate as the API writes it ("0.18", "0.1799") -> "18.00%".
 * Decimal string arithmetic: no binary rounding surprises.
 * @param {string} rate
 * @returns {string}
 */
export function percent(rate) {
  const match = /^(-?)(\d+)(?:\.(\d*))?$/.exec(String(rate).trim())
  if (!match) throw new TypeError(`not a decimal rate: ${String(rate)}`)
  const [, sign, whole, frac = ''] = match
  // rate * 100 with two decimals = the digits shifted by 2, rounded half up at the 4th.
  const digits = BigInt(whole + frac.padEnd(4, '0').slice(0, 4))
  const roundUp = frac.length > 4 && frac[4] >= '5' ? 1n : 0n
  const hundredths = digits + roundUp
  const text = `${hundredths / 100n}.${String(hundredths % 100n).padStart(2, '0')}`
  return `${hundredths === 0n ? '' : sign}${text}%`
}

const dateParts = new Intl.DateTimeFormat('en-CA', {
  timeZone: ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
})

function parts(instant) {
  const when = instant instanceof Date ? instant : new Date(instant)
  if (Number.isNaN(when.getTime())) throw new TypeError(`not an instant: ${String(instant)}`)
  const out = {}
  for (const p of dateParts.formatToParts(when)) out[p.type] = p.value
  return out
}

/**
 * An instant (ISO string with its offset, or a Date) -> "2026-12-01 08:30" in China time.
 * A bare calendar day ("2026-12-01") is a day, not an instant: returned as it is.
 */
export function shanghaiDateTime(instant) {
  if (typeof instant === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(instant)) return instant
  const p = parts(instant)
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
}

/** An instant -> its calendar day in China ("2026-12-01"). */
export function shanghaiDate(instant) {
  if (typeof instant === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(instant)) return instant
  const p = parts(instant)
  return `${p.year}-${p.month}-${p.day}`
}

/** Today's calendar day in China. */
export function shanghaiToday(now = new Date()) {
  return shanghaiDate(now)
}

/** How long ago an instant was, as {hours, minutes} (for queues sorted by age). */
export function age(instant, now = new Date()) {
  const ms = Math.max(0, now.getTime() - new Date(instant).getTime())
  const minutes = Math.floor(ms / 60000)
  return { hours: Math.floor(minutes / 60), minutes: minutes % 60 }
}
