import { createRouter, createWebHashHistory } from 'vue-router'

import { api, homeFor } from './api.js'
import Case from './views/Case.vue'
import Digest from './views/Digest.vue'
import Forbidden from './views/Forbidden.vue'
import Funders from './views/Funders.vue'
import Login from './views/Login.vue'
import Portfolio from './views/Portfolio.vue'
import Queue from './views/Queue.vue'

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: () => homeFor(api.session()?.role) },
    { path: '/login', name: 'login', component: Login, meta: { public: true } },
    { path: '/forbidden', name: 'forbidden', component: Forbidden },
    { path: '/reviewer/queue', name: 'queue', component: Queue, meta: { role: 'reviewer' } },
    {
      path: '/reviewer/cases/:id',
      name: 'case',
      component: Case,
      props: true,
      meta: { role: 'reviewer' },
    },
    { path: '/finance/digest/:day?', name: 'digest', component: Digest, meta: { role: 'finance' } },
    { path: '/finance/funders', name: 'funders', component: Funders, meta: { role: 'finance' } },
    { path: '/finance/portfolio', name: 'portfolio', component: Portfolio, meta: { role: 'finance' } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

// An area opens for its role only: a finance session never renders the reviewer's
// screens (and their requests would be refused by the API anyway).
router.beforeEach((to) => {
  const session = api.session()
  if (to.meta.public) return true
  if (!session?.token) return { name: 'login', query: { next: to.fullPath } }
  if (to.meta.role && to.meta.role !== session.role) {
    return { name: 'forbidden', query: { area: to.meta.role } }
  }
  return true
})
