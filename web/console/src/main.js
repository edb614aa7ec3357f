import 'element-plus/dist/index.css'
import './style.css'

import { locale } from '@lending/web-shared/i18n'
import ElementPlus from 'element-plus'
import { createApp, watchEffect } from 'vue'

import App from './App.vue'
import { router } from './router.js'

watchEffect(() => {
  document.documentElement.lang = locale.value
})

createApp(App).use(ElementPlus).use(router).mount('#app')
