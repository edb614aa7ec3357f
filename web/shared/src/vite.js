// Build-time helpers for the front ends' vite.config.js.

/**
 * Vant's icon font is inlined as woff2 (a data: URL) with a fallback on Alibaba's CDN.
 * The pages' CSP allows no third-party origin, and an applicant's browser should not
 * call a CDN from a lending page anyway: the fallback is dropped from the CSS.
 */
export function noThirdPartyFonts() {
  const cdn = /,\s*url\((?:https?:)?\/\/at\.alicdn\.com[^)]*\)\s*format\(["']woff["']\)/g
  return {
    name: 'lending:no-third-party-fonts',
    enforce: 'pre',
    transform(code, id) {
      if (!id.split('?')[0].endsWith('.css') || !code.includes('alicdn.com')) return null
      return { code: code.replace(cdn, ''), map: null }
    },
  }
}
