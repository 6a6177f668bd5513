// Browser fixture for test/e2e/browser.test.ts: runs every sync kernel and the same operations through
// a 2-worker pool on the shared deterministic cases, checks error behaviour, and leaves a plain
// JSON-able report on window.__results for the Node side to compare.
import * as privkit from 'privkit';
import * as dp from 'privkit/dp';
import * as paillier from 'privkit/paillier';
import { createPool, sharedFloat32Array, type Pool } from 'privkit/pool';
import { caseInput, encodeF32, inputWithNaN, MAX_NORM, NAN_CASE, runKernels, runPaillier, runRandomness, type KernelApi } from './cases.js';

export interface CapturedError {
  thrown: boolean;
  isPrivkitError?: boolean;
  name?: string;
  code?: string;
  argument?: string;
  index?: number;
  message?: string;
}

declare global {
  interface Window {
    __results?: Record<string, unknown>;
  }
}

function describeError(error: unknown): CapturedError {
  const e = error as { name?: string; code?: string; argument?: string; index?: number; message?: string };
  return {
    thrown: true,
    isPrivkitError: error instanceof privkit.PrivkitError,
    name: e?.name,
    code: e?.code,
    argument: e?.argument,
    index: e?.index,
    message: e?.message,
  };
}

async function capture(run: () => unknown): Promise<CapturedError> {
  try {
    await run();
    return { thrown: false };
  } catch (error) {
    return describeError(error);
  }
}

function variance(x: ArrayLike<number>): number {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < x.length; i++) {
    sum += x[i]!;
    squares += x[i]! ** 2;
  }
  return squares / x.length - (sum / x.length) ** 2;
}

/** The pooled noise samplers (per-worker CSPRNGs): type, length and variance of the output, in place, a NaN's index. */
async function runPoolNoise(pool: Pool): Promise<Record<string, unknown>> {
  const n = 100_000;
  const fresh = await pool.gaussianNoise(n, 2, { dtype: 'float32' });
  const x = new Float64Array(n).fill(1);
  const added = await pool.addLaplaceNoise(x, 1);
  const bad = new Float32Array(1000);
  bad[873] = Number.NaN;
  return {
    gaussianType: fresh.constructor.name,
    gaussianLength: fresh.length,
    gaussianVariance: variance(fresh),
    halvesDiffer: fresh.subarray(0, n / 2).some((v, i) => v !== fresh[n / 2 + i]),
    addReturnsInput: added === x,
    addVariance: variance(x),
    nanError: await capture(() => pool.addGaussianNoise(bad, 1)),
  };
}

/** A copy of x made by sharedFloat32Array. */
function onSharedMemory(x: Float32Array): Float32Array {
  const shared = sharedFloat32Array(x.length);
  shared.set(x);
  return shared;
}

async function main(): Promise<Record<string, unknown>> {
  const report: Record<string, unknown> = {
    crossOriginIsolated: self.crossOriginIsolated,
    hasSharedArrayBuffer: typeof SharedArrayBuffer === 'function',
    hardwareConcurrency: navigator.hardwareConcurrency,
  };
  const { rows } = NAN_CASE;
  const clean = caseInput(NAN_CASE).x;

  await privkit.ready();
  report.sync = await runKernels(privkit as unknown as KernelApi);
  // on shared memory: inputs of 1 MiB and more lie in shared wasm memory where the page is isolated, read in place
  report.syncShared = await runKernels(privkit as unknown as KernelApi, onSharedMemory);
  report.syncError = await capture(() => privkit.l2Norms(inputWithNaN(), rows));
  report.syncClipAndSumError = await capture(() => privkit.clipAndSum(inputWithNaN(), rows, MAX_NORM));
  report.syncAfterError = encodeF32(privkit.l2Norms(clean, rows));
  report.randomness = runRandomness(dp);
  report.paillier = await runPaillier(paillier, dp);

  const pool = await createPool({ threads: 2 });
  try {
    report.poolThreads = pool.threads;
    report.pool = await runKernels(pool as unknown as KernelApi);
    report.poolShared = await runKernels(pool as unknown as KernelApi, onSharedMemory);
    report.poolError = await capture(() => pool.l2Norms(inputWithNaN(), rows));
    report.poolClipAndSumError = await capture(() => pool.clipAndSum(inputWithNaN(), rows, MAX_NORM));
    report.poolAfterError = encodeF32(await pool.l2Norms(clean, rows));
    // Zero-copy path: an input already on shared memory, clipped in place by the workers.
    const shared = sharedFloat32Array(clean.length);
    shared.set(clean);
    report.sharedInputIsShared = typeof SharedArrayBuffer === 'function' && shared.buffer instanceof SharedArrayBuffer;
    // a shared array of 1 MiB lies in a wasm memory of its own: after the memory's header, pages long
    const large = sharedFloat32Array(1 << 18);
    report.largeSharedInWasmMemory = large.byteOffset > 0 && large.buffer.byteLength % 65536 === 0;
    const clipped = await pool.clipByL2(shared, rows, MAX_NORM, { inPlace: true });
    report.poolInPlaceReturnsInput = clipped === shared;
    report.poolInPlace = encodeF32(clipped);
    report.poolNoise = await runPoolNoise(pool);
  } finally {
    await pool.close();
  }
  report.poolClosedError = await capture(() => pool.sum(clean, rows));
  return report;
}

main().then(
  (report) => {
    window.__results = report;
    document.getElementById('status')!.textContent = 'done';
  },
  (error: unknown) => {
    window.__results = { fatal: error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error) };
    document.getElementById('status')!.textContent = 'failed';
  },
);
