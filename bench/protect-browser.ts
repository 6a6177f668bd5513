// Protect-browser suite of `npm run bench`: the measurements of ./protect-rounds.ts (sealing and
// opening a 256 MiB model against raw WebCrypto AES-GCM on the same chunks, and the streams' memory
// peak) in headless Chromium (Debian's /usr/bin/chromium through playwright-core). The page script
// ./protect-browser-page.ts is bundled with esbuild from the built dist/ and served from memory on
// 127.0.0.1. The live ArrayBuffer memory is DevTools' Runtime.getHeapUsage backingStorageSize (the
// bytes of V8 ArrayBuffer backing stores in the page, Chromium's counterpart of Node's
// process.memoryUsage().arrayBuffers) after two forced collections; buffers WebCrypto holds outside
// V8 while an operation runs are counted by neither. Writes bench/results/protect-browser.json.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { machineOf, reportProtect } from './protect.js';
import type { ProtectMeasurement } from './protect-rounds.js';

const CHROMIUM = '/usr/bin/chromium';
const MODEL_BYTES = 256 << 20;

/** Serves the page and its bundled script on an ephemeral 127.0.0.1 port until `close`. */
async function servePage(script: string): Promise<{ url: string; close: () => Promise<void> }> {
  const files: Record<string, [string, string]> = {
    '/': ['text/html; charset=utf-8', '<!doctype html><meta charset="utf-8"><title>privkit protect bench</title><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>'],
    '/page.js': ['text/javascript', script],
  };
  const server = createServer((request, response) => {
    const file = files[request.url ?? ''];
    if (file === undefined) response.writeHead(404).end();
    else response.writeHead(200, { 'Content-Type': file[0] }).end(file[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the page server has no TCP address');
  return { url: `http://127.0.0.1:${address.port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export async function protectBrowserSuite(): Promise<void> {
  const started = performance.now();
  if (!existsSync(CHROMIUM)) throw new Error(`the protect-browser suite needs Debian's Chromium at ${CHROMIUM} (apt-get install -y --no-install-recommends chromium)`);
  const entry = join(dirname(fileURLToPath(import.meta.url)), 'protect-browser-page.js');
  const bundle = await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'warning' });
  const server = await servePage(bundle.outputFiles[0]!.text);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--js-flags=--expose-gc'] });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console.error: ${message.text()}`);
    });
    const devtools = await page.context().newCDPSession(page);
    await page.exposeFunction('__liveBytes', async () => ((await devtools.send('Runtime.getHeapUsage')) as { backingStorageSize: number }).backingStorageSize);
    await page.goto(server.url);
    await page.waitForFunction(() => '__protectBench' in window, null, { timeout: 30_000 });
    const load0 = loadavg()[0]!;
    const measurement = await page
      .evaluate((bytes) => (window as unknown as { __protectBench: (modelBytes: number) => Promise<ProtectMeasurement> }).__protectBench(bytes), MODEL_BYTES)
      .catch((error: unknown) => {
        throw new Error(`the page failed: ${String(error)}${problems.length > 0 ? `\n${problems.join('\n')}` : ''}`);
      });
    if (problems.length > 0) throw new Error(`the page reported problems:\n${problems.join('\n')}`);
    const machine = { ...machineOf(load0), chromium: browser.version() };
    reportProtect(
      'protect-browser',
      `headless Chromium ${machine.chromium}`,
      measurement,
      machine,
      'DevTools Runtime.getHeapUsage backingStorageSize after two forced collections, sampled at each piece the stream yields',
    );
    console.log(`${machine.cpu}, ${machine.cores} cores, load average ${machine.loadAverage.toFixed(1)}; ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await browser.close();
    await server.close();
  }
}
