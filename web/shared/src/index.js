export * from './format.js'
export * from './validate.js'
export * from './i18n.js'
export * from './api.js'
