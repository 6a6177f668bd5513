// The kernels and the worker pool in real headless Chromium (Debian's, via playwright-core).
// A fixture page (test/e2e/browser/) is built with Vite from the built package and served twice: with
// COOP/COEP (cross-origin isolated: the pool shares memory through SharedArrayBuffer) and without
// (the pool transfers per-part copies). The page runs the deterministic cases of
// test/e2e/browser/cases.ts, on plain inputs and on sharedFloat32Array copies (which, isolated, lie
// in shared wasm memory from 1 MiB on: the sync kernels and the workers read them in place); this
// file runs the same cases with the sync API in Node and compares.
// A second page (test/e2e/browser/secagg.html) runs secure-aggregation clients that take part, with
// clients in Node, in a round aggregated by a SecAggServer in this process; every message between
// page and Node crosses page.exposeFunction as JSON text of the wire format.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build, type InlineConfig, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as privkit from 'privkit';
import * as dp from 'privkit/dp';
import * as paillier from 'privkit/paillier';
import {
  SecAggServer,
  dequantize,
  detectKeyAgreement,
  inverseRandomizedHadamard,
  wordMask,
  type KeyAgreementCurve,
  type SecAggResult,
} from 'privkit/secagg';
import { Aggregator } from './browser/aggregator.js';
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
import { ROTATION_SEED, SECAGG, clientInput, clientUpdate, runClient, type ClientReport } from './browser/secagg-round.js';

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
  syncShared: Results;
  syncError: CapturedError;
  syncClipAndSumError: CapturedError;
  syncAfterError: string;
  randomness: Results;
  paillier: Results;
  poolThreads: number;
  pool: Results;
  poolShared: Results;
  poolError: CapturedError;
  poolClipAndSumError: CapturedError;
  poolAfterError: string;
  sharedInputIsShared: boolean;
  largeSharedInWasmMemory: boolean;
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
    build: {
      outDir,
      emptyOutDir: true,
      minify: false,
      reportCompressedSize: false,
      rolldownOptions: { input: { main: join(fixtureRoot, 'index.html'), secagg: join(fixtureRoot, 'secagg.html') } },
    },
  };
}

