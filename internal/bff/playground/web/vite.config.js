// Builds the playground into ../dist, which the Go package embeds: one
// entry script with its chunks, GraphiQL's and the explorer's styles, and
// the Monaco editor's web workers, all under dist/assets/ with content
// hashes in their names. No HTML: the Go handler writes the page from
// dist/manifest.json, with the BFF's settings in a JSON data block.
import { defineConfig } from 'vite';

export default defineConfig({
  // Relative URLs: chunks, workers and fonts are found next to the script
  // that names them, wherever the Go handler mounts the assets.
  base: './',
  publicDir: false,
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    manifest: 'manifest.json',
    // The licences of every bundled package, shipped with the bundle.
    license: { fileName: 'LICENSES.md' },
    sourcemap: false,
    // Chromium, Firefox and Safari of the last few years: module scripts,
    // top-level await not needed.
    target: 'es2022',
    chunkSizeWarningLimit: 8192,
    rolldownOptions: {
      input: 'src/main.js',
      onwarn(warning, warn) {
        // framer-motion and radix mark their modules "use client" for
        // React Server Components; a browser bundle has no use for it.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  worker: {
    // Classic workers from separate files (not blob: URLs), so that the
    // page's policy can say worker-src 'self'.
    format: 'iife',
  },
});
