import assert from 'node:assert/strict'
import { test } from 'node:test'

import {
  checkBankCard,
  checkCreditCode,
  checkIdNumber,
  checkName,
  checkPhone,
  idCheckDigit,
} from '../src/validate.js'

test('resident ID numbers need their GB 11643 check digit', () => {
  // The standard's own example.
  assert.equal(idCheckDigit('11010519491231002'), 'X')
  assert.equal(checkIdNumber('11010519491231002X'), '')
  assert.equal(checkIdNumber('11010519491231002x'), '')
  assert.equal(checkIdNumber('110105194912310021'), 'check.idChecksum')
  assert.equal(checkIdNumber('1101051949123100'), 'check.idShape')
  assert.equal(checkIdNumber('11010519491331002X'), 'check.idBirth')
  assert.equal(checkIdNumber(''), 'check.required')
  // Full-width digits from a Chinese keyboard are the same number.
  assert.equal(checkIdNumber('１１０１０５１９４９１２３１００２Ｘ'), '')
})

test('names are Chinese characters, minority names joined by a middle dot', () => {
  assert.equal(checkName('张三'), '')
  assert.equal(checkName('张 三'), '')
  assert.equal(checkName('阿依古丽·买买提'), '')
  assert.equal(checkName('阿依古丽•买买提'), '')
  assert.equal(checkName('张'), 'check.nameLength')
  assert.equal(checkName('Zhang San'), 'check.nameHan')
  assert.equal(checkName(''), 'check.required')
})

test('mobile numbers are 1[3-9] and nine digits', () => {
  assert.equal(checkPhone('13800138000'), '')
  assert.equal(checkPhone('12800138000'), 'check.phone')
  assert.equal(checkPhone('1380013800'), 'check.phone')
})

test('bank cards have 16 to 19 digits', () => {
  assert.equal(checkBankCard('6222020200112233'), '')
  assert.equal(checkBankCard('6222020200112233445'), '')
  assert.equal(checkBankCard('622202020011223'), 'check.bankCard')
  assert.equal(checkBankCard('62220202001122334455'), 'check.bankCard')
})

test('unified social credit codes need their check character', () => {
  assert.equal(checkCreditCode('91350100M000100Y43'), '')
  assert.equal(checkCreditCode('91350100M000100Y44'), 'check.creditCode')
})
