import { createApi } from '@lending/web-shared/api'

export const api = createApi('lending.h5.session')

// The sandbox stands in for wx.login(): one code per browser, kept so that the same
// "WeChat user" finds their applications again; the session itself lives in the tab.
const CODE_KEY = 'lending.h5.code'

function sandboxCode() {
  let code = localStorage.getItem(CODE_KEY)
  if (!code) {
    code = `h5-${crypto.randomUUID()}`
    localStorage.setItem(CODE_KEY, code)
  }
  return code
}

export async function ensureSession() {
  if (!api.session()?.token) await api.signIn(sandboxCode(), 'applicant')
  return api.session()
}

let products = null

/** GET /v1/products, once per page load. */
export async function loadProducts() {
  if (!products) products = (await api.get('/v1/products')).products
  return products
}
