// The README's "Bundlers" recipes, each tried as a user would (issue 13): privkit is packed
// (`npm pack`) and installed into a fresh app, the same tiny page is built by each bundler through
// its JavaScript API (Vite 8 build and dev server, the Vite 7 dev server, webpack 5, esbuild), or served as it is (a copy
// of dist/src, an import map with no bundler), and headless Chromium runs a synchronous kernel, the pool on two workers
// (two families' operations, so lazily loaded pool code is fetched too) and a pool whose worker URL
// is wrong, which must reject with E_WORKER naming it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import type { Browser } from 'playwright-core';
import { build as viteBuild, createServer as createViteServer } from 'vite';
import { createServer as createVite7Server } from 'vite7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpack from 'webpack';
import { COI_HEADERS, launchChromium, openPage, repoRoot, requirePrerequisites, serveStatic } from './browser/harness.js';

/** What the page writes into `#result`'s data-result once it has finished. */
interface PageResult {
  norms: number[];
  sums: number[];
  noise: { length: number; mean: number; sd: number };
  isolated: boolean;
  wrongWorker: { code: string; message: string };
}

const ROWS = 64;
const COLS = 3;
const NOISE_LENGTH = 4096;
/** Row i of the page's input (mainSource writes the same): a pool split across rows must still add every row once. */
const rowValues = (i: number) => [i, i % 5, 1];

/**
 * The app's entry module: `poolOptions` is the source of createPool's options, the only line a
 * recipe changes. Everything it computes goes into the DOM for the test to read.
 */
function mainSource(poolOptions: string): string {
  return `import { ready, l2Norms } from 'privkit';
import { createPool } from 'privkit/pool';

async function main() {
  await ready();
  const norms = l2Norms(new Float32Array([3, 4, 6, 8]), 2);
  const x = new Float32Array(${ROWS * COLS});
  for (let i = 0; i < ${ROWS}; i++) x.set([i, i % 5, 1], i * ${COLS}); // rowValues(i)
  const pool = await createPool(${poolOptions});
  const sums = await pool.sum(x, ${ROWS});
  const noise = await pool.gaussianNoise(${NOISE_LENGTH}, 1);
  await pool.close();
  const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
  const sd = Math.sqrt(noise.reduce((a, b) => a + (b - mean) ** 2, 0) / noise.length);
  let wrongWorker;
  try {
    await createPool({ threads: 1, workerUrl: new URL('./no-such-worker.js', location.href) });
    wrongWorker = { code: 'resolved', message: '' };
  } catch (error) {
    wrongWorker = { code: error.code, message: error.message };
  }
  return { norms: [...norms], sums: [...sums], noise: { length: noise.length, mean, sd }, isolated: self.crossOriginIsolated, wrongWorker };
}

const target = document.getElementById('result');
main().then(
  (result) => { target.dataset.result = JSON.stringify(result); target.dataset.status = 'done'; },
  (error) => { target.textContent = String(error && error.stack || error); target.dataset.status = 'error'; },
);
`;
}

const page = (head: string, script: string) =>
  `<!doctype html>\n<html><head><meta charset="utf-8"><title>privkit app</title><link rel="icon" href="data:,">${head}</head>\n<body><pre id="result"></pre><script type="module" src="${script}"></script></body></html>\n`;

/** The one line of createPool options a recipe needs. */
const DEFAULT_POOL = '{ threads: 2 }';
const BUNDLED_WORKER_POOL = "{ threads: 2, workerUrl: '/privkit-worker.js' }";
const COPIED_WORKER_POOL = "{ threads: 2, workerUrl: '/privkit/pool/worker.js' }";

let work: string;
let app: string;
let browser: Browser | undefined;
const servers: Server[] = [];
const devServers: { close(): Promise<void> }[] = [];
let setupError: unknown;

const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });

/** Writes a recipe's source folder (index.html and main.js) under the app. */
function writeSource(name: string, poolOptions: string, html = page('', './main.js')): string {
  const dir = join(app, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), html);
  writeFileSync(join(dir, 'main.js'), mainSource(poolOptions));
  return dir;
}

