// End-to-end test of the benchmark demo (demo/): `vite build` with the demo's own config, served by
// `vite preview` (whose COOP/COEP headers come from that config), opened with ?autorun in
// headless Chromium. Also opens it on the dev server that `npm run demo` starts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build, createServer, type PreviewServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPLS, KERNELS } from '../demo/src/protocol.js';
import { COI_HEADERS, launchChromium, openPage, repoRoot, requirePrerequisites, startPreview } from './browser/harness.js';

const configFile = join(repoRoot, 'demo/vite.config.ts');
/** A small matrix keeps the run to a few seconds; the default size is what visitors get. */
const SIZE = '16x4096';

let browser: Browser | undefined;
let previewServer: PreviewServer | undefined;
let devServer: ViteDevServer | undefined;
let outDir: string | undefined;

/** A failed setup (no Chromium, no dist/, a build error) is rethrown by every test, so each one fails rather than skips. */
let setupError: unknown;

function setUp(): void {
  if (setupError !== undefined) throw setupError;
}

beforeAll(async () => {
  try {
    requirePrerequisites();
    outDir = mkdtempSync(join(tmpdir(), 'privkit-demo-'));
    await build({ configFile, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    browser = await launchChromium();
  } catch (error) {
    setupError = error;
  }
});

afterAll(async () => {
  await browser?.close();
  await previewServer?.close();
  await devServer?.close();
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

interface TableRow {
  kernel: string;
  impl: string;
  cells: Record<string, string>;
}

/** Opens the demo with ?autorun and waits until the run has finished (or failed). */
async function autorun(url: string): Promise<{ page: Page; problems: string[]; headers: Record<string, string> }> {
  const { page, problems } = await openPage(browser!, 'about:blank');
  const response = await page.goto(`${url}?autorun&size=${SIZE}`);
  const headers = response?.headers() ?? {};
  try {
    await page.waitForSelector('body[data-status="done"], body[data-status="error"]', { timeout: 40_000 });
  } catch (error) {
    const status = await page.textContent('#status').catch(() => '?');
    throw new Error(`the demo did not finish (status: ${status}): ${String(error)}\n${problems.join('\n')}`);
  }
  const status = await page.getAttribute('body', 'data-status');
  if (status !== 'done') {
    throw new Error(`the demo run failed: ${await page.textContent('#status')}\n${problems.join('\n')}`);
  }
  return { page, problems, headers };
}

async function readTable(page: Page): Promise<TableRow[]> {
  return page.$$eval('#results tbody tr', (trs) =>
    trs.map((tr) => ({
      kernel: (tr as HTMLElement).dataset.kernel ?? '',
      impl: (tr as HTMLElement).dataset.impl ?? '',
      cells: Object.fromEntries(
        [...tr.querySelectorAll('td')].map((td) => [(td as HTMLElement).dataset.field ?? '', td.textContent ?? '']),
      ),
    })),
  );
}

/** The checks of a finished run: isolation, a numeric row per kernel and implementation, and the chart. */
async function expectCompleteRun(page: Page, problems: string[]): Promise<void> {
  expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
  expect(await page.textContent('#isolation')).toBe('yes');

  const rows = await readTable(page);
  expect(rows.map((r) => `${r.kernel}/${r.impl}`).sort()).toEqual(KERNELS.flatMap((k) => IMPLS.map((i) => `${k}/${i}`)).sort());
  for (const row of rows) {
    const where = `${row.kernel}/${row.impl}`;
    for (const field of ['medianMs', 'minMs', 'gbPerS']) {
      const value = Number(row.cells[field]);
      expect(Number.isFinite(value) && value > 0, `${where} ${field} = "${row.cells[field]}"`).toBe(true);
    }
    expect(Number(row.cells.minMs), where).toBeLessThanOrEqual(Number(row.cells.medianMs));
    expect(row.cells.speedup, where).toMatch(/^\d+(\.\d)?x$/);
    if (row.impl === 'wasm' || row.impl === 'pool') {
      // The demo checks every result against the JS reference: only float32 rounding may differ.
      const diff = Number(row.cells.maxRelDiff);
      expect(Number.isFinite(diff) && diff < 1e-5, `${where} maxRelDiff = "${row.cells.maxRelDiff}"`).toBe(true);
    } else {
      expect(row.cells.maxRelDiff, where).toBe('');
    }
  }

  const bars = await page.$$eval('svg#chart rect.bar', (rects) =>
    rects.map((r) => `${r.getAttribute('data-kernel')}/${r.getAttribute('data-impl')}:${Number(r.getAttribute('width')) > 0}`),
  );
  expect(bars.sort()).toEqual(KERNELS.flatMap((k) => IMPLS.map((i) => `${k}/${i}:true`)).sort());
  expect(problems).toEqual([]);
}

describe('the benchmark demo', () => {
  it('builds, is served cross-origin isolated by vite preview, and autoruns every kernel', async () => {
    setUp();
    const started = await startPreview({ configFile, build: { outDir } });
    previewServer = started.server;
    const { page, problems, headers } = await autorun(started.url);
    expect(headers['cross-origin-opener-policy']).toBe(COI_HEADERS['Cross-Origin-Opener-Policy']);
    expect(headers['cross-origin-embedder-policy']).toBe(COI_HEADERS['Cross-Origin-Embedder-Policy']);
    await expectCompleteRun(page, problems);
    await page.close();
  });

  it('runs on the dev server of `npm run demo` too', async () => {
    setUp();
    devServer = await createServer({
      configFile,
      logLevel: 'warn',
      server: { host: '127.0.0.1', port: 0, strictPort: true, open: false, hmr: false },
    });
    await devServer.listen();
    const address = devServer.httpServer!.address();
    if (address === null || typeof address === 'string') throw new Error('dev server has no TCP address');
    const { page, problems, headers } = await autorun(`http://127.0.0.1:${address.port}/`);
    expect(headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(headers['cross-origin-embedder-policy']).toBe('require-corp');
    await expectCompleteRun(page, problems);
    await page.close();
  });
});
