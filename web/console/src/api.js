import { createApi } from '@lending/web-shared/api'

export const api = createApi('lending.console.session')

// The console's two areas, each for one role (the API enforces the same rule).
export const AREAS = {
  reviewer: { role: 'reviewer', home: '/reviewer/queue' },
  finance: { role: 'finance', home: '/finance/digest' },
}

export function homeFor(role) {
  return Object.values(AREAS).find((a) => a.role === role)?.home || '/login'
}