async function serve(root: string, headers: Record<string, string>): Promise<string> {
  const { server, url } = await serveStatic(root, headers);
  servers.push(server);
  return url;
}

beforeAll(async () => {
  try {
    requirePrerequisites();
    work = mkdtempSync(join(tmpdir(), 'privkit-bundlers-'));
    // dist/ is current (npm test builds first), so pack without running prepack's build again
    const [report] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], repoRoot)) as [{ filename: string }];
    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    npm(['install', '--offline', '--no-package-lock', join(work, report.filename)], app);
    browser = await launchChromium();
  } catch (error) {
    setupError = error;
  }
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(devServers.map((server) => server.close()));
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** Opens the app at `url` and waits until it reports: its status, its result (when done) or error text, and the page's problems. */
async function openApp(url: string): Promise<{ status: string | null; text: string; result: string | null; problems: string[] }> {
  const { page: tab, problems } = await openPage(browser!, url);
  try {
    await tab.waitForSelector('#result[data-status]', { state: 'attached', timeout: 30_000 });
    return {
      status: await tab.getAttribute('#result', 'data-status'),
      text: (await tab.textContent('#result')) ?? '',
      result: await tab.getAttribute('#result', 'data-result'),
      problems,
    };
  } finally {
    await tab.close();
  }
}

/** Opens the app at `url`, waits for its result and checks every number against this process's own. */
async function expectAppWorks(url: string, isolated: boolean): Promise<void> {
  const { status, text, result: json, problems } = await openApp(url);
  if (status !== 'done') throw new Error(`the app failed: ${text}\n${problems.join('\n')}`);
  const result = JSON.parse(json!) as PageResult;

  expect(result.norms).toEqual([5, 10]);
  const sums = [0, 0, 0];
  for (let i = 0; i < ROWS; i++) rowValues(i).forEach((v, j) => (sums[j]! += v));
  expect(result.sums).toEqual(sums);
  expect(result.noise.length).toBe(NOISE_LENGTH);
  // N(0, 1): the sample mean's sd is 1/64 and the sample sd's about 1/90, so these are > 6 sigma
  expect(Math.abs(result.noise.mean)).toBeLessThan(0.1);
  expect(Math.abs(result.noise.sd - 1)).toBeLessThan(0.07);
  expect(result.isolated).toBe(isolated);
  expect(result.wrongWorker.code).toBe('E_WORKER');
  expect(result.wrongWorker.message).toContain('/no-such-worker.js');

  // the only failed request is the deliberately wrong worker URL
  expect(problems.filter((p) => !p.includes('/no-such-worker.js'))).toEqual([]);
}

/** A free TCP port on 127.0.0.1 (Vite 7 takes port 0 for its default, 5173). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The options of a dev server (Vite 7 or 8) on a free port with the isolation headers, nothing watched. */
async function devServerOptions(root: string, optimizeDeps: { exclude?: string[] } = {}) {
  const port = await freePort();
  return {
    url: `http://127.0.0.1:${port}/`,
    config: {
      configFile: false as const,
      root,
      logLevel: 'warn' as const,
      optimizeDeps,
      server: { host: '127.0.0.1', port, strictPort: true, headers: COI_HEADERS, hmr: false, watch: null },
    },
  };
}

function prerequisites(): void {
  if (setupError !== undefined) throw setupError;
}