let browser: Browser | undefined;
const servers: PreviewServer[] = [];
let outDir: string | undefined;
const pages: Record<'isolated' | 'plain', Report> = {} as never;
let node: Results;
/** The page server without COOP/COEP (the secure-aggregation page needs no isolation). */
let plainUrl: string | undefined;

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
  plainUrl = plain.url;
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
    expect(report().largeSharedInWasmMemory).toBe(mode === 'isolated');
    expect(report().poolThreads).toBe(2);
    expect(report().problems).toEqual([]);
  });

  it.each(['sync', 'syncShared'] as const)('computes every sync kernel bit-identically to Node (%s: plain inputs, inputs on shared memory)', (run) => {
    const sync = report()[run];
    expect(Object.keys(sync).sort()).toEqual(Object.keys(node).sort());
    for (const key of Object.keys(node)) expectBitEqual(sync[key], node[key], key);
  });

  it.each(['pool', 'poolShared'] as const)('computes the same results through a 2-worker pool (row sums up to float32 rounding; %s)', (run) => {
    const pool = report()[run];
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


/** The page running the secure-aggregation clients, opened once; its exchange goes to the round in progress. */
let secaggPage: Promise<{ page: Page; problems: string[] }> | undefined;
let currentRound: Aggregator | undefined;

async function openSecAggPage(): Promise<{ page: Page; problems: string[] }> {
  const url = `${plainUrl!}secagg.html`;
  const { page, problems } = await openPage(browser!, url);
  await page.exposeFunction('__secaggExchange', (id: string, text: string | null) => {
    if (currentRound === undefined) throw new Error('no secure-aggregation round is running in Node');
    return currentRound.exchange(id, text);
  });
  try {
    await page.waitForFunction(() => window.__secagg !== undefined, null, { timeout: 30_000 });
  } catch (error) {
    throw new Error(`the secure-aggregation page at ${url} did not load: ${String(error)}\n${problems.join('\n')}`);
  }
  return { page, problems };
}

interface RoundOutcome {
  result: SecAggResult;
  browser: ClientReport[];
  node: ClientReport[];
  /** Messages and JSON bytes the server received from each client. */
  received: Map<string, { messages: number; bytes: number }>;
  problems: string[];
}

/** One round: SECAGG.browserClients in the page, the other clients here; `dropped` Node clients leave after ShareKeys. */
async function secaggRound(curve: KeyAgreementCurve, dropped: readonly string[] = []): Promise<RoundOutcome> {
  setUp();
  const { page, problems } = await (secaggPage ??= openSecAggPage());
  const { clients, browserClients, bits, length, threshold } = SECAGG;
  const round = new Aggregator(new SecAggServer({ clients, bits, length, threshold, curve }), clients);
  currentRound = round;
  try {
    const inNode = clients.filter((id) => !(browserClients as readonly string[]).includes(id));
    const [browser, node, result] = await Promise.all([
      page.evaluate((ids) => window.__secagg!.run(ids), [...browserClients]),
      Promise.all(
        inNode.map((id) =>
          runClient(id, (from, text) => round.exchange(from, text), {
            dropBeforeMaskedInput: dropped.includes(id),
            leave: (from) => round.leave(from),
          }),
        ),
      ),
      round.result,
    ]);
    return { result, browser, node, received: round.received, problems };
  } finally {
    round.dispose();
    currentRound = undefined;
  }
}

/** The sum mod 2^bits of the included clients' quantized inputs, recomputed in Node. */
function expectedSum(included: readonly string[]): Uint32Array {
  const sum = new Uint32Array(SECAGG.length);
  for (const id of included) {
    const input = clientInput(id);
    for (let j = 0; j < sum.length; j++) sum[j] += input[j]!;
  }
  return sum.map((v) => v & wordMask(SECAGG.bits));
}

function expectSum(actual: Uint32Array, expected: Uint32Array): void {
  expect(actual.length).toBe(expected.length);
  const first = actual.findIndex((v, j) => v !== expected[j]);
  if (first >= 0) expect.fail(`sum[${first}] = ${actual[first]}, expected ${expected[first]}`);
}

/**
 * The dequantized, inverse-rotated sum is the sum of the float updates: stochastic rounding moves each
 * rotated coordinate of each client by < 1/scale, so the L2 error is < n sqrt(d) / scale (the rotation
 * is orthogonal), plus float32 rounding.
 */
function expectFloatSum(sum: Uint32Array, included: readonly string[]): void {
  const recovered = inverseRandomizedHadamard(dequantize(sum, SECAGG), ROTATION_SEED, SECAGG.updateLength);
  const exact = new Float64Array(SECAGG.updateLength);
  for (const id of included) clientUpdate(id).forEach((v, j) => (exact[j] += v));
  const error = Math.hypot(...exact.map((v, j) => v - recovered[j]!));
  expect(error).toBeLessThan((included.length * Math.sqrt(SECAGG.length)) / SECAGG.scale + 1e-4);
  expect(Math.hypot(...exact)).toBeGreaterThan(1); // not trivially zero
}

/** Checks shared by both rounds: curve, the page's inputs are Node's bit for bit, the message flow. */
function expectClients(outcome: RoundOutcome, curve: KeyAgreementCurve, survivors: readonly string[], dropped: readonly string[]): void {
  expect(outcome.problems).toEqual([]);
  expect(outcome.browser.map((r) => r.id)).toEqual(SECAGG.browserClients);
  for (const report of [...outcome.browser, ...outcome.node]) {
    expect(report.curve, report.id).toBe(curve);
    expect(report.dropped, report.id).toBe(dropped.includes(report.id));
    expect(outcome.received.get(report.id)?.messages, `messages from ${report.id}`).toBe(report.dropped ? 2 : 5);
  }
  for (const report of outcome.browser) {
    // quantize (seeded ChaCha20 in wasm) is bit-identical in Chromium and Node.
    expect(report.input, `${report.id}: quantized input`).toEqual(Array.from(clientInput(report.id)));
    expect(report.received).toEqual(['setup', 'public-keys', 'encrypted-shares', 'consistency-check', 'unmask-request']);
    expect(report.unmaskRequest).toEqual({ survivors, dropped });
    expect(report.revealed).toEqual({ selfMaskShares: survivors.length, keyShares: dropped.length });
  }
}

describe('secure aggregation: 2 clients in headless Chromium, 3 in Node, the server in Node', () => {
  /** X25519 where both runtimes' WebCrypto have it (Node 20 does; Chromium since 133), else P-256. */
  async function sharedCurve(): Promise<KeyAgreementCurve> {
    setUp();
    const { page } = await (secaggPage ??= openSecAggPage());
    const inPage = await page.evaluate(() => window.__secagg!.detectKeyAgreement());
    expect(['X25519', 'P-256']).toContain(inPage);
    return inPage === 'X25519' && (await detectKeyAgreement()) === 'X25519' ? 'X25519' : 'P-256';
  }

  describe.each([
    ['the curve both detect', sharedCurve],
    ['P-256 (the fallback)', async () => 'P-256' as const],
  ])('key agreement: %s', (_, pickCurve) => {
    it('sums every client: the server gets exactly the Node-computed modular sum of all quantized inputs', async () => {
      const curve = await pickCurve();
      const outcome = await secaggRound(curve);
      const all = [...SECAGG.clients];
      expectClients(outcome, curve, all, []);
      expect(outcome.result.included).toEqual(all);
      expect(outcome.result.dropped).toEqual([]);
      expectSum(outcome.result.sum, expectedSum(all));
      expectFloatSum(outcome.result.sum, all);
    });

    it('recovers from a Node client dropping after ShareKeys: the Chromium clients reveal its key share, the sum is the survivors\'', async () => {
      const curve = await pickCurve();
      const outcome = await secaggRound(curve, ['client-2']);
      const survivors = SECAGG.clients.filter((id) => id !== 'client-2');
      expectClients(outcome, curve, survivors, ['client-2']);
      expect(outcome.result.included).toEqual(survivors);
      expect(outcome.result.dropped).toEqual(['client-2']);
      expectSum(outcome.result.sum, expectedSum(survivors));
      expectFloatSum(outcome.result.sum, survivors);
    });
  });
});
