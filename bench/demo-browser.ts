// Browser suites of `npm run bench` built on the demo page: the demo (demo/, `vite build` with its
// own config into a temporary directory) is served cross-origin isolated by `vite preview` on an
// ephemeral 127.0.0.1 port and opened in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core) with `?bench=full&only=<families>`: the demo's benchmark worker times each
// family's rows, checks every row's output, and the suite prints the page's own Markdown tables and
// writes them to bench/results/<suite>.json. A suite for another family is one line in run.ts.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';

const CHROMIUM = '/usr/bin/chromium';
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
/** A full run of one family takes seconds to a minute or two on this machine. */
const TIMEOUT_MS = 10 * 60_000;

/** Runs the demo's full benchmark of `families` in Chromium; prints and saves the tables as `suite`. */
export async function demoBrowserSuite(suite: string, families: readonly string[]): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`the ${suite} suite needs Debian's Chromium at ${CHROMIUM} (apt-get install -y --no-install-recommends chromium)`);
  if (!existsSync(join(repoRoot, 'dist/src/index.js'))) throw new Error('the demo imports the built package: run `npm run build` first');
  const configFile = join(repoRoot, 'demo/vite.config.ts');
  const outDir = mkdtempSync(join(tmpdir(), 'privkit-bench-demo-'));
  const load0 = loadavg()[0]!;
  try {
    await build({ configFile, logLevel: 'error', build: { outDir, emptyOutDir: true } });
    const server = await preview({ configFile, logLevel: 'error', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false } });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      const address = server.httpServer.address();
      if (address === null || typeof address === 'string') throw new Error('the preview server has no TCP address');
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      await page.goto(`http://127.0.0.1:${address.port}/?bench=full&only=${families.join(',')}`);
      await page.waitForSelector('body[data-status="done"], body[data-status="error"]', { timeout: TIMEOUT_MS });
      const status = await page.textContent('#status');
      if ((await page.getAttribute('body', 'data-status')) !== 'done') throw new Error(`the demo failed: ${status}\n${problems.join('\n')}`);
      const markdown = await page.inputValue('#markdown');
      if (/DIFFER|WRONG|NaN/.test(markdown)) throw new Error(`a row's check failed:\n${markdown}`);
      console.log(`\n${markdown}`);
      const machine = { cpu: cpus()[0]?.model, cores: cpus().length, platform: `${platform()} ${release()}`, chromium: browser.version(), loadAverage: load0 };
      const file = join(repoRoot, `bench/results/${suite}.json`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, families, status, markdown }, null, 2) + '\n');
    } finally {
      await browser.close();
      await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