describe('bundler recipes in Chromium', () => {
  it('Vite 8 build: no configuration, served with and without cross-origin isolation', async () => {
    prerequisites();
    const root = writeSource('vite-build', DEFAULT_POOL);
    const outDir = join(work, 'out-vite');
    await viteBuild({ configFile: false, root, logLevel: 'warn', build: { outDir, emptyOutDir: true, reportCompressedSize: false } });
    await expectAppWorks(await serve(outDir, COI_HEADERS), true);
    await expectAppWorks(await serve(outDir, {}), false);
  }, 60_000);

  it('Vite 8 dev server: no configuration', async () => {
    prerequisites();
    const { url, config } = await devServerOptions(writeSource('vite-dev', DEFAULT_POOL));
    const server = await createViteServer(config);
    devServers.push(server);
    await server.listen();
    await expectAppWorks(url, true);
  }, 60_000);

  it("Vite 7 dev server: optimizeDeps.exclude ['privkit'] (without it, pre-bundling moves privkit away from its worker and createPool rejects with E_WORKER)", async () => {
    prerequisites();
    const root = writeSource('vite7-dev', DEFAULT_POOL);
    for (const exclude of [[], ['privkit']]) {
      const { url, config } = await devServerOptions(root, { exclude });
      const server = await createVite7Server(config);
      devServers.push(server);
      await server.listen();
      if (exclude.length > 0) {
        await expectAppWorks(url, true);
      } else {
        const { status, text } = await openApp(url);
        expect(status).toBe('error');
        expect(text).toContain('E_WORKER: a pool worker failed to start from pool/worker.js next to');
        expect(text).toContain('/node_modules/.vite/deps/');
      }
    }
  }, 60_000);

  it('webpack 5: no configuration beyond an entry (new URL(..., import.meta.url) workers are followed)', async () => {
    prerequisites();
    const root = writeSource('webpack', DEFAULT_POOL, page('', './main.bundle.js'));
    const outDir = join(work, 'out-webpack');
    const stats = await new Promise<webpack.Stats>((resolve, reject) =>
      webpack(
        { mode: 'production', context: root, entry: './main.js', output: { path: outDir, filename: 'main.bundle.js', clean: true }, performance: false },
        (error, result) => (error ? reject(error) : resolve(result!)),
      ),
    );
    if (stats.hasErrors()) throw new Error(stats.toString('errors-only'));
    cpSync(join(root, 'index.html'), join(outDir, 'index.html'));
    await expectAppWorks(await serve(outDir, COI_HEADERS), true);
  }, 60_000);

  it("esbuild: privkit's worker bundled as a second entry point, whose URL createPool({ workerUrl }) names", async () => {
    prerequisites();
    const root = writeSource('esbuild', BUNDLED_WORKER_POOL, page('', './main.js'));
    const outDir = join(work, 'out-esbuild');
    await esbuild.build({
      entryPoints: { main: join(root, 'main.js'), 'privkit-worker': join(app, 'node_modules/privkit/dist/src/pool/worker.js') },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outdir: outDir,
      logLevel: 'warning',
    });
    cpSync(join(root, 'index.html'), join(outDir, 'index.html'));
    await expectAppWorks(await serve(outDir, {}), false);
  }, 60_000);

  it('any bundler: a copy of dist/src served as it is, whose worker createPool({ workerUrl }) names', async () => {
    prerequisites();
    const root = writeSource('copied', COPIED_WORKER_POOL);
    const outDir = join(work, 'out-copied');
    await esbuild.build({ entryPoints: [join(root, 'main.js')], bundle: true, format: 'esm', platform: 'browser', outdir: outDir, logLevel: 'warning' });
    cpSync(join(root, 'index.html'), join(outDir, 'index.html'));
    cpSync(join(app, 'node_modules/privkit/dist/src'), join(outDir, 'privkit'), { recursive: true });
    await expectAppWorks(await serve(outDir, COI_HEADERS), true);
  }, 60_000);

  it('no bundler: an import map onto node_modules/privkit/dist/src', async () => {
    prerequisites();
    const dist = '/node_modules/privkit/dist/src';
    const importMap = { imports: { privkit: `${dist}/index.js`, 'privkit/pool': `${dist}/pool/index.js`, '#platform': `${dist}/platform/browser.js` } };
    writeSource('importmap', DEFAULT_POOL, page(`<script type="importmap">${JSON.stringify(importMap)}</script>`, './main.js'));
    await expectAppWorks(`${await serve(app, {})}importmap/`, false);
  }, 60_000);
});
