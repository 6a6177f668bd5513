// Timing of one implementation: calls are timed in batches, so that a call much shorter than the
// timer's resolution (performance.now() is coarsened to 5 us on cross-origin-isolated pages and to
// 100 us elsewhere) is still measured: the batch grows until it lasts `batchMs`, then batches are
// timed until `budgetMs` has passed (and at least `minSamples` of them); each batch gives one
// sample of the time per call. The batches that size the batch are the warm-up.
import type { BenchMode } from './protocol';

export interface Timing {
  /** Shortest batch, in milliseconds. */
  batchMs: number;
  /** Time to spend on samples after warm-up, in milliseconds. */
  budgetMs: number;
  minSamples: number;
  /** False for long calls whose time the first call represents (key generation): the sizing batch then counts as a sample. */
  warmup: boolean;
}

export const TIMINGS: Record<BenchMode, Timing> = {
  quick: { batchMs: 20, budgetMs: 100, minSamples: 1, warmup: true },
  full: { batchMs: 50, budgetMs: 1000, minSamples: 5, warmup: true },
};

/** Largest batch: a call under 50 ms / 2^20 is not a call worth timing. */
const MAX_BATCH = 1 << 20;

export interface Measurement {
  medianMs: number;
  minMs: number;
  calls: number;
}

/** Runs `fn` `times` times, one after another (awaiting it when it returns a promise); returns the elapsed milliseconds. */
async function timeBatch(fn: () => unknown, times: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < times; i++) {
    const result = fn();
    if (result instanceof Promise) await result;
  }
  return performance.now() - t0;
}

export async function measure(fn: () => unknown, timing: Timing): Promise<Measurement> {
  const perCall: number[] = [];
  let batch = 1;
  for (;;) {
    const ms = await timeBatch(fn, batch);
    if (ms >= timing.batchMs || batch >= MAX_BATCH) {
      if (!timing.warmup && batch === 1) perCall.push(ms);
      break;
    }
    // Aim a little past batchMs (a zero reading means the timer did not tick: grow 16-fold).
    batch = Math.min(MAX_BATCH, ms > 0 ? Math.max(batch + 1, Math.ceil((batch * 1.2 * timing.batchMs) / ms)) : batch * 16);
  }
  const start = performance.now();
  while (perCall.length < timing.minSamples || performance.now() - start < timing.budgetMs) {
    perCall.push((await timeBatch(fn, batch)) / batch);
  }
  perCall.sort((a, b) => a - b);
  const mid = perCall.length >> 1;
  const medianMs = perCall.length % 2 === 1 ? perCall[mid]! : (perCall[mid - 1]! + perCall[mid]!) / 2;
  return { medianMs, minMs: perCall[0]!, calls: perCall.length * batch };
}
