// The bad-input sweep of one entry point (test/errors/sweep/<name>.test.ts calls sweepEntry): every
// non-constant row of the entry point is called validly and then with each argument (and each options
// field and array element) replaced by every class of bad value: wrong types, NaN / Infinity / -0,
// huge, negative and fractional numbers, detached / fake / Proxy / DataView / wrong-class typed arrays,
// and valid-but-unusual variants (SharedArrayBuffer-backed, offset and resizable buffers, frozen,
// sealed, null-prototype and getter options, null options) that must give the plain call's result
// (test/errors/sweep-harness.ts). Every call must end in a PrivkitError with a code (naming the
// argument) or a correct result, and the engine must still answer right after each row. Known gaps
// (code another change owns) are listed and reported, not failed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipAndSum, ready } from 'privkit';
import { DEFAULT_ORDERS } from 'privkit/accounting';
import { createRng, gaussianNoise } from 'privkit/dp';
import { modPow, powBigInt } from 'privkit/paillier';
import * as reference from 'privkit/reference';
import { runRow, type Outcome, type Row, type RowReport } from '../sweep-harness.js';
import { ENTRY_POINTS, isConstant, rowsOf, type EntryPoint, type EntrySweep } from './entry-points.js';

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

function format(o: Outcome): string {
  return `${o.row} ${o.mutation}: ${o.failure}${o.detail ? ` (${o.detail})` : ''}`;
}

/** Registers the sweep of `entry`: its fixtures around it, one test running its rows, one reporting its size. */
export function sweepEntry(entry: EntryPoint): void {
  const plan: EntrySweep = ENTRY_POINTS[entry];
  let rows: Row[] = [];
  let stopFixtures: (() => Promise<void>) | undefined;
  const reports: RowReport[] = [];

  beforeAll(async () => {
    await ready();
    const seed = new Uint8Array(32).fill(1);
    expected = {
      rng: createRng({ seed }).uint32(8),
      noise: gaussianNoise(8, 1, { rng: createRng({ seed }) }),
      orders: [...DEFAULT_ORDERS],
    };
    rows = (await rowsOf(entry)).filter((row): row is Row => !isConstant(row));
    stopFixtures = await plan.fixtures?.();
  });

  afterAll(async () => {
    await stopFixtures?.();
  });

  describe(`bad-input sweep of ${entry}`, () => {
    it('every bad call ends in a PrivkitError or a correct result', async () => {
      expect(rows.length, `${entry} has no rows to sweep`).toBeGreaterThan(0);
      const outcomes: Outcome[] = [];
      for (const row of rows) {
        const report = await runRow(row, healthy);
        reports.push(report);
        outcomes.push(...report.outcomes);
      }
      const slow = reports.filter((r) => r.ms > 300);
      if (slow.length > 0) console.log(`${entry}: slowest rows\n${slow.map((r) => `  ${r.row}: ${r.calls} calls, ${Math.round(r.ms)} ms`).join('\n')}`);
      const failures = outcomes.filter((o) => o.failure !== undefined && o.knownGap === undefined);
      const gaps = outcomes.filter((o) => o.failure !== undefined && o.knownGap !== undefined);
      if (gaps.length > 0) console.log(`${entry}: ${gaps.length} known gaps\n${gaps.map((o) => `  ${format(o)} [${o.knownGap}]`).join('\n')}`);
      expect(failures.map(format)).toEqual([]);
    });

    it('reports the sweep size', () => {
      const calls = reports.reduce((n, r) => n + r.calls, 0);
      const ms = reports.reduce((n, r) => n + r.ms, 0);
      // functions: each exported function, constructor and method a row calls; exports: the exports they belong to
      const functions = new Set(reports.map((r) => r.row)).size;
      const exports = new Set(rows.map((row) => row.export)).size;
      const broken = reports.flatMap((r) => r.outcomes).filter((o) => o.failure === 'broken').length;
      const gaps = reports.flatMap((r) => r.outcomes).filter((o) => o.knownGap !== undefined).length;
      const skipped = reports.flatMap((r) => r.skipped.map((s) => `  ${r.row} ${s.mutation}: ${s.reason}`));
      console.log(
        `sweep of ${entry}: ${calls} calls over ${functions} exported functions and methods (${exports} non-constant exports), ` +
          `${broken} engine breakages, ${gaps} known gaps; ${reports.length} rows in ${Math.round(ms)} ms; not run:\n${skipped.join('\n')}`,
      );
      expect(reports.length).toBe(rows.length);
      expect(broken).toBe(0);
      expect(calls).toBeGreaterThan(0);
    });
  });
}
