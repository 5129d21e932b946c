import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    // Every asset becomes a hashed file under /assets/ rather than a data: URL, which the
    // page's Content-Security-Policy (set by todo-read) does not allow.
    assetsInlineLimit: 0,
    // One entry chunk, loaded by browsers that all support modulepreload: the polyfill
    // would only add bytes.
    modulePreload: { polyfill: false },
  },
  server: {
    // `pnpm --filter @taskoverflow/web-ui dev`: this page with hot reload, the API of the
    // stack that `pnpm start` runs.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
