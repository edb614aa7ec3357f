import { createRouter, createWebHashHistory } from 'vue-router'

import Application from './views/Application.vue'
import Applications from './views/Applications.vue'
import Apply from './views/Apply.vue'
import Loan from './views/Loan.vue'
import Loans from './views/Loans.vue'
import Messages from './views/Messages.vue'
import Product from './views/Product.vue'
import Products from './views/Products.vue'

// Hash history: the static files need no rewrite rule (local cloud, S3 + CloudFront).
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', name: 'products', component: Products },
    { path: '/products/:id', name: 'product', component: Product, props: true },
    { path: '/apply/:id', name: 'apply', component: Apply, props: true },
    { path: '/applications', name: 'applications', component: Applications },
    { path: '/applications/:id', name: 'application', component: Application, props: true },
    { path: '/loans', name: 'loans', component: Loans },
    { path: '/loans/:id', name: 'loan', component: Loan, props: true },
    { path: '/messages', name: 'messages', component: Messages },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
  scrollBehavior: () => ({ top: 0 }),
})
