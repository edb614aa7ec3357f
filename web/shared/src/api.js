// The /v1 API on the same origin, with the session token of this tab (sessionStorage:
// a personal-data session does not outlive the tab).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code)
    this.status = status
    this.code = code
  }
}

export function createApi(storageKey) {
  const store = globalThis.sessionStorage

  function session() {
    try {
      return JSON.parse(store.getItem(storageKey) || 'null')
    } catch {
      return null
    }
  }

  function setSession(value) {
    if (value) store.setItem(storageKey, JSON.stringify(value))
    else store.removeItem(storageKey)
  }

  async function request(method, path, body) {
    const headers = { Accept: 'application/json' }
    const current = session()
    if (current?.token) headers.Authorization = `Bearer ${current.token}`
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    let reply
    try {
      reply = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
      })
    } catch (exc) {
      throw new ApiError(0, 'network', String(exc))
    }
    const text = await reply.text()
    let data = null
    try {
      data = text ? JSON.parse(text) : null
    } catch {
      data = null
    }
    if (!reply.ok) {
      if (reply.status === 401) setSession(null)
      throw new ApiError(reply.status, data?.code || 'http_error', data?.message || text)
    }
    return data
  }

  /** The sandbox login (POST /v1/sessions): {token, role, subject, expires_in}. */
  async function signIn(code, role) {
    const reply = await request('POST', '/v1/sessions', { code, role })
    setSession({ token: reply.token, role: reply.role, subject: reply.subject })
    return reply
  }

  return {
    session,
    setSession,
    signIn,
    signOut: () => setSession(null),
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body ?? {}),
  }
}
