// The pool's start-up failures and cancellation in real headless Chromium (issue 13): a worker URL
// that 404s and a cross-origin one make createPool reject with E_WORKER within 10 s, naming the URL,
// with no respawn storm (the 404 is requested once per thread); an aborted call rejects with
// E_ABORTED and the pool keeps serving. The fixture page (test/e2e/pool-startup/) is built with Vite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build, type InlineConfig, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, privkitAliases, requirePrerequisites, startPreview } from './browser/harness.js';
import type { StartupReport } from './pool-startup/main.js';

const fixtureRoot = fileURLToPath(new URL('./pool-startup/', import.meta.url));
const config = (outDir: string): InlineConfig => ({
  configFile: false,
  root: fixtureRoot,
  logLevel: 'warn',
  resolve: { alias: privkitAliases },
  worker: { format: 'es' },
  build: { outDir, emptyOutDir: true, minify: false, reportCompressedSize: false },
});

let browser: Browser | undefined;
let server: PreviewServer | undefined;
let outDir: string | undefined;
let report: StartupReport;
/** Requests for the missing worker script, counted until a second after the page finished. */
let missingRequests = 0;
let setupError: unknown;

beforeAll(async () => {
  try {
    requirePrerequisites();
    outDir = mkdtempSync(join(tmpdir(), 'privkit-startup-'));
    await build(config(outDir));
    const preview = await startPreview(config(outDir), {});
    server = preview.server;
    browser = await launchChromium();
    const page = await browser.newPage();
    page.on('request', (request) => {
      if (request.url().endsWith('/no-such-worker.js')) missingRequests++;
    });
    await page.goto(preview.url);
    await page.waitForFunction(() => window.__startup !== undefined, null, { timeout: 45_000 });
    report = (await page.evaluate(() => window.__startup)) as StartupReport;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // time for a respawn storm to show
    await page.close();
    if (report.fatal !== undefined) throw new Error(`the fixture page failed: ${report.fatal}`);
  } catch (error) {
    setupError = error;
  }
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

describe('pool start-up and cancellation in Chromium', () => {
  it('a worker URL that 404s: E_WORKER within 10 s naming the URL, requested once per thread', () => {
    if (setupError !== undefined) throw setupError;
    expect(report.missing.code).toBe('E_WORKER');
    expect(report.missing.name).toBe('PrivkitError');
    expect(report.missing.message).toContain('/no-such-worker.js');
    expect(report.missing.message).toContain('failed to load');
    expect(report.missing.ms).toBeLessThan(10_000);
    expect(missingRequests).toBeGreaterThanOrEqual(1);
    expect(missingRequests).toBeLessThanOrEqual(2);
  });

  it('a cross-origin worker URL: E_WORKER naming the URL and the SecurityError, not a raw error', () => {
    if (setupError !== undefined) throw setupError;
    expect(report.crossOrigin.code).toBe('E_WORKER');
    expect(report.crossOrigin.message).toContain('https://example.invalid/worker.js');
    expect(report.crossOrigin.message).toContain('SecurityError');
    expect(report.crossOrigin.ms).toBeLessThan(10_000);
  });

  it('an aborted call rejects at once with E_ABORTED (cause: the reason) and the pool keeps serving', () => {
    if (setupError !== undefined) throw setupError;
    expect(report.aborted.code).toBe('E_ABORTED');
    expect(report.aborted.causeIsReason).toBe(true);
    expect(report.aborted.ms).toBeLessThan(200);
    expect(report.afterAbort).toEqual([4, 6]);
  });
});
