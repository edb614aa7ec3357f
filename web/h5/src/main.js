import 'vant/lib/index.css'
import './style.css'

import { locale } from '@lending/web-shared/i18n'
import Vant from 'vant'
import { createApp, watchEffect } from 'vue'

import App from './App.vue'
import { router } from './router.js'

watchEffect(() => {
  document.documentElement.lang = locale.value
})

createApp(App).use(Vant).use(router).mount('#app')
