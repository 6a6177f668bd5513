// privkit/audit's auditMechanism on the DP releases of privkit/protect, on neighbouring tables
// (add/remove one record): the lower bound must not exceed the claimed epsilon. Each release is also
// audited against a claim below what these neighbours really lose, which the audit must catch, so a
// pass is not a sign of an audit too weak to see anything. Confidence 1 - 1e-6 per audit, fixed seeds.
// Quantiles lose less than their epsilon: one record moves the target rank q n by q and the ranks of
// the points above it by 1, so an interior utility moves by max(q, 1 - q) <= 1 and the median's only
// by 1/2 (loss <= epsilon / 2); their understated claims are set below the bounds these pairs allow.
import { describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { zcdpToEpsilon } from 'privkit/accounting';
import { auditMechanism } from 'privkit/audit';
import { createRng, type Rng } from 'privkit/dp';
import { dpContingencyTable, dpQuantiles } from 'privkit/protect';

await ready();

const CONFIDENCE = 1 - 1e-6;
const TRIALS = 100_000;
const seeded = (k: number) => createRng({ seed: Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? k : i === 31 ? 0x5c : 0)) });

type Table = { sex: string; smoker: boolean }[];
const table: Table = [
  { sex: 'f', smoker: true },
  { sex: 'm', smoker: false },
  { sex: 'f', smoker: false },
];
const neighbourTable: Table = [...table, { sex: 'f', smoker: true }];
const domains = { sex: ['f', 'm'], smoker: [true, false] };
type Visits = { patient: string; ward: string }[];
const visits: Visits = [
  { patient: 'p1', ward: 'a' },
  { patient: 'p2', ward: 'b' },
  { patient: 'p2', ward: 'b' },
];
// one more person with three visits, all counted (maxRecordsPerUnit 3) and in one cell
const neighbourVisits: Visits = [...visits, ...Array.from({ length: 3 }, () => ({ patient: 'p3', ward: 'a' }))];
const values = [1, 3, 3, 5, 8];
const neighbourValues = [...values, 8];

const RHO = 0.5;
const DELTA = 1e-5;

interface Case {
  name: string;
  epsilon: number;
  delta: number;
  inputs: [unknown, unknown];
  /** A claim below the loss these neighbours show, which the audit must reject. */
  understated: number;
  mechanism(rng: Rng): (input: never) => ArrayLike<number>;
}

const CASES: Case[] = [
  {
    name: 'dpContingencyTable, discrete Laplace, epsilon 1',
    epsilon: 1,
    delta: 0,
    inputs: [table, neighbourTable],
    understated: 0.25,
    mechanism: (rng) => (t: Table) => dpContingencyTable(t, { columns: ['sex', 'smoker'], domains, epsilon: 1, rng }).counts,
  },
  {
    name: `dpContingencyTable, discrete Gaussian, rho ${RHO}`,
    epsilon: zcdpToEpsilon(RHO, DELTA).epsilon,
    delta: DELTA,
    inputs: [table, neighbourTable],
    understated: 0.5,
    mechanism: (rng) => (t: Table) => dpContingencyTable(t, { columns: ['sex', 'smoker'], domains, noise: 'gaussian', rho: RHO, rng }).counts,
  },
  {
    name: 'dpContingencyTable, privacy unit of up to 3 records, epsilon 1',
    epsilon: 1,
    delta: 0,
    inputs: [visits, neighbourVisits],
    understated: 0.25,
    mechanism: (rng) => (v: Visits) =>
      dpContingencyTable(v, { columns: ['ward'], domains: { ward: ['a', 'b'] }, privacyUnit: 'patient', maxRecordsPerUnit: 3, epsilon: 1, rng }).counts,
  },
  {
    name: 'dpQuantiles, median, epsilon 1',
    epsilon: 1,
    delta: 0,
    inputs: [values, neighbourValues],
    understated: 0.1,
    mechanism: (rng) => (v: number[]) => dpQuantiles(v, { quantiles: [0.5], lower: 0, upper: 10, steps: 10, epsilon: 1, rng }),
  },
  {
    name: 'dpQuantiles, quartiles, epsilon 2 in all',
    epsilon: 2,
    delta: 0,
    inputs: [values, neighbourValues],
    understated: 0.03,
    mechanism: (rng) => (v: number[]) => dpQuantiles(v, { quantiles: [0.25, 0.75], lower: 0, upper: 10, steps: 10, epsilon: 2, rng }),
  },
];

describe.each(CASES.map((c, k) => ({ ...c, k })))('$name', (c) => {
  it(`passes its claim and is caught below it (${TRIALS} trials)`, async () => {
    const audit = (claim: number, seed: number) =>
      auditMechanism({ mechanism: c.mechanism(seeded(seed)), inputs: c.inputs as [never, never], epsilon: claim, delta: c.delta, trials: TRIALS, confidence: CONFIDENCE });
    const result = await audit(c.epsilon, 2 * c.k);
    console.log(`${c.name}: lower bound ${result.epsilonLowerBound.toFixed(3)} <= claimed ${c.epsilon.toFixed(3)} (${result.event.description})`);
    expect(result.passed, `${result.epsilonLowerBound} > ${c.epsilon}: ${result.event.description}`).toBe(true);
    expect(result.epsilonLowerBound).toBeLessThanOrEqual(c.epsilon);
    const understated = await audit(c.understated, 2 * c.k + 1);
    expect(understated.passed, `${understated.epsilonLowerBound} <= ${c.understated}`).toBe(false);
  }, 60_000);
});
