// Prio3 suite of `npm run bench`: client sharding and verification of one report by both
// aggregators (leader init, helper init with the verifier message, leader finish) for
// Prio3SumVec (length 1,000, bits 8, chunk 100) and Prio3Histogram (length 100, chunk 10), privkit
// (wasm kernels after ready()) against the JS implementation @divviup/prio3 0.8.0 (draft 08, BigInt
// fields) on the same circuits, and the norm-bounded FL update (bench/prio-bounded-l2.ts). Each figure
// is the median of `SAMPLES` timed runs after warm-up.
// Prints the table and writes bench/results/prio.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Prio3Histogram, Prio3SumVec } from '@divviup/prio3';
import { ready } from '../src/index.js';
import { prio3Histogram, prio3SumVec, type Prio3 } from '../src/prio/index.js';
import { encodeVec, Field128, invNtt, mul, nthRoot, ntt } from '../src/prio/field.js';
import { prioWasm } from '../src/prio/wasm.js';
import { invNttWasm, mulVecWasm, nttWasm, turboShake128Wasm } from '../src/prio/kernels.js';
import { turboShake128 } from '../src/prio/xof.js';
import { textTable, xorshift32 } from './harness.js';
import { boundedL2Row } from './prio-bounded-l2.js';

const SAMPLES = 15;
const WARMUP = 3;

/** Median of `samples` timed runs of an async or sync task, after `warmup` untimed ones (ms). */
async function median(task: () => unknown, samples = SAMPLES, warmup = WARMUP): Promise<number> {
  for (let i = 0; i < warmup; i++) await task();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await task();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

interface Case {
  name: string;
  privkit: Prio3<any, unknown>;
  divviup: { shard: (m: any, nonce: Buffer, rand: Buffer) => Promise<any>; randSize: number } & Record<string, any>;
  measurement: unknown;
}

async function privkitTimes(c: Case): Promise<{ shardMs: number; verifyMs: number }> {
  const vdaf = c.privkit;
  const verifyKey = new Uint8Array(32).fill(7);
  const shardMs = await median(() => vdaf.shard(c.measurement));
  const report = vdaf.shard(c.measurement);
  const verifyMs = await median(() => {
    const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
    const leader = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
    const helper = vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound });
    vdaf.leaderContinued(leader.state, helper.outbound);
  });
  return { shardMs, verifyMs };
}

async function divviupTimes(c: Case): Promise<{ shardMs: number; verifyMs: number }> {
  const vdaf = c.divviup;
  const verifyKey = Buffer.alloc(vdaf.verifyKeySize, 7);
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16)));
  const rand = Buffer.from(crypto.getRandomValues(new Uint8Array(vdaf.randSize)));
  const shardMs = await median(() => vdaf.shard(c.measurement, nonce, rand));
  const { publicShare, inputShares } = await vdaf.shard(c.measurement, nonce, rand);
  const verifyMs = await median(async () => {
    const inits = await Promise.all([0, 1].map((j) => vdaf.prepareInit(verifyKey, j, null, nonce, publicShare, inputShares[j])));
    const message = await vdaf.unshardPreparationShares(null, inits.map((i: any) => i.preparationShare));
    for (const init of inits) {
      const out = vdaf.prepareNext(init.preparationState, message);
      if (!('outputShare' in out)) throw new Error('@divviup/prio3 did not finish verification');
    }
  });
  return { shardMs, verifyMs };
}

/** The kernels the issue reports: TurboSHAKE128 throughput, Field128 multiplication, NTT of 2^16 points; wasm vs plain TS. */
async function kernelRows(): Promise<Record<string, number | string>[]> {
  const random = xorshift32(2);
  const message = Uint8Array.from({ length: 1 << 20 }, () => Math.floor(random() * 256));
  const element = (): bigint => {
    let x = 0n;
    for (let i = 0; i < 4; i++) x = (x << 32n) | BigInt(Math.floor(random() * 2 ** 32));
    return x % Field128.modulus;
  };
  const count = 1 << 16;
  const a = Array.from({ length: count }, element);
  const b = Array.from({ length: count }, element);
  const mb = message.length / 1e6;
  const shakeWasm = await median(() => turboShake128Wasm(message, 1, 32), 9, 2);
  const shakeTs = await median(() => turboShake128(message, 1, 32), 5, 1);
  const mulStaged = await median(() => mulVecWasm(Field128, a, b), 9, 2);
  const [mulWasm, nttKernel] = kernelOnly(a, b);
  const mulTs = await median(() => a.map((x, i) => mul(Field128, x, b[i]!)), 5, 1);
  const nttW = await median(() => invNttWasm(Field128, nttWasm(Field128, a, count), count), 5, 1);
  const nttTs = await median(() => invNtt(Field128, ntt(Field128, a, count), count), 3, 1);
  return [
    { kernel: 'TurboSHAKE128, 1 MiB message', wasm: `${(mb / (shakeWasm / 1000)).toFixed(0)} MB/s`, ts: `${(mb / (shakeTs / 1000)).toFixed(0)} MB/s`, speedup: shakeTs / shakeWasm },
    { kernel: 'Field128 multiply, 2^16 products: kernel', wasm: `${f2(mulWasm)} ms`, ts: `${f2(mulTs)} ms (BigInt)`, speedup: mulTs / mulWasm },
    { kernel: 'Field128 multiply, 2^16 products: with bigint[] staging', wasm: `${f2(mulStaged)} ms`, ts: `${f2(mulTs)} ms (BigInt)`, speedup: mulTs / mulStaged },
    { kernel: 'Field128 NTT of 2^16 points: kernel', wasm: `${f2(nttKernel)} ms`, ts: `${f2(nttTs / 2)} ms (BigInt, half of NTT + inverse)`, speedup: nttTs / 2 / nttKernel },
    { kernel: 'Field128 NTT + inverse NTT, 2^16 points: with bigint[] staging', wasm: `${f2(nttW)} ms`, ts: `${f2(nttTs)} ms (BigInt)`, speedup: nttTs / nttW },
  ];
}

