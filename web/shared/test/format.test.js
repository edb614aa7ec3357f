import assert from 'node:assert/strict'
import { test } from 'node:test'

import {
  age,
  fenFromYuan,
  money,
  percent,
  shanghaiDate,
  shanghaiDateTime,
  shanghaiToday,
  yuan,
} from '../src/format.js'

test('fen become yuan with two decimals and thousands separators', () => {
  assert.equal(yuan(0), '0.00')
  assert.equal(yuan(1), '0.01')
  assert.equal(yuan(10), '0.10')
  assert.equal(yuan(100), '1.00')
  assert.equal(yuan(123456), '1,234.56')
  assert.equal(yuan(1198178), '11,981.78')
  assert.equal(yuan(100_000_000_00), '100,000,000.00')
  assert.equal(yuan(-5), '-0.05')
  assert.equal(yuan(-123456), '-1,234.56')
  assert.equal(money(49924), '¥499.24')
  assert.equal(money(-100), '-¥1.00')
})

test('only integer fen are amounts', () => {
  for (const bad of [1.5, Number.NaN, '100', null, undefined, 2 ** 60]) {
    assert.throws(() => yuan(bad), TypeError)
  }
})

test('what people type in yuan becomes fen, exactly', () => {
  assert.equal(fenFromYuan('20000'), 2_000_000)
  assert.equal(fenFromYuan('1,234.5'), 123_450)
  assert.equal(fenFromYuan('0.07'), 7)
  assert.equal(fenFromYuan('１００'), 10_000)
  assert.equal(fenFromYuan(' 12.34 '), 1234)
  assert.equal(fenFromYuan('1.234'), null)
  assert.equal(fenFromYuan('-1'), null)
  assert.equal(fenFromYuan('abc'), null)
  assert.equal(fenFromYuan(''), null)
  // 0.29 * 100 is 28.999999999999996 in floating point: not here.
  assert.equal(fenFromYuan('0.29'), 29)
})

test('decimal rates become percentages with two decimals, half up', () => {
  assert.equal(percent('0.18'), '18.00%')
  assert.equal(percent('0.1799'), '17.99%')
  assert.equal(percent('0.072'), '7.20%')
  assert.equal(percent('0.19565'), '19.57%')
  assert.equal(percent('0.195649'), '19.56%')
  assert.equal(percent('1'), '100.00%')
  assert.equal(percent('0'), '0.00%')
  assert.throws(() => percent('eighteen'), TypeError)
})

test('instants are shown in China time whatever the zone of the machine', () => {
  // 2026-11-30T16:30Z is already 1 December in Shanghai (UTC+8).
  assert.equal(shanghaiDateTime('2026-11-30T16:30:00Z'), '2026-12-01 00:30')
  assert.equal(shanghaiDate('2026-11-30T16:30:00+00:00'), '2026-12-01')
  assert.equal(shanghaiDateTime('2026-12-01T08:30:00+08:00'), '2026-12-01 08:30')
  assert.equal(shanghaiDate('2026-12-01T07:59:59+08:00'), '2026-12-01')
  assert.equal(shanghaiDate(new Date(Date.UTC(2026, 11, 31, 15, 59))), '2026-12-31')
  assert.equal(shanghaiDate(new Date(Date.UTC(2026, 11, 31, 16, 0))), '2027-01-01')
  assert.equal(shanghaiToday(new Date('2026-06-30T20:00:00Z')), '2026-07-01')
})

test('a calendar day stays the day it names', () => {
  assert.equal(shanghaiDate('2026-12-01'), '2026-12-01')
  assert.equal(shanghaiDateTime('2026-12-01'), '2026-12-01')
  assert.throws(() => shanghaiDate('not a date'), TypeError)
})

test('ages count whole minutes', () => {
  const now = new Date('2026-12-01T10:00:00Z')
  assert.deepEqual(age('2026-12-01T08:29:30Z', now), { hours: 1, minutes: 30 })
  assert.deepEqual(age('2026-12-01T11:00:00Z', now), { hours: 0, minutes: 0 })
})
