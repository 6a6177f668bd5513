// The benchmark harness: a tinybench run per task of a kernel, turned into rows with
// throughput over the input bytes and ratios against the JS reference and the memory-bandwidth
// baseline (a plain `dst.set(src)` over the same bytes). Benchmarks, not timed tests: nothing here
// fails on speed; it only fails when a task throws.
import { cpus } from 'node:os';
import { Bench } from 'tinybench';

/** library: privkit (wasm or pool); reference: the plain-TS reference; baseline: the copy-bandwidth floor. */
export type TaskKind = 'library' | 'reference' | 'baseline';

export interface BenchTask {
  name: string;
  kind: TaskKind;
  fn: () => unknown;
}

export interface KernelSpec {
  kernel: string;
  /** Human-readable shape, e.g. "B=256 x D=65536". */
  shape: string;
  /** Bytes of input each call reads (the GB/s column divides these by the mean time). */
  inputBytes: number;
  tasks: BenchTask[];
}

export interface Row {
  kernel: string;
  shape: string;
  task: string;
  kind: TaskKind;
  meanMs: number;
  medianMs: number;
  minMs: number;
  /** Relative margin of error of the mean, in percent (95%). */
  rmePercent: number;
  samples: number;
  /** Input bytes / mean time, in 1e9 bytes per second. */
  gbPerSecond: number;
  /** Throughput / throughput of the baseline (`dst.set(src)`); 1 means as fast as a plain copy. */
  vsBaseline: number;
  /** Throughput / throughput of the JS reference; the speed-up over plain TypeScript. */
  vsReference: number;
  /** Cores kept busy by other processes while this task ran (a noise indicator on a shared machine). */
  backgroundCores: number;
}

export interface TimingOptions {
  /** Minimum time per task, in ms. */
  time: number;
  /** Minimum samples per task. */
  iterations: number;
  warmupTime: number;
  warmupIterations: number;
}

export const DEFAULT_TIMING: TimingOptions = { time: 2000, iterations: 8, warmupTime: 400, warmupIterations: 3 };

type Latency = { mean: number; p50: number; min: number; rme: number; samplesCount: number };

/** Runs every task of `spec` (in order, one after another) and returns one row per task. */
export async function measure(spec: KernelSpec, timing: TimingOptions = DEFAULT_TIMING): Promise<Row[]> {
  const stats: Array<{ task: BenchTask; latency: Latency; backgroundCores: number }> = [];
  for (const task of spec.tasks) {
    const bench = new Bench({ ...timing, throws: true });
    bench.add(task.name, task.fn);
    const load = startLoadMeter();
    await bench.run();
    const backgroundCores = load();
    const result = bench.getTask(task.name)!.result;
    if (result.state !== 'completed') throw new Error(`${spec.kernel} / ${task.name}: benchmark ${result.state}`);
    stats.push({ task, latency: result.latency, backgroundCores });
  }
  const meanOf = (kind: TaskKind) => stats.find((s) => s.task.kind === kind)?.latency.mean ?? Number.NaN;
  const baselineMs = meanOf('baseline');
  const referenceMs = meanOf('reference');
  return stats.map(({ task, latency, backgroundCores }) => ({
    kernel: spec.kernel,
    shape: spec.shape,
    task: task.name,
    kind: task.kind,
    meanMs: latency.mean,
    medianMs: latency.p50,
    minMs: latency.min,
    rmePercent: latency.rme,
    samples: latency.samplesCount,
    gbPerSecond: spec.inputBytes / (latency.mean * 1e6),
    vsBaseline: baselineMs / latency.mean,
    vsReference: referenceMs / latency.mean,
    backgroundCores,
  }));
}

/**
 * Starts measuring how many cores other processes keep busy: machine-wide busy time (os.cpus)
 * minus this process's CPU time (all its threads, pool workers included), over the elapsed time.
 */
export function startLoadMeter(): () => number {
  const busy = () => cpus().reduce((ms, { times: t }) => ms + t.user + t.nice + t.sys + t.irq, 0);
  const busy0 = busy();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const own = process.cpuUsage(own0);
    const other = busy() - busy0 - (own.user + own.system) / 1000;
    return Math.max(0, other / (performance.now() - t0));
  };
}

/** A fixed-width text table of `rows`: library rows first, then the reference, then the baseline. */
export function formatTable(rows: Row[]): string {
  const order: TaskKind[] = ['library', 'reference', 'baseline'];
  const sorted = [...rows].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  const header = ['task', 'mean ms', '±%', 'GB/s', 'x copy', 'x JS', 'bg load'];
  const cells = sorted.map((r) => [
    r.task,
    r.meanMs.toFixed(2),
    r.rmePercent.toFixed(1),
    r.gbPerSecond.toFixed(2),
    r.vsBaseline.toFixed(2),
    r.vsReference.toFixed(1),
    r.backgroundCores.toFixed(1),
  ]);
  return textTable(header, cells);
}

/** A fixed-width text table: the first `leftColumns` columns left-aligned, the rest right-aligned. */
export function textTable(header: string[], cells: string[][], leftColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i < leftColumns ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

/** Deterministic data for benchmarks (in its own file so that page scripts can import it). */
export { xorshift32 } from './xorshift.js';

/** Largest |a[i] - b[i]| relative to max |b[i]| (the reference); used to check results before timing them. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = Number.MIN_VALUE;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= diff)) diff = d; // also catches NaN
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}
