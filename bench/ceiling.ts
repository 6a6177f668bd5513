// The machine's ceiling for the kernels suite: how fast one thread and two threads (worker_threads)
// can read a 64 MiB shared Float32Array, with a plain JS loop and with a wasm f32x4 loop, and how
// fast they run a loop whose data stays in L1 (compute only, no memory traffic). The kernels read
// their input once, so their pool speed-ups are bounded by the read rows: when two threads read
// memory barely faster than one, no pool of two reaches 2x on this machine however little it
// costs; the L1 rows show whether the two cores themselves were free meanwhile. Every variant runs
// interleaved, round after round, in this one process, and the medians are reported.
import { Worker } from 'node:worker_threads';
import { startLoadMeter, textTable } from './harness.js';

/**
 * A wasm module importing a shared memory and exporting sum(ptr, n): the float32 sum of n values at
 * ptr (n a multiple of 16), four f32x4 accumulators. Assembled with binaryen's wasm-as from:
 *   (module (import "env" "memory" (memory 1 65536 shared))
 *     (func (export "sum") (param $p i32) (param $n i32) (result f32) (local $end i32) (local $a v128) ...
 *       $end = $p + 4 $n; loop: $a += v128.load $p; $b += load $p+16; $c += load $p+32; $d += load $p+48;
 *       $p += 64; br_if loop ($p < $end); return the lane sum of ($a + $b) + ($c + $d)))
 */
const SUM_WASM_HEX =
  '0061736d0100000001070160027f7f017d02120103656e76066d656d6f7279020301808004030201000707010373756d00000a83' +
  '0101800102017f047b200020014102746a2102034020032000fd000400fde401210320042000fd000410fde40121042005200' +
  '0fd000420fde401210520062000fd000430fde4012106200041c0006a210020002002490d000b20032004fde40120052006fd' +
  'e401fde40121032003fd1f002003fd1f01922003fd1f022003fd1f0392920b';

/** Floats of the compute-only rows' range (16 KiB: stays in L1). */
const L1_FLOATS = 4096;

/** The worker: instantiates the module on the memory, then runs `iterations` sums of its range per request. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
let sum, f32;
function jsSum(start, n) {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let i = start; i < start + n; i += 4) { s0 += f32[i]; s1 += f32[i + 1]; s2 += f32[i + 2]; s3 += f32[i + 3]; }
  return s0 + s1 + s2 + s3;
}
parentPort.on('message', (m) => {
  if (m.module) {
    sum = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports.sum;
    f32 = new Float32Array(m.memory.buffer);
    return parentPort.postMessage(0);
  }
  let s = 0;
  for (let k = 0; k < m.iterations; k++) {
    if (m.kind === 'js') s += jsSum(m.start, m.n);
    else if (m.kind === 'wasm') s += sum(4 * m.start, m.n);
    else for (let j = 0; j < m.n; j += ${L1_FLOATS}) s += sum(4 * m.start, ${L1_FLOATS});
  }
  parentPort.postMessage(s);
});`;

const BYTES = 64 << 20;
const ROUNDS = 15;
/** Passes over the range per request, so that the message round trip is a small part of the time. */
const ITERATIONS = 10;
type Kind = 'js' | 'wasm' | 'l1';
const LABELS: Record<Kind, string> = {
  js: 'read 64 MiB, JS loop',
  wasm: 'read 64 MiB, wasm f32x4 loop',
  l1: 'same work on 16 KiB in L1 (compute only)',
};

export interface CeilingRow {
  task: string;
  oneThreadGbPerSecond: number;
  twoThreadsGbPerSecond: number;
  speedup: number;
  /** Cores kept busy by other processes meanwhile (over the whole interleaved run). */
  backgroundCores: number;
}

/** Measures the ceiling rows and prints them; returns them for the suite's JSON. */
export async function readCeiling(): Promise<CeilingRow[]> {
  const memory = new WebAssembly.Memory({ initial: BYTES / 65536, maximum: 65536, shared: true });
  const module = new WebAssembly.Module(Uint8Array.from(SUM_WASM_HEX.match(/../g)!, (byte) => parseInt(byte, 16)));
  const values = new Float32Array(memory.buffer, 0, BYTES / 4);
  for (let i = 0; i < values.length; i++) values[i] = (i % 7) * 0.25;
  const workers = [0, 1].map(() => new Worker(WORKER_SOURCE, { eval: true }));
  const call = (worker: Worker, message: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (value) => {
        worker.off('error', reject);
        resolve(value);
      });
      worker.postMessage(message);
    });
  try {
    await Promise.all(workers.map((worker) => call(worker, { module, memory })));
    const times: Record<string, number[]> = {};
    const run = async (kind: Kind, threads: number) => {
      const n = values.length / threads;
      const started = performance.now();
      await Promise.all(workers.slice(0, threads).map((worker, i) => call(worker, { kind, start: i * n, n, iterations: ITERATIONS })));
      (times[`${kind} ${threads}`] ??= []).push((performance.now() - started) / ITERATIONS);
    };
    const load = startLoadMeter();
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of Object.keys(LABELS) as Kind[]) for (const threads of [1, 2]) await run(kind, threads);
    }
    const backgroundCores = load();
    const median = (t: number[]) => [...t].sort((a, b) => a - b)[t.length >> 1]!;
    const rows = (Object.keys(LABELS) as Kind[]).map((kind): CeilingRow => {
      const one = median(times[`${kind} 1`]!);
      const two = median(times[`${kind} 2`]!);
      return { task: LABELS[kind], oneThreadGbPerSecond: BYTES / (one * 1e6), twoThreadsGbPerSecond: BYTES / (two * 1e6), speedup: one / two, backgroundCores };
    });
    console.log('\nceiling — 1 and 2 worker threads summing a 64 MiB shared Float32Array (medians of interleaved rounds)\n');
    console.log(
      textTable(
        ['task', '1 thread GB/s', '2 threads GB/s', '2 / 1', 'bg load'],
        rows.map((r) => [r.task, r.oneThreadGbPerSecond.toFixed(1), r.twoThreadsGbPerSecond.toFixed(1), `${r.speedup.toFixed(2)}x`, backgroundCores.toFixed(1)]),
      ),
    );
    return rows;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
