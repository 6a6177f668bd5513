// Vite config of the demo page (`npm run demo`; `vite build --config demo/vite.config.ts` writes
// demo/dist). The page imports the built package (dist/, made by `npm run build`, which `predemo`
// runs) through the same aliases the tests use. COOP/COEP make the page cross-origin isolated, so
// SharedArrayBuffer exists and the pool row can share memory with its workers. The mnistAsset plugin
// serves and emits the digits of the training panel.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { privkitAliases } from '../scripts/aliases.js';
import { mnistAsset } from './mnist-plugin.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

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
  server: { headers: crossOriginIsolation },
  preview: { headers: crossOriginIsolation },
  // ES workers: the default 'iife' format can not code-split, and the pool spawns nested module workers.
  worker: { format: 'es' },
  build: { outDir: here('dist'), emptyOutDir: true, target: 'es2022' },
});
