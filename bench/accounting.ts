// Accounting suite of `npm run bench`: RDP epsilon for 10,000 DP-SGD steps over the 156 default orders,
// a training loop's 10^6 step() calls and the epsilon after them, one RDP noise calibration, the
// replace-one accounting of sampling without replacement (FedAvg's default), and PLD epsilon for
// 10,000 composed steps, each against its target time. Printed as a table and written to
// bench/results/accounting.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calibrateNoiseMultiplier, PldAccountant, RdpAccountant } from '../src/accounting/index.js';
import { DEFAULT_TIMING, measure, textTable, type Row } from './harness.js';

/** MNIST-like DP-SGD: batch 256 of 60,000 (q = 0.00427), sigma 1.1, 10,000 steps, delta 1e-5. */
const DPSGD = { sampleRate: 256 / 60_000, noiseMultiplier: 1.1, steps: 10_000 };
const DELTA = 1e-5;
/** The calibration of the shared vector (Opacus: sigma 1.416015625 for epsilon 8). */
const CALIBRATION = { targetEpsilon: 8, delta: 1e-5, sampleRate: 0.04, steps: 2250 };

interface Case {
  name: string;
  shape: string;
  targetMs: number;
  fn: () => number;
}

/** FedAvg's default: 100 of 1,000 clients per round without replacement, replace-one neighbours, 100 rounds. */
const FEDAVG = { sampleRate: 0.1, noiseMultiplier: 3.8, steps: 100, sampling: 'without-replacement', neighbours: 'replace-one' } as const;

/** An accountant after a training loop of `calls` step() calls, one step each. */
function trainingLoop(calls: number): RdpAccountant {
  const acc = new RdpAccountant();
  const step = { sampleRate: DPSGD.sampleRate, noiseMultiplier: DPSGD.noiseMultiplier };
  for (let i = 0; i < calls; i++) acc.step(step);
  return acc;
}

let loop: RdpAccountant | undefined;

const cases: Case[] = [
  {
    name: 'RDP 10^6 step() calls',
    shape: 'one step per call, as a DP-SGD loop (target: 2 us per call)',
    targetMs: 2000,
    fn: () => trainingLoop(1_000_000).events[0]!.steps,
  },
  {
    name: 'RDP epsilon after them',
    shape: 'getEpsilon after a new step (cache dropped), 10^6 merged steps',
    targetMs: 5,
    fn: () => {
      loop ??= trainingLoop(1_000_000);
      return loop.step({ sampleRate: DPSGD.sampleRate, noiseMultiplier: DPSGD.noiseMultiplier }).getEpsilon(DELTA).epsilon;
    },
  },
  {
    name: 'RDP replace-one epsilon',
    shape: 'q=0.1 sigma=3.8, 100 rounds without replacement (FedAvg default)',
    targetMs: 200,
    fn: () => new RdpAccountant().step(FEDAVG).getEpsilon(DELTA).epsilon,
  },
  {
    name: 'RDP epsilon',
    shape: `q=${DPSGD.sampleRate.toFixed(5)} sigma=${DPSGD.noiseMultiplier}, 10,000 steps, 156 orders`,
    targetMs: 5,
    fn: () => new RdpAccountant().step(DPSGD).getEpsilon(DELTA).epsilon,
  },
  {
    name: 'RDP calibration',
    shape: 'target eps 8, delta 1e-5, q=0.04, 2,250 steps, sigma to 1e-4 rel.',
    targetMs: 100,
    fn: () => calibrateNoiseMultiplier(CALIBRATION).noiseMultiplier,
  },
  {
    name: 'PLD epsilon',
    shape: `q=${DPSGD.sampleRate.toFixed(5)} sigma=${DPSGD.noiseMultiplier}, 10,000 steps, eps error 0.01`,
    targetMs: 2000,
    fn: () => new PldAccountant().step(DPSGD).getEpsilon(DELTA).epsilon,
  },
];

function formatTable(rows: Array<Row & { targetMs: number; value: number }>): string {
  const header = ['task', 'shape', 'result', 'mean ms', '±%', 'samples', 'target ms', 'ok', 'bg load'];
  const cells = rows.map((r) => [
    r.task,
    r.shape,
    r.value.toPrecision(8),
    r.meanMs.toFixed(2),
    r.rmePercent.toFixed(1),
    String(r.samples),
    String(r.targetMs),
    r.meanMs <= r.targetMs ? 'yes' : 'NO',
    r.backgroundCores.toFixed(1),
  ]);
  return textTable(header, cells, 2);
}

export async function accountingSuite(): Promise<void> {
  const started = performance.now();
  const rows: Array<Row & { targetMs: number; value: number }> = [];
  for (const c of cases) {
    const value = c.fn();
    const [row] = await measure(
      { kernel: c.name, shape: c.shape, inputBytes: 0, tasks: [{ name: c.name, kind: 'library', fn: c.fn }] },
      { ...DEFAULT_TIMING, iterations: 5, warmupIterations: 1 },
    );
    rows.push({ ...row!, targetMs: c.targetMs, value });
  }
  console.log('\naccounting — privkit/accounting (pure TypeScript)\n');
  console.log(formatTable(rows));

  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, os: `${platform()} ${release()}`, node: process.version };
  const file = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/accounting.json');
  mkdirSync(dirname(file), { recursive: true });
  const results = rows.map(({ task, shape, value, meanMs, medianMs, minMs, rmePercent, samples, targetMs, backgroundCores }) => ({
    task,
    shape,
    result: value,
    meanMs,
    medianMs,
    minMs,
    rmePercent,
    samples,
    targetMs,
    withinTarget: meanMs <= targetMs,
    backgroundCores,
  }));
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, rows: results }, null, 2) + '\n');
  console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log('"result" = epsilon (or sigma for the calibration); "bg load" = cores busy with other processes meanwhile.');
  console.log(`written ${file}`);
}
