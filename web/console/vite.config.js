import { noThirdPartyFonts } from '@lending/web-shared/vite'
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// Served under /console/ by the local cloud (and from the same path behind CloudFront).
export default defineConfig({
  base: '/console/',
  plugins: [vue(), noThirdPartyFonts()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline scripts or data: fonts from Vite itself: the CSP allows 'self' only.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1600,
  },
  server: {
    // `npm run dev` against `make serve`: VITE_API=http://127.0.0.1:PORT npm run dev
    proxy: process.env.VITE_API ? { '/v1': process.env.VITE_API } : undefined,
  },
})
