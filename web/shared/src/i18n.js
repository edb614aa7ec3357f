// A tiny dictionary i18n: Simplified Chinese first, English on a switch, kept in
// localStorage. No runtime message compiler, so the strict CSP (no 'unsafe-eval') holds.
import { ref } from 'vue'

const STORAGE_KEY = 'lending.locale'
export const LOCALES = ['zh-CN', 'en']

function initial() {
  try {
    const saved = globalThis.localStorage?.getItem(STORAGE_KEY)
    if (LOCALES.includes(saved)) return saved
  } catch {
    // storage may be disabled: Chinese it is
  }
  return 'zh-CN'
}

export const locale = ref(initial())

export function setLocale(next) {
  if (!LOCALES.includes(next)) return
  locale.value = next
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, next)
  } catch {
    // not kept: fine
  }
  if (globalThis.document) globalThis.document.documentElement.lang = next
}

/**
 * Build a `t(key, params)` over messages {'zh-CN': {...}, en: {...}} (nested keys with
 * dots). A missing English text falls back to Chinese, a missing key shows the key.
 */
export function createT(messages) {
  const lookup = (lang, key) =>
    key.split('.').reduce((node, part) => (node == null ? undefined : node[part]), messages[lang])
  return function t(key, params = {}) {
    const text = lookup(locale.value, key) ?? lookup('zh-CN', key) ?? key
    return String(text).replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? `{${name}}`))
  }
}

/** The product's (or any record's) field in the current language: name_zh / name_en. */
export function localized(record, field) {
  if (!record) return ''
  const en = record[`${field}_en`]
  return locale.value === 'en' && en ? en : (record[`${field}_zh`] ?? en ?? '')
}
