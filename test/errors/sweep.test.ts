// The bad-input sweep: every export of every entry point, called validly and then with each argument
// (and each options field and array element) replaced by every class of bad value: wrong types,
// NaN / Infinity / -0, huge, negative and fractional numbers, detached / fake / Proxy / DataView /
// wrong-class typed arrays, and valid-but-unusual variants (SharedArrayBuffer-backed, offset and
// resizable buffers, frozen, sealed, null-prototype and getter options, null options) that must
// give the plain call's result. Every call must end in a PrivkitError with a code (naming the
// argument) or a correct result, and the engine must still answer right after each row.
// Known gaps (code another change owns) are listed and reported, not failed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipAndSum, ready } from 'privkit';
import { DEFAULT_ORDERS } from 'privkit/accounting';
import { createRng, gaussianNoise } from 'privkit/dp';
import { modPow, powBigInt } from 'privkit/paillier';
import * as reference from 'privkit/reference';
import { runRow, type ConstantRow, type Outcome, type Row, type RowReport, type SweepRow } from './sweep-harness.js';
import { accountingRows } from './rows/accounting.js';
import { coreRows } from './rows/core.js';
import { dpRows } from './rows/dp.js';
import { flRows } from './rows/fl.js';
import { serverRows } from './rows/server.js';
import { closeClusterEnv, clusterEnv, clusterRows } from './rows/cluster.js';
import { paillierEnv, paillierRows } from './rows/paillier.js';
import { closeSweepPool, poolRows, sweepPool } from './rows/pool.js';
import { protectRows } from './rows/protect.js';
import { secaggRows } from './rows/secagg.js';
import { prioRows } from './rows/prio.js';
import { tfjsRows } from './rows/tfjs.js';

const ENTRY_POINTS = ['privkit', 'privkit/dp', 'privkit/accounting', 'privkit/pool', 'privkit/paillier', 'privkit/secagg', 'privkit/fl', 'privkit/audit', 'privkit/protect', 'privkit/tfjs', 'privkit/prio', 'privkit/reference', 'privkit/server', 'privkit/client'] as const;

const TABLE: SweepRow[] = [...coreRows, ...dpRows, ...accountingRows, ...poolRows, ...paillierRows, ...secaggRows, ...flRows, ...protectRows, ...tfjsRows, ...prioRows, ...serverRows, ...clusterRows];

const isConstant = (row: SweepRow): row is ConstantRow => 'constant' in row;

/** Right answers recorded before any bad call; the health check compares against them. */
let expected: { rng: Uint32Array; noise: Float64Array; orders: number[] };

async function healthy(): Promise<void> {
  const x = Float32Array.of(3, 4, 0, 0.1, 0.2, 0.3);
  const got = clipAndSum(x, 2, 1);
  const want = reference.clipAndSum(x, 2, 1);
  for (let i = 0; i < 3; i++) {
    if (Math.abs(got.sum[i]! - want.sum[i]!) > 1e-6) throw new Error(`clipAndSum gives ${got.sum[i]} instead of ${want.sum[i]}`);
  }
  const seed = new Uint8Array(32).fill(1);
  const words = createRng({ seed }).uint32(8);
  if (words.some((w, i) => w !== expected.rng[i])) throw new Error('the seeded generator no longer reproduces its keystream');
  const noise = gaussianNoise(8, 1, { rng: createRng({ seed }) });
  if (noise.some((v, i) => v !== expected.noise[i])) throw new Error('seeded Gaussian noise changed');
  if (modPow(7n, 560n, 561n) !== powBigInt(7n, 560n, 561n)) throw new Error('modPow disagrees with powBigInt');
  if (DEFAULT_ORDERS.length !== expected.orders.length || DEFAULT_ORDERS.some((v, i) => !Object.is(v, expected.orders[i]))) {
    throw new Error('DEFAULT_ORDERS changed');
  }
}

beforeAll(async () => {
  await ready();
  const seed = new Uint8Array(32).fill(1);
  expected = {
    rng: createRng({ seed }).uint32(8),
    noise: gaussianNoise(8, 1, { rng: createRng({ seed }) }),
    orders: [...DEFAULT_ORDERS],
  };
  await paillierEnv();
  await sweepPool();
  await clusterEnv();
});

