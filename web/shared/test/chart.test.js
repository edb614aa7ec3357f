import assert from 'node:assert/strict'
import { test } from 'node:test'

import { barLengths, share } from '../src/chart.js'

test('bars are shares of the largest value, a small one stays visible', () => {
  assert.deepEqual(barLengths([100_00, 50_00, 0, 25_00]), [100, 50, 0, 25])
  assert.deepEqual(barLengths([3, 1]), [100, 33.3])
  assert.deepEqual(barLengths([1_000_000_00, 1]), [100, 0.1])
  assert.deepEqual(barLengths([0, 0]), [0, 0])
  assert.deepEqual(barLengths([]), [])
})

test('a share is a percentage with two decimals, rounded half up', () => {
  assert.equal(share(1, 3), '33.33%')
  assert.equal(share(2, 3), '66.67%')
  assert.equal(share(1, 8), '12.50%')
  assert.equal(share(1, 80000), '0.00%')
  assert.equal(share(1, 40000), '0.00%')
  assert.equal(share(1, 20000), '0.01%')
  assert.equal(share(30_000_00, 200_000_00), '15.00%')
  assert.equal(share(5, 5), '100.00%')
  assert.equal(share(0, 0), '—')
  assert.throws(() => share(0.5, 2), TypeError)
})
