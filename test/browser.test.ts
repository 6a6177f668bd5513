// The kernels and the worker pool in real headless Chromium (Debian's, via playwright-core).
// A fixture page (test/browser/) is built with Vite from the built package and served twice: with
// COOP/COEP (cross-origin isolated: the pool shares memory through SharedArrayBuffer) and without
// (the pool transfers per-part copies). The page runs the deterministic cases of
// test/browser/cases.ts; this file runs the same cases with the sync API in Node and compares.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build, type InlineConfig, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as privkit from 'privkit';
import * as dp from 'privkit/dp';
import * as paillier from 'privkit/paillier';
import {
  CASES,
  caseInput,
  decodeF32,
  inputWithNaN,
  isRowSum,
  NAN_CASE,
  NAN_INDEX,
  runKernels,
  runPaillier,
  runRandomness,
  type KernelApi,
  type Results,
} from './browser/cases.js';
import { COI_HEADERS, launchChromium, openPage, privkitAliases, requirePrerequisites, startPreview } from './browser/harness.js';

interface CapturedError {
  thrown: boolean;
  isPrivkitError?: boolean;
  name?: string;
  code?: string;
  argument?: string;
  index?: number;
  message?: string;
}

interface Report {
  crossOriginIsolated: boolean;
  hasSharedArrayBuffer: boolean;
  sync: Results;
  syncError: CapturedError;
  syncClipAndSumError: CapturedError;
  syncAfterError: string;
  randomness: Results;
  paillier: Results;
  poolThreads: number;
  pool: Results;
  poolError: CapturedError;
  poolClipAndSumError: CapturedError;
  poolAfterError: string;
  sharedInputIsShared: boolean;
  poolInPlaceReturnsInput: boolean;
  poolInPlace: string;
  poolNoise: {
    gaussianType: string;
    gaussianLength: number;
    gaussianVariance: number;
    halvesDiffer: boolean;
    addReturnsInput: boolean;
    addVariance: number;
    nanError: CapturedError;
  };
  poolClosedError: CapturedError;
  /** Console errors, uncaught errors and failed requests seen while the page ran. */
  problems: string[];
}

const fixtureRoot = fileURLToPath(new URL('./browser/', import.meta.url));

function fixtureConfig(outDir: string): InlineConfig {
  return {
    configFile: false,
    root: fixtureRoot,
    logLevel: 'warn',
    resolve: { alias: privkitAliases },
    worker: { format: 'es' },
    build: { outDir, emptyOutDir: true, minify: false, reportCompressedSize: false },
  };
}

let browser: Browser | undefined;
const servers: PreviewServer[] = [];
let outDir: string | undefined;
const pages: Record<'isolated' | 'plain', Report> = {} as never;
let node: Results;

async function runFixture(url: string): Promise<Report> {
  const { page, problems } = await openPage(browser!, url);
  try {
    await page.waitForFunction(() => window.__results !== undefined, null, { timeout: 45_000 });
  } catch (error) {
    throw new Error(`the fixture page at ${url} did not finish: ${String(error)}\n${problems.join('\n')}`);
  }
  const report = (await page.evaluate(() => window.__results)) as unknown as Report & { fatal?: string };
  await page.close();
  if (report.fatal !== undefined) throw new Error(`the fixture page at ${url} failed: ${report.fatal}\n${problems.join('\n')}`);
  return { ...report, problems };
}

/** A failed setup (no Chromium, no dist/, a build error) is rethrown by every test, so each one fails rather than skips. */
let setupError: unknown;

function setUp(): void {
  if (setupError !== undefined) throw setupError;
}

beforeAll(async () => {
  try {
    await start();
  } catch (error) {
    setupError = error;
  }
});

async function start(): Promise<void> {
  requirePrerequisites();
  outDir = mkdtempSync(join(tmpdir(), 'privkit-browser-'));
  await build(fixtureConfig(outDir));
  const isolated = await startPreview(fixtureConfig(outDir), COI_HEADERS);
  servers.push(isolated.server);
  const plain = await startPreview(fixtureConfig(outDir), {});
  servers.push(plain.server);
  browser = await launchChromium();
  [pages.isolated, pages.plain] = await Promise.all([runFixture(isolated.url), runFixture(plain.url)]);
  await privkit.ready();
  node = await runKernels(privkit as unknown as KernelApi);
}

afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((server) => server.close()));
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

/** Bit-exact comparison of two encoded float32 arrays, reporting the first differing element. */
function expectBitEqual(actual: string | number | undefined, expected: string | number | undefined, key: string): void {
  if (typeof expected === 'number' || typeof actual === 'number') {
    expect(actual, key).toBe(expected);
    return;
  }
  expect(typeof actual, `${key} is missing`).toBe('string');
  if (actual === expected) return;
  const a = decodeF32(actual!);
  const b = decodeF32(expected!);
  expect(a.length, `${key}: length`).toBe(b.length);
  const bitsA = new Uint32Array(a.buffer);
  const bitsB = new Uint32Array(b.buffer);
  const i = bitsA.findIndex((bits, j) => bits !== bitsB[j]);
  expect.fail(`${key}: element ${i} is ${a[i]} in the browser but ${b[i]} in Node`);
}

/**
 * Bound on |pool - sync| for a row sum sum_r w_r x_rj: both accumulate in float32, in different
 * orders, so each is within about (rows + 1) u sum_r |w_r x_rj| of the exact sum (u = 2^-24).
 */
function rowSumTolerance(key: string): Float64Array {
  const [caseName, name] = key.split('/') as [string, string];
  const c = CASES.find((k) => k.name === caseName)!;
  const input = caseInput(c);
  const total = input.weights.reduce((a, b) => a + b, 0);
  const terms: Record<string, [Float32Array, (r: number) => number]> = {
    sum: [input.x, () => 1],
    mean: [input.x, () => 1 / c.rows],
    weightedMean: [input.x, (r) => input.weights[r]! / total],
    'clipAndSum.sum': [decodeF32(node[`${caseName}/clipByL2`] as string), () => 1],
    'clipAndSumLayers.sum': [decodeF32(node[`${caseName}/clipPerLayer`] as string), () => 1],
  };
  const [x, weight] = terms[name]!;
  const bound = new Float64Array(c.cols);
  for (let r = 0; r < c.rows; r++) {
    const w = Math.abs(weight(r));
    for (let j = 0; j < c.cols; j++) bound[j] += w * Math.abs(x[r * c.cols + j]!);
  }
  return bound.map((s) => (c.rows + 2) * 2 ** -23 * s + 1e-30);
}

function expectClose(actual: string | number | undefined, expected: string | number | undefined, key: string): number {
  expect(typeof actual, `${key} is missing`).toBe('string');
  const a = decodeF32(actual as string);
  const b = decodeF32(expected as string);
  expect(a.length, `${key}: length`).toBe(b.length);
  const tolerance = rowSumTolerance(key);
  let worst = 0;
  for (let j = 0; j < a.length; j++) {
    const diff = Math.abs(a[j]! - b[j]!);
    if (!(diff <= tolerance[j]!)) expect.fail(`${key}: element ${j} is ${a[j]} from the pool but ${b[j]} from sync Node (tolerance ${tolerance[j]})`);
    worst = Math.max(worst, diff / tolerance[j]!);
  }
  return worst;
}

describe('the test inputs', () => {
  it('clip some rows and leave others alone', () => {
    setUp();
    for (const c of CASES) {
      const clipped = node[`${c.name}/clipAndSum.clippedCount`] as number;
      expect(clipped, c.name).toBeGreaterThan(0);
      expect(clipped, c.name).toBeLessThan(c.rows);
    }
  });
});