afterAll(async () => {
  await closeSweepPool();
  await closeClusterEnv();
});

const reports: RowReport[] = [];
/** The entry point of each report, for the totals. */
const reportEntry = new Map<RowReport, string>();

function format(o: Outcome): string {
  return `${o.row} ${o.mutation}: ${o.failure}${o.detail ? ` (${o.detail})` : ''}`;
}

describe('bad-input sweep', () => {
  it('has a row for every export of every entry point', async () => {
    const missing: string[] = [];
    for (const entry of ENTRY_POINTS) {
      const module = (await import(entry)) as Record<string, unknown>;
      for (const name of Object.keys(module)) {
        if (!TABLE.some((row) => row.entry === entry && row.export === name)) missing.push(`${entry}#${name}`);
      }
    }
    expect(missing, 'exports without a sweep row').toEqual([]);
  });

  it('constants are primitives or frozen', async () => {
    for (const row of TABLE.filter(isConstant)) {
      const value = ((await import(row.entry)) as Record<string, unknown>)[row.export];
      const frozen = typeof value !== 'object' || value === null || Object.isFrozen(value);
      expect(frozen, `${row.entry}#${row.export} is a mutable object`).toBe(true);
    }
  });

  for (const entry of ENTRY_POINTS) {
    const rows = TABLE.filter((row): row is Row => row.entry === entry && !isConstant(row));
    if (rows.length === 0) continue;
    it(`${entry}: every bad call ends in a PrivkitError or a correct result`, async () => {
      const outcomes: Outcome[] = [];
      for (const row of rows) {
        const report = await runRow(row, healthy);
        reports.push(report);
        reportEntry.set(report, entry);
        outcomes.push(...report.outcomes);
      }
      const slow = reports.filter((r) => rows.some((row) => (row.label ?? row.export) === r.row) && r.ms > 300);
      if (slow.length > 0) console.log(`${entry}: slowest rows\n${slow.map((r) => `  ${r.row}: ${r.calls} calls, ${Math.round(r.ms)} ms`).join('\n')}`);
      const failures = outcomes.filter((o) => o.failure !== undefined && o.knownGap === undefined);
      const gaps = outcomes.filter((o) => o.failure !== undefined && o.knownGap !== undefined);
      if (gaps.length > 0) console.log(`${entry}: ${gaps.length} known gaps\n${gaps.map((o) => `  ${format(o)} [${o.knownGap}]`).join('\n')}`);
      expect(failures.map(format)).toEqual([]);
    });
  }

  it('reports the sweep size', () => {
    const calls = reports.reduce((n, r) => n + r.calls, 0);
    const ms = reports.reduce((n, r) => n + r.ms, 0);
    // functions: each exported function, constructor and method a row calls; exports: the exports they belong to
    const functions = new Set(reports.map((r) => `${reportEntry.get(r)} ${r.row}`)).size;
    const exports = new Set(TABLE.filter((row) => !isConstant(row)).map((row) => `${row.entry}#${row.export}`)).size;
    const entries = new Set(reports.map((r) => reportEntry.get(r))).size;
    const broken = reports.flatMap((r) => r.outcomes).filter((o) => o.failure === 'broken').length;
    const gaps = reports.flatMap((r) => r.outcomes).filter((o) => o.knownGap !== undefined).length;
    const skipped = reports.flatMap((r) => r.skipped.map((s) => `  ${r.row} ${s.mutation}: ${s.reason}`));
    console.log(
      `sweep: ${calls} calls over ${functions} exported functions and methods (${exports} non-constant exports) of ${entries} entry points, ` +
        `${broken} engine breakages, ${gaps} known gaps; ${reports.length} rows in ${Math.round(ms)} ms; not run:\n${skipped.join('\n')}`,
    );
    expect(entries).toBe(ENTRY_POINTS.length);
    expect(broken).toBe(0);
    expect(calls).toBeGreaterThan(0);
  });
});
