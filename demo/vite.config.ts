// Vite config of the demo page (`npm run demo`; `npm run demo:build` writes the static site to
// demo/dist). The page imports the built package (dist/, made by `npm run build`, which `predemo`
// runs) through the same aliases the tests use. The dev and preview servers send COOP/COEP, which
// make the page cross-origin isolated, so SharedArrayBuffer exists and the pool shares memory with
// its workers; the static build works without them too (e.g. on GitHub Pages: the pool then copies).
// The mnistAsset plugin serves and emits the digits of the training panels. The DP-SGD panel's
// worker imports TensorFlow.js (only the demo does: privkit/tfjs keeps it an optional peer).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { privkitAliases } from '../scripts/aliases.js';
import { mnistAsset } from './mnist-plugin.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const { version } = JSON.parse(readFileSync(here('../package.json'), 'utf8')) as { version: string };

const crossOriginIsolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: here('.'),
  // Relative asset URLs, so demo/dist can be served from any path.
  base: './',
  resolve: { alias: privkitAliases },
  plugins: [mnistAsset()],
  // The version the page reports (environment.ts).
  define: { __PRIVKIT_VERSION__: JSON.stringify(version) },
  // These are only reached from worker code; pre-bundling them up front avoids a mid-run reload in dev.
  optimizeDeps: {
    include: [
      '@noble/ciphers/chacha.js',
      'paillier-bigint',
      '@divviup/prio3',
      'buffer',
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-layers',
    ],
  },
  server: { headers: crossOriginIsolation },
  preview: { headers: crossOriginIsolation },
  // ES workers: the default 'iife' format can not code-split, and the pool spawns nested module workers.
  worker: { format: 'es' },
  build: { outDir: here('dist'), emptyOutDir: true, target: 'es2022' },
});
