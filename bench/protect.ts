// Protect suite of `npm run bench`: the measurements of ./protect-rounds.ts (sealing and opening a
// 256 MiB model against raw WebCrypto AES-GCM on the same chunks, and the streams' memory peak) in
// Node, where the live ArrayBuffer memory is `process.memoryUsage().arrayBuffers` after a forced
// collection. Prints the table and writes bench/results/protect.json; `reportProtect` does the
// same for the Chromium suite (./protect-browser.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { textTable } from './harness.js';
import { measureProtect, type ProtectMeasurement } from './protect-rounds.js';

const MODEL_BYTES = 256 << 20;

/** Prints a measurement's table and memory peaks and writes it with `machine` to bench/results/<suite>.json. */
export function reportProtect(suite: string, runtime: string, measurement: ProtectMeasurement, machine: Record<string, unknown>, memoryNote: string): void {
  const { modelBytes, chunkBytes, rounds, rows, streamPeakChunksAboveInput: peaks } = measurement;
  console.log(`\nprivkit/protect in ${runtime}: ${modelBytes >> 20} MiB model, ${chunkBytes >> 20} MiB chunks, medians of ${rounds} interleaved rounds ("x raw" = over raw WebCrypto AES-GCM on the same chunks, results dropped; "x raw+out" = over the same calls copying their results into a fresh output)`);
  console.log(
    textTable(
      ['task', 'median ms', 'min ms', 'GB/s', 'x copy', 'x raw', 'x raw+out'],
      rows.map((r) => [r.task, r.medianMs.toFixed(0), r.minMs.toFixed(0), r.gbPerSecond.toFixed(2), r.vsCopy.toFixed(2), r.vsRawWebCrypto?.toFixed(2) ?? '', r.vsRawFreshOutput?.toFixed(2) ?? '']),
    ),
  );
  console.log(
    `streams: peak live ArrayBuffer memory above the input, in ${chunkBytes >> 20} MiB chunks (${memoryNote}, 3 runs): ` +
      `seal ${peaks.seal.toFixed(1)}, open ${peaks.open.toFixed(1)}, seal piped into open ${peaks.sealThenOpen.toFixed(1)}`,
  );
  const file = join(dirname(fileURLToPath(import.meta.url)), `../../bench/results/${suite}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, memory: memoryNote, ...measurement }, null, 2) + '\n');
  console.log(`written ${file}`);
}

/** The machine's description for the results (the load average is the mean of `load0` and now). */
export function machineOf(load0: number): { cpu: string; cores: number; os: string; node: string; loadAverage: number } {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, os: `${platform()} ${release()}`, node: process.version, loadAverage: (load0 + loadavg()[0]!) / 2 };
}

export async function protectSuite(): Promise<void> {
  const started = performance.now();
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const load0 = loadavg()[0]!;
  const measurement = await measureProtect(MODEL_BYTES, { gc, liveBytes: () => process.memoryUsage().arrayBuffers });
  const machine = machineOf(load0);
  reportProtect('protect', `Node ${process.version}`, measurement, machine, "process.memoryUsage().arrayBuffers after a full collection, sampled at each piece the stream yields");
  console.log(`${machine.cpu}, ${machine.cores} cores, load average ${machine.loadAverage.toFixed(1)}; ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