/** Median ms of the wasm Field128 multiply and forward NTT kernels on data staged once (no bigint conversion). */
function kernelOnly(a: readonly bigint[], b: readonly bigint[]): [number, number] {
  const n = a.length;
  return prioWasm.run((k, arena) => {
    const x = arena.alloc(n * 16);
    const y = arena.alloc(n * 16);
    const v = arena.alloc(n * 16);
    const consts = arena.alloc(48);
    const scratch = arena.alloc(k.nttScratchBytes(128, n));
    arena.bytes(x, n * 16).set(encodeVec(Field128, a));
    arena.bytes(y, n * 16).set(encodeVec(Field128, b));
    arena.bytes(consts, 48).set(encodeVec(Field128, [nthRoot(Field128, n), 1n, 1n]));
    const timed = (f: () => void): number => {
      const times: number[] = [];
      for (let i = 0; i < 11; i++) {
        const start = performance.now();
        f();
        times.push(performance.now() - start);
      }
      return times.sort((p, q) => p - q)[5]!;
    };
    const mulMs = timed(() => k.mulVec(128, v, x, y, n));
    const nttMs = timed(() => {
      memory(arena).copyWithin(v, x, x + n * 16);
      k.ntt(128, v, n, consts, consts + 16, consts + 32, false, scratch);
    });
    return [mulMs, nttMs];
  });
}

const memory = (arena: { bytes(ptr: number, length: number): Uint8Array }): Uint8Array => {
  const view = arena.bytes(0, 0);
  return new Uint8Array(view.buffer);
};

/** Milliseconds with 3 significant digits below 1 (a Histogram report takes tens of microseconds). */
const f2 = (x: number): string => (x < 1 ? x.toPrecision(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));

export async function prioSuite(): Promise<void> {
  await ready();
  const kernels = await kernelRows();
  console.log('\nPrio kernels: wasm vs plain TypeScript (median)');
  console.log(textTable(['kernel', 'wasm', 'TS', 'x'], kernels.map((r) => [String(r.kernel), String(r.wasm), String(r.ts), (r.speedup as number).toFixed(1)])));
  const random = xorshift32(1);
  const cases: Case[] = [
    {
      name: 'Prio3SumVec length 1000, bits 8, chunk 100',
      privkit: prio3SumVec({ length: 1000, bits: 8, chunkLength: 100 }) as Prio3<any, unknown>,
      divviup: new Prio3SumVec({ shares: 2, length: 1000, bits: 8, chunkLength: 100 }) as any,
      measurement: Array.from({ length: 1000 }, () => Math.floor(random() * 256)),
    },
    {
      name: 'Prio3Histogram length 100, chunk 10',
      privkit: prio3Histogram({ length: 100, chunkLength: 10 }) as Prio3<any, unknown>,
      divviup: new Prio3Histogram({ shares: 2, length: 100, chunkLength: 10 }) as any,
      measurement: 42,
    },
  ];
  const rows = [];
  for (const c of cases) {
    const ours = await privkitTimes(c);
    const theirs = await divviupTimes(c);
    rows.push({
      circuit: c.name,
      privkitShardMs: ours.shardMs,
      privkitVerifyMs: ours.verifyMs,
      divviupShardMs: theirs.shardMs,
      divviupVerifyMs: theirs.verifyMs,
      shardSpeedup: theirs.shardMs / ours.shardMs,
      verifySpeedup: theirs.verifyMs / ours.verifyMs,
    });
  }
  console.log('\nPrio3: one report, median ms (verify = both aggregators, ping-pong)');
  console.log(
    textTable(
      ['circuit', 'privkit shard', '@divviup shard', 'x', 'privkit verify', '@divviup verify', 'x'],
      rows.map((r) => [r.circuit, f2(r.privkitShardMs), f2(r.divviupShardMs), r.shardSpeedup.toFixed(1), f2(r.privkitVerifyMs), f2(r.divviupVerifyMs), r.verifySpeedup.toFixed(1)]),
    ),
  );
  const pine = boundedL2Row('pine');
  const bounded = boundedL2Row('bits');
  console.log('\nA norm-bounded FL update, PrioAggregator\'s two circuits (goals: shard <= 1 s, verify <= 1 s per aggregator, report <= 3x the update, >= 100 reports/min/core)');
  console.log(
    textTable(
      ['circuit', 'shard ms (CPU)', 'leader verify ms (CPU)', 'helper verify ms (CPU)', 'report MB', 'x float32 update', 'x 16-bit update', 'reports/min/core'],
      [pine, bounded].map((row) => [
        row.circuit,
        `${f2(row.shardMs)} (${f2(row.shardCpuMs)})`,
        `${f2(row.leaderVerifyMs)} (${f2(row.leaderVerifyCpuMs)})`,
        `${f2(row.helperVerifyMs)} (${f2(row.helperVerifyCpuMs)})`,
        (row.reportBytes / 1e6).toFixed(2),
        row.sizeVsFloat32.toFixed(2),
        row.sizeVs16Bit.toFixed(2),
        row.reportsPerMinutePerCore.toFixed(0),
      ]),
    ),
  );
  const file = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/prio.json');
  mkdirSync(dirname(file), { recursive: true });
  const machine = { cpu: cpus()[0]?.model, cores: cpus().length, platform: `${platform()} ${release()}`, node: process.version };
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, samples: SAMPLES, rows, kernels, pineL2: pine, boundedL2: bounded }, null, 2) + '\n');
}
