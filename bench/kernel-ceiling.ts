// The kernel's own ceiling on two threads, for the pool rows of the kernels suite: the library's sync
// kernel run in bare worker threads (./kernel-ceiling-worker.ts, no pool: one message each way), on
// all rows in one thread and on one half of the rows in each of two threads at once, reading the
// same shared input in place. Measured in interleaved rounds with the sync call and the pool's 1- and
// 2-worker calls, so every ratio comes from one run under the same conditions. The bare threads are
// what the hardware allows this kernel: a pool of 2 can approach their 2 / 1 ratio, and their
// speed-up over the sync call (sync / bare 2), not pass them. Two more columns say why a round may
// fall short: the time each half takes inside its thread (two halves reading memory at once each run
// slower than one alone) and how far apart the two threads started (on a machine whose cores are busy
// with other processes, the OS may run the second thread only after the first: a start gap near the
// half's time means the two did not run at the same time at all).
import { Worker } from 'node:worker_threads';
import { compiledModules } from '../src/wasm/runtime.js';
import { compiledSharedModules, wasmMemoryOf } from '../src/wasm/shared-memory.js';
import type { Pool } from '../src/pool/index.js';
import type { CeilingCall, CeilingInit } from './kernel-ceiling-worker.js';
import { startLoadMeter, textTable } from './harness.js';

const ROUNDS = 40;
/** First rounds left out of the medians (the threads warm up). */
const WARMUP_ROUNDS = 5;

export interface KernelCeilingSpec {
  kernel: CeilingCall['kernel'];
  /** The input: a sharedFloat32Array of rows x cols (large enough to lie in a shared wasm memory). */
  x: Float32Array;
  rows: number;
  cols: number;
  maxNorm?: number;
  weights?: Float32Array;
  sync: () => unknown;
  pools: { one: Pool; two: Pool; call: (pool: Pool) => Promise<unknown> };
}

/** Medians over the rounds, in ms, and the ratios that matter. */
export interface KernelCeilingRow {
  kernel: string;
  syncMs: number;
  bareOneThreadMs: number;
  bareTwoThreadsMs: number;
  /** The longer half's time inside its thread, with two running. */
  bareHalfInThreadMs: number;
  /** How far apart the two bare threads started. */
  startGapMs: number;
  poolOneWorkerMs: number;
  poolTwoWorkersMs: number;
  /** bare 1 thread / bare 2 threads: the ceiling of a pool of 2 over a pool of 1. */
  bareSpeedup: number;
  /** pool 1 worker / pool 2 workers. */
  poolSpeedup: number;
  backgroundCores: number;
}

export async function kernelCeiling(spec: KernelCeilingSpec): Promise<KernelCeilingRow> {
  const { kernel, x, rows, cols, maxNorm, weights, sync, pools } = spec;
  const memory = wasmMemoryOf(x);
  if (memory === undefined) throw new Error('the kernel ceiling needs an input in shared wasm memory (a large sharedFloat32Array)');
  const workers = [0, 1].map(() => new Worker(new URL('./kernel-ceiling-worker.js', import.meta.url)));
  const call = (worker: Worker, message: CeilingInit | CeilingCall) =>
    new Promise<{ start: number; end: number }>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (value) => {
        worker.off('error', reject);
        resolve(value);
      });
      worker.postMessage(message);
    });
  const part = (row: number, count: number): CeilingCall => ({ kernel, cols, row, rows: count, maxNorm, weights });
  const times: Record<string, number[]> = {};
  const record = (name: string, ms: number) => (times[name] ??= []).push(ms);
  const timed = async (name: string, fn: () => unknown) => {
    const started = performance.now();
    await fn();
    record(name, performance.now() - started);
  };
  try {
    const init: CeilingInit = { modules: compiledModules(), sharedModules: compiledSharedModules(), memory, byteOffset: x.byteOffset, length: x.length };
    await Promise.all(workers.map((worker) => call(worker, init)));
    const half = Math.ceil(rows / 2);
    const load = startLoadMeter();
    for (let round = 0; round < ROUNDS; round++) {
      await timed('sync', sync);
      await timed('bare 1', () => call(workers[0]!, part(0, rows)));
      await timed('bare 2', async () => {
        const [a, b] = await Promise.all([call(workers[0]!, part(0, half)), call(workers[1]!, part(half, rows - half))]);
        record('half in thread', Math.max(a!.end - a!.start, b!.end - b!.start));
        record('start gap', Math.abs(a!.start - b!.start));
      });
      await timed('pool 1', () => pools.call(pools.one));
      await timed('pool 2', () => pools.call(pools.two));
    }
    const backgroundCores = load();
    const median = (name: string) => {
      const sorted = times[name]!.slice(WARMUP_ROUNDS).sort((a, b) => a - b);
      return sorted[sorted.length >> 1]!;
    };
    const row: KernelCeilingRow = {
      kernel,
      syncMs: median('sync'),
      bareOneThreadMs: median('bare 1'),
      bareTwoThreadsMs: median('bare 2'),
      bareHalfInThreadMs: median('half in thread'),
      startGapMs: median('start gap'),
      poolOneWorkerMs: median('pool 1'),
      poolTwoWorkersMs: median('pool 2'),
      bareSpeedup: median('bare 1') / median('bare 2'),
      poolSpeedup: median('pool 1') / median('pool 2'),
      backgroundCores,
    };
    const ms = (v: number) => v.toFixed(2);
    console.log(`\n${kernel} — kernel ceiling: the sync kernel in bare threads (no pool) beside the pool, medians of ${ROUNDS} interleaved rounds\n`);
    console.log(
      textTable(
        ['sync ms', 'bare 1 thread', 'bare 2 threads', 'half in thread', 'start gap', 'pool 1', 'pool 2', 'bare 2 / 1', 'pool 2 / 1', 'bare 2 / sync', 'pool 2 / sync', 'pool 1 / sync', 'bg load'],
        [
          [
            ms(row.syncMs),
            ms(row.bareOneThreadMs),
            ms(row.bareTwoThreadsMs),
            ms(row.bareHalfInThreadMs),
            ms(row.startGapMs),
            ms(row.poolOneWorkerMs),
            ms(row.poolTwoWorkersMs),
            `${row.bareSpeedup.toFixed(2)}x`,
            `${row.poolSpeedup.toFixed(2)}x`,
            `${(row.syncMs / row.bareTwoThreadsMs).toFixed(2)}x`,
            `${(row.syncMs / row.poolTwoWorkersMs).toFixed(2)}x`,
            `${(row.syncMs / row.poolOneWorkerMs).toFixed(2)}x`,
            backgroundCores.toFixed(1),
          ],
        ],
        0,
      ),
    );
    return row;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