describe.each(['isolated', 'plain'] as const)('headless Chromium, %s page', (mode) => {
  const report = () => {
    setUp();
    return pages[mode];
  };

  it(mode === 'isolated' ? 'is cross-origin isolated, so the pool uses SharedArrayBuffer' : 'is not isolated, so the pool transfers copies', () => {
    expect(report().crossOriginIsolated).toBe(mode === 'isolated');
    expect(report().hasSharedArrayBuffer).toBe(mode === 'isolated');
    expect(report().sharedInputIsShared).toBe(mode === 'isolated');
    expect(report().poolThreads).toBe(2);
    expect(report().problems).toEqual([]);
  });

  it('computes every sync kernel bit-identically to Node', () => {
    const { sync } = report();
    expect(Object.keys(sync).sort()).toEqual(Object.keys(node).sort());
    for (const key of Object.keys(node)) expectBitEqual(sync[key], node[key], key);
  });

  it('computes the same results through a 2-worker pool (row sums up to float32 rounding)', () => {
    const { pool } = report();
    expect(Object.keys(pool).sort()).toEqual(Object.keys(node).sort());
    for (const key of Object.keys(node)) {
      if (isRowSum(key)) expectClose(pool[key], node[key], key);
      else expectBitEqual(pool[key], node[key], key);
    }
    expectBitEqual(report().poolInPlace, node[`${NAN_CASE.name}/clipByL2`], 'pool clipByL2 in place on a shared input');
    expect(report().poolInPlaceReturnsInput).toBe(true);
  });

  it('rejects a NaN input with PrivkitError E_NONFINITE naming its index, sync and pooled, and keeps working', () => {
    let nodeError: unknown;
    try {
      privkit.l2Norms(inputWithNaN(), NAN_CASE.rows);
    } catch (error) {
      nodeError = error;
    }
    expect(nodeError).toBeInstanceOf(privkit.PrivkitError);
    const expected = {
      thrown: true,
      isPrivkitError: true,
      name: 'PrivkitError',
      code: 'E_NONFINITE',
      argument: 'x',
      index: NAN_INDEX,
      message: (nodeError as Error).message,
    };
    expect(expected.message).toContain(`x[${NAN_INDEX}] is NaN`);
    const r = report();
    // The pool splits rows over 2 workers; the NaN is in the second part, so its index must be shifted back.
    expect(NAN_INDEX).toBeGreaterThan(Math.ceil(NAN_CASE.rows / 2) * NAN_CASE.cols);
    for (const captured of [r.syncError, r.syncClipAndSumError, r.poolError, r.poolClipAndSumError]) {
      expect(captured).toEqual(expected);
    }
    expectBitEqual(r.syncAfterError, node[`${NAN_CASE.name}/l2Norms`], 'sync l2Norms after the error');
    expectBitEqual(r.poolAfterError, node[`${NAN_CASE.name}/l2Norms`], 'pool l2Norms after the error');
  });

  it('produces the same seeded ChaCha20 stream, uniforms and noise of every sampler as Node', () => {
    expect(report().randomness).toEqual(runRandomness(dp));
  });

  it('samples noise through the pool (per-worker CSPRNGs; wide bounds, 10+ standard deviations)', () => {
    const r = report().poolNoise;
    expect(r).toMatchObject({ gaussianType: 'Float32Array', gaussianLength: 100_000, halvesDiffer: true, addReturnsInput: true });
    expect(Math.abs(r.gaussianVariance / 4 - 1)).toBeLessThan(0.05);
    expect(Math.abs(r.addVariance / 2 - 1)).toBeLessThan(0.07);
    expect(r.nanError).toMatchObject({ thrown: true, isPrivkitError: true, code: 'E_NONFINITE', argument: 'x', index: 873 });
  });

  it('generates the same seeded Paillier keys and ciphertexts as Node, and decrypts sums and packed vectors', async () => {
    const expected = await runPaillier(paillier, dp);
    expect(expected.plaintext).toBe(String(123456789n + 987654321n));
    expect(expected.product).toBe(String(7n * 123456789n));
    const vector = Buffer.from(expected.vector as string, 'base64');
    expect(Array.from(new Float64Array(vector.buffer, vector.byteOffset, vector.length / 8))).toEqual([0.75, -0.25, 2, -1.5]);
    expect(report().paillier).toEqual(expected);
  });

  it('rejects calls on a closed pool with E_WORKER', () => {
    expect(report().poolClosedError).toMatchObject({ thrown: true, isPrivkitError: true, code: 'E_WORKER' });
  });
});

