// privkit/tfjs in real headless Chromium (Debian's, via playwright-core): the fixture page
// (test/e2e/browser-tfjs/) is built with Vite from the built package, the tfjs wasm backend's .wasm
// files bundled as assets, and trains a Dense model with makePrivate on the cpu, wasm and webgl
// backends (WebGL rendered by SwiftShader: no GPU here). On each backend it first checks the
// backend assumption of the privacy argument (src/tfjs/noised-sum.ts, step 1): an example's ghost
// norm and clipped contribution are the same bit for bit alone and in batches of other sizes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build, type InlineConfig, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openPage, privkitAliases, requirePrerequisites, startPreview } from './browser/harness.js';
import type { BackendReport } from './browser-tfjs/main.js';

const fixtureRoot = fileURLToPath(new URL('./browser-tfjs/', import.meta.url));

function fixtureConfig(outDir: string): InlineConfig {
  return {
    configFile: false,
    root: fixtureRoot,
    logLevel: 'warn',
    resolve: { alias: privkitAliases },
    build: { outDir, emptyOutDir: true, minify: false, reportCompressedSize: false, chunkSizeWarningLimit: 10_000 },
  };
}

let browser: Browser | undefined;
let server: PreviewServer | undefined;
let outDir: string | undefined;
let reports: BackendReport[] = [];
/** A failed setup is rethrown by every test, so each one fails rather than skips. */
let setupError: unknown;

beforeAll(async () => {
  try {
    requirePrerequisites();
    outDir = mkdtempSync(join(tmpdir(), 'privkit-tfjs-browser-'));
    await build(fixtureConfig(outDir));
    const preview = await startPreview(fixtureConfig(outDir), {});
    server = preview.server;
    browser = await launchChromium({ webgl: true });
    const { page, problems } = await openPage(browser, preview.url);
    try {
      await page.waitForFunction(() => window.__tfjs !== undefined, null, { timeout: 90_000 });
    } catch (error) {
      throw new Error(`the page did not finish: ${String(error)}\n${problems.join('\n')}`);
    }
    const result = (await page.evaluate(() => window.__tfjs))!;
    if ('fatal' in result) throw new Error(`the page failed: ${result.fatal}\n${problems.join('\n')}`);
    expect(problems).toEqual([]);
    reports = result.reports;
  } catch (error) {
    setupError = error;
  }
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

describe('privkit/tfjs in Chromium', () => {
  for (const backend of ['cpu', 'wasm', 'webgl']) {
    it(`makePrivate trains on the ${backend} backend to >= 85% at epsilon <= 3, each example's contribution independent of the batch`, () => {
      if (setupError !== undefined) throw setupError;
      const report = reports.find((r) => r.requested === backend)!;
      // webgl: tfjs computes in float16 textures when the device can not render to float32 ones (WEBGL_RENDER_FLOAT32_ENABLED false)
      const floats = report.webgl === undefined ? '' : `, WebGL ${report.webgl.version} on ${report.webgl.renderer}: ${report.webgl.renderFloat32 ? 'float32' : 'FLOAT16'} textures, float read-back ${report.webgl.downloadFloat}, packed ${report.webgl.pack}`;
      console.log(`Chromium, tfjs ${report.backend}: accuracy ${(100 * report.accuracy).toFixed(1)}% at epsilon ${report.epsilon.toFixed(2)} (${report.steps} steps, noise multiplier ${report.noiseMultiplier.toFixed(3)}); ${report.rowComparisons} rows compared alone vs in a batch${floats}; row check ${report.rowsMs.toFixed(0)} ms, training ${report.trainMs.toFixed(0)} ms`);
      expect(report.backend).toBe(backend);
      expect(report.rowComparisons).toBe(26);
      expect(report.rowMismatches).toEqual([]);
      expect(report.steps).toBe(50);
      expect(report.epsilon).toBeLessThanOrEqual(3);
      expect(report.epsilon).toBeGreaterThan(2.9);
      expect(report.accuracy).toBeGreaterThanOrEqual(0.85);
      if (backend === 'webgl') {
        expect(report.webgl?.renderer).toMatch(/SwiftShader/);
        // the accuracy floor assumes float32 arithmetic; privacy does not (per-example.ts re-checks each contribution's norm in float64 on the values read back)
        expect(report.webgl?.renderFloat32).toBe(true);
        expect(report.webgl?.downloadFloat).toBe(true);
        expect(report.webgl?.float16Refused).toBe(true);
      }
    });
  }
});
