// Field checks as the applicant types: the same rules the API applies
// (lending.applications.model.ApplicantDetails, lending.identity), so a form that
// passes here is not refused for its shape there. Each check returns an i18n key
// for the problem, or '' when the value is fine.

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const ID_CHECK = '10X98765432'
const CREDIT_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const CC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

/** Full-width digits and letters (what a Chinese IME types) -> ASCII, spaces dropped. */
export function halfWidth(value) {
  return String(value ?? '')
    .replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\s+/g, '')
}

/** GB 11643 check digit of the first 17 digits. */
export function idCheckDigit(first17) {
  let total = 0
  for (let i = 0; i < 17; i += 1) total += Number(first17[i]) * ID_WEIGHTS[i]
  return ID_CHECK[total % 11]
}

function validBirth(id) {
  const y = Number(id.slice(6, 10))
  const m = Number(id.slice(10, 12))
  const d = Number(id.slice(12, 14))
  const born = new Date(Date.UTC(y, m - 1, d))
  return (
    y >= 1900 &&
    born.getUTCFullYear() === y &&
    born.getUTCMonth() === m - 1 &&
    born.getUTCDate() === d &&
    born.getTime() <= Date.now()
  )
}

export function checkName(value) {
  const name = String(value ?? '')
    .replace(/\s+/g, '')
    .replace(/[\u2022\u30fb\uff0e\u2027\u2219]/g, '\u00b7')
  if (!name) return 'check.required'
  if (name.length < 2 || name.length > 20) return 'check.nameLength'
  if (!/^\p{Script=Han}+(?:\u00b7\p{Script=Han}+)*$/u.test(name)) return 'check.nameHan'
  return ''
}

export function checkIdNumber(value) {
  const id = halfWidth(value).toUpperCase()
  if (!id) return 'check.required'
  if (!/^\d{17}[\dX]$/.test(id)) return 'check.idShape'
  if (!validBirth(id)) return 'check.idBirth'
  if (idCheckDigit(id.slice(0, 17)) !== id[17]) return 'check.idChecksum'
  return ''
}

export function checkPhone(value) {
  const phone = halfWidth(value)
  if (!phone) return 'check.required'
  return /^1[3-9]\d{9}$/.test(phone) ? '' : 'check.phone'
}

export function checkBankCard(value) {
  const card = halfWidth(value)
  if (!card) return 'check.required'
  return /^\d{16,19}$/.test(card) ? '' : 'check.bankCard'
}

export function checkAddress(value) {
  const text = String(value ?? '').trim()
  if (!text) return 'check.required'
  return text.length >= 5 && text.length <= 240 ? '' : 'check.address'
}

export function checkCreditCode(value) {
  const code = halfWidth(value).toUpperCase()
  if (!code) return 'check.required'
  if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(code)) return 'check.creditCode'
  let total = 0
  for (let i = 0; i < 17; i += 1) total += CREDIT_ALPHABET.indexOf(code[i]) * CC_WEIGHTS[i]
  const check = CREDIT_ALPHABET[(31 - (total % 31)) % 31]
  return check === code[17] ? '' : 'check.creditCode'
}
