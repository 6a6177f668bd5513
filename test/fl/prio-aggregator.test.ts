// PrioAggregator: honest clients' quantized updates sum to the true sum within the rounding bound;
// malicious clients (a forged proof of an over-norm update under either circuit, PINE by default or
// the bit-decomposed one, a flipped share byte, a replayed report, something that is not a report) are rejected and counted while the honest sum is unchanged; each
// aggregator really adds its discrete Gaussian (the released noise has variance 2 sigma^2); the round's
// event charges one discrete Gaussian of sigma with sensitivity sqrt(M), checked against the zCDP
// curve rho = D^2 / (2 sigma^2) computed here; FedAvg runs with it; a helper that aggregated other
// reports than the leader (one dropped, one under another nonce) is refused before release.
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { ready } from 'privkit';
import { RdpAccountant } from 'privkit/accounting';
import { createRng } from 'privkit/dp';
import { createModel, FedAvg, PrioAggregator, splitClients } from 'privkit/fl';
import { PrivkitError } from 'privkit';
import { Prio3, Prio3Aggregator, type Prio3Report } from 'privkit/prio';
import { boundedL2Circuit, PRIO3_BOUNDED_L2_ID } from '../../dist/src/prio/bounded-l2.js';
import { Field128, Field64, FieldVec } from '../../dist/src/prio/field.js';
import { PRIO3_PINE_L2_ID } from '../../dist/src/prio/pine.js';
import { expectPrivkitError } from '../support/helpers.js';

await ready();
const seed = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);

/** n updates of length d with norms spread over (0, clipNorm], deterministic. */
function updates(n: number, d: number, clipNorm: number): Float32Array[] {
  const rng = createRng({ seed: seed(0x21) });
  return Array.from({ length: n }, (_, k) => {
    const x = Float32Array.from(rng.uniform(d), (v) => v - 0.5);
    const norm = Math.hypot(...x);
    return x.map((v) => (v * clipNorm * (0.4 + (k % 4) / 5)) / norm);
  });
}

const trueSum = (xs: Float32Array[], d: number): Float64Array => {
  const s = new Float64Array(d);
  for (const x of xs) for (let j = 0; j < d; j++) s[j] += x[j]!;
  return s;
};

describe('PrioAggregator', () => {
  const d = 30;
  const clipNorm = 2;

  it('sums honest updates exactly up to the quantization (|error| <= n / (2 scale) per coordinate)', async () => {
    const xs = updates(5, d, clipNorm);
    const aggregator = new PrioAggregator({ dimension: d, clipNorm, bits: 12, noiseMultiplier: 0, rng: createRng({ seed: seed(1) }) });
    const { sum, included, event } = await aggregator.aggregate(xs, 1);
    expect(included).toBe(5);
    expect(event).toBeUndefined();
    const want = trueSum(xs, d);
    for (let j = 0; j < d; j++) expect(Math.abs(sum[j]! - want[j]!)).toBeLessThanOrEqual(5 / (2 * aggregator.scale) + 1e-6);
    expect(aggregator.reports[0]).toMatchObject({ round: 1, received: 5, accepted: 5, rejected: [], withheld: false });
    // the proven bound: (Q (1 + 2^-30) + sqrt(d)/2)^2 rounded up, Q = 2^11 - 1
    expect(aggregator.bound).toBe(Math.ceil((2047 * (1 + 2 ** -30) + Math.sqrt(d) / 2) ** 2));
  });

  it("rejects malicious reports, counts them, and sums only the honest ones (circuit 'bits')", async () => {
    const xs = updates(3, d, clipNorm);
    const aggregator = new PrioAggregator({ dimension: d, clipNorm, bits: 10, noiseMultiplier: 0, circuit: 'bits', rng: createRng({ seed: seed(2) }) });
    expect(aggregator.vdaf.name).toBe('Prio3BoundedL2VecSum');
    const honest = xs.map((x) => aggregator.clientReport(x));
    // A client that proves its own encoding: every coordinate at the maximum 511 (norm^2 = 30 x 511^2, far over M).
    const circuit = aggregator.vdaf.circuit;
    const overNorm = new Array<number>(d).fill(511);
    const forgedCircuit = { ...boundedL2Circuit(Field128, { length: d, bits: 10, bound: aggregator.bound, chunkLength: (circuit.gadgets[0] as { mulPairs: number }).mulPairs, normChunkLength: (circuit.gadgets[1] as { mulPairs: number }).mulPairs }) };
    const encoded = [...forgedCircuit.encode(overNorm.map(() => 0)).vec]; // valid slack bits for the zero vector...
    for (let i = 0; i < d; i++) for (let l = 0; l < 10; l++) encoded[i * 10 + l] = BigInt(((511 + 512) >> l) & 1); // ...coordinates set to 511
    const cheater = new Prio3<readonly number[], number[]>('Prio3BoundedL2VecSum', PRIO3_BOUNDED_L2_ID, { ...forgedCircuit, encode: () => FieldVec.fromValues(Field128, encoded) } as never, 1, 2, (m: unknown) => m as never);
    const overNormReport = cheater.shard([], { rng: createRng({ seed: seed(3) }) });
    const flipped = aggregator.clientReport(xs[0]!);
    const leaderShare = flipped.inputShares[0]!.slice();
    leaderShare[5]! ^= 0x10;
    const tampered: Prio3Report = { ...flipped, inputShares: [leaderShare, flipped.inputShares[1]!] };
    const truncated: Prio3Report = { ...flipped, inputShares: [flipped.inputShares[0]!.subarray(16), flipped.inputShares[1]!] };
    const reports = [honest[0]!, overNormReport, honest[1]!, tampered, truncated, { nonce: 1 } as never, honest[2]!, honest[0]!];
    const { sum, included } = await aggregator.aggregateReports(reports, 1);
    expect(included).toBe(3);
    expect(aggregator.reports[0]!.rejected).toEqual([1, 3, 4, 5, 7]); // 7: honest[0] replayed
    const want = trueSum(xs, d);
    for (let j = 0; j < d; j++) expect(Math.abs(sum[j]! - want[j]!)).toBeLessThanOrEqual(3 / (2 * aggregator.scale) + 1e-6);
    // a replay in a later round is rejected too; a round of only rejected reports is withheld
    const next = await aggregator.aggregateReports([honest[1]!], 2);
    expect(next).toEqual({ sum: new Float32Array(d), included: 0, event: null });
    expect(aggregator.reports[1]).toMatchObject({ accepted: 0, rejected: [0], withheld: true });
  });

  it('PINE by default: a forged over-norm report is rejected and the honest ones summed', async () => {
    const xs = updates(3, d, clipNorm);
    const aggregator = new PrioAggregator({ dimension: d, clipNorm, bits: 10, noiseMultiplier: 0, rng: createRng({ seed: seed(4) }) });
    expect(aggregator.circuit).toBe('pine');
    expect(aggregator.vdaf.name).toBe('Prio3PineL2VecSum');
    const honest = xs.map((x) => aggregator.clientReport(x));
    // every coordinate at 511 (norm^2 = 30 x 511^2, far over M), with the norm digits of 0
    const circuit = aggregator.vdaf.circuit;
    const zero = circuit.encode(new Array<number>(d).fill(0)).vec;
    const forged = { ...circuit, encode: () => FieldVec.fromValues(Field64, [...new Array<bigint>(d).fill(511n), ...zero.slice(d)]) };
    const cheater = new Prio3<readonly number[], number[]>('Prio3PineL2VecSum', PRIO3_PINE_L2_ID, forged as never, aggregator.vdaf.proofs, 2, (m: unknown) => m as never);
    const overNorm = cheater.shard([], { rng: createRng({ seed: seed(5) }) });
    const { sum, included } = await aggregator.aggregateReports([honest[0]!, overNorm, honest[1]!, honest[2]!], 1);
    expect(included).toBe(3);
    expect(aggregator.reports[0]!.rejected).toEqual([1]);
    const want = trueSum(xs, d);
    for (let j = 0; j < d; j++) expect(Math.abs(sum[j]! - want[j]!)).toBeLessThanOrEqual(3 / (2 * aggregator.scale) + 1e-6);
    expectPrivkitError(() => new PrioAggregator({ dimension: d, clipNorm, noiseMultiplier: 0, circuit: 'float' as never }), 'E_ARG', 'options.circuit');
  });

  /**
   * Runs a round of honest reports where the helper's add of report `target` is replaced by `helperAdd`
   * (the leader adds each report first, then the helper); returns the round's error, if any.
   */
  async function roundWithFaultyHelper(target: number, helperAdd: (add: (nonce: Uint8Array, share: Uint8Array) => void, nonce: Uint8Array, share: Uint8Array) => void) {
    const aggregator = new PrioAggregator({ dimension: d, clipNorm, bits: 10, noiseMultiplier: 0, rng: createRng({ seed: seed(9) }) });
    const reports = updates(4, d, clipNorm).map((u) => aggregator.clientReport(u));
    const original = Prio3Aggregator.prototype.add;
    let calls = 0;
    const spy = vi.spyOn(Prio3Aggregator.prototype, 'add').mockImplementation(function (this: Prio3Aggregator, nonce, share) {
      const add = (n: Uint8Array, s: Uint8Array): void => original.call(this, n, s);
      if (calls++ === 2 * target + 1) helperAdd(add, nonce, share);
      else add(nonce, share);
    });
    try {
      const error = await aggregator.aggregateReports(reports, 1).then(() => undefined, (e: unknown) => e);
      return { aggregator, reports, error };
    } finally {
      spy.mockRestore();
    }
  }

  it("refuses to release when the helper's reports differ from the leader's (count or checksum), then runs on", async () => {
    const dropped = await roundWithFaultyHelper(2, () => undefined);
    expect(dropped.error).toBeInstanceOf(PrivkitError);
    expect((dropped.error as PrivkitError).code).toBe('E_PROTOCOL');
    expect((dropped.error as PrivkitError).message).toMatch(/aggregated 4 reports, this .* aggregator 3/);
    expect(dropped.aggregator.reports[0]).toMatchObject({ accepted: 4, withheld: true });
    expect(dropped.aggregator.epsilonAgainstAggregators(1e-5)).toBe(0); // nothing released (noiseless: any release would be infinite)
    const swapped = await roundWithFaultyHelper(1, (add, nonce, share) => add(nonce.map((b) => b ^ 1), share));
    expect((swapped.error as PrivkitError).code).toBe('E_PROTOCOL');
    expect((swapped.error as PrivkitError).message).toMatch(/different report checksums/);
    // the refused round's sums were dropped: the next round of fresh reports releases their sum alone
    const fresh = updates(3, d, clipNorm).map((u) => swapped.aggregator.clientReport(u.map((v) => -v)));
    const next = await swapped.aggregator.aggregateReports(fresh, 2);
    expect(next.included).toBe(3);
    const want = trueSum(updates(3, d, clipNorm), d);
    for (let j = 0; j < d; j++) expect(Math.abs(next.sum[j]! + want[j]!)).toBeLessThanOrEqual(3 / (2 * swapped.aggregator.scale) + 1e-6);
  });

  it('the honest path releases as before, and a report sent twice is aggregated once', async () => {
    const { aggregator, reports, error } = await roundWithFaultyHelper(0, (add, nonce, share) => add(nonce, share));
    expect(error).toBeUndefined();
    expect(aggregator.reports[0]).toMatchObject({ accepted: 4, withheld: false });
    const again = await aggregator.aggregateReports([reports[0]!, reports[0]!], 2);
    expect(again.included).toBe(0);
    expect(aggregator.reports[1]).toMatchObject({ rejected: [0, 1], withheld: true });
  });

  it('refuses an update over the clip norm at the client', () => {
    const aggregator = new PrioAggregator({ dimension: 3, clipNorm: 1, noiseMultiplier: 0 });
    expectPrivkitError(() => aggregator.clientReport(Float32Array.of(1, 0.1, 0)), 'E_ARG', 'update');
    expectPrivkitError(() => aggregator.clientReport(new Float32Array(2)), 'E_SHAPE', 'update');
    expectPrivkitError(() => aggregator.clientReport(Float32Array.of(Number.NaN, 0, 0)), 'E_NONFINITE', 'update');
  });

  it('each aggregator adds N_Z(0, sigma^2): the released noise has variance 2 sigma^2', async () => {
    const dim = 3000;
    const aggregator = new PrioAggregator({ dimension: dim, clipNorm: 1, bits: 8, noiseMultiplier: 0.5, rng: createRng({ seed: seed(4) }) });
    const { sum, event } = await aggregator.aggregate([new Float32Array(dim)], 1);
    let squares = 0;
    for (const v of sum) squares += (v * aggregator.scale) ** 2;
    const ratio = squares / dim / (2 * aggregator.noiseSigma ** 2);
    // 3000 coordinates: the variance estimate's relative standard error is sqrt(2/3000) = 2.6%; one aggregator's noise alone would give 0.5
    expect(ratio).toBeGreaterThan(0.88);
    expect(ratio).toBeLessThan(1.12);
    expect(event).toEqual({ mechanism: 'distributed-discrete-gaussian', localSigma: aggregator.noiseSigma, clients: 1, l2Sensitivity: Math.sqrt(aggregator.bound), dimension: dim });
  });

  it('charges rho = (2 sqrt(M))^2 / (2 sigma^2) = 2 / z^2 per round against the aggregators (replace-one, no sampling)', async () => {
    const z = 3;
    const aggregator = new PrioAggregator({ dimension: 4, clipNorm: 1, bits: 6, noiseMultiplier: z, rng: createRng({ seed: seed(5) }) });
    for (let round = 1; round <= 4; round++) await aggregator.aggregate([Float32Array.of(0.5, 0.5, 0.5, -0.5)], round);
    const rho = (4 * aggregator.bound) / (2 * aggregator.noiseSigma ** 2);
    expect(rho).toBeCloseTo(2 / z ** 2, 12);
    const reference = new RdpAccountant().step({ mechanism: 'zcdp', rho, steps: 4 }).getEpsilon(1e-6).epsilon;
    expect(aggregator.epsilonAgainstAggregators(1e-6)).toBeCloseTo(reference, 9);
    expectPrivkitError(() => aggregator.epsilonAgainstAggregators(0), 'E_ARG', 'delta');
  });

  // test/vectors/prio-fl-epsilon-vectors.py (mpmath): M from the quantization, rho = 2 rounds / z^2,
  // CKS20's conversion minimised over a continuous order, and the continuous Gaussian's exact epsilon.
  const epsilonVectors = JSON.parse(readFileSync(new URL('../vectors/prio-fl-epsilon.json', import.meta.url), 'utf8')) as {
    dimension: number; bits: number; noiseMultiplier: number; rounds: number; delta: number; bound: number; rho: number; epsilonCks20: number; epsilonGaussianExact: number;
  }[];
  it.each(epsilonVectors)('epsilon against the aggregators matches mpmath: d $dimension, bits $bits, z $noiseMultiplier, $rounds rounds', async (v) => {
    const aggregator = new PrioAggregator({ dimension: v.dimension, clipNorm: 1, bits: v.bits, noiseMultiplier: v.noiseMultiplier });
    expect(aggregator.bound).toBe(v.bound);
    expect(aggregator.noiseSigma).toBeCloseTo(v.noiseMultiplier * Math.sqrt(v.bound), 9);
    const update = new Float32Array(v.dimension);
    update[0] = 0.6;
    update[v.dimension - 1] = -0.8;
    for (let round = 1; round <= v.rounds; round++) await aggregator.aggregate([update], round);
    const epsilon = aggregator.epsilonAgainstAggregators(v.delta);
    // the accountant's grid of orders can only be above the continuous optimum, and close to it
    expect(epsilon).toBeGreaterThanOrEqual(v.epsilonCks20 * (1 - 1e-12));
    expect(epsilon).toBeLessThan(v.epsilonCks20 * 1.002);
    expect(epsilon).toBeGreaterThan(v.epsilonGaussianExact);
  });

  it('refuses bad options', () => {
    expectPrivkitError(() => new PrioAggregator({ dimension: 3, clipNorm: 1, bits: 25, noiseMultiplier: 1 }), 'E_ARG', 'options.bits');
    expectPrivkitError(() => new PrioAggregator({ dimension: 3, clipNorm: 0, noiseMultiplier: 1 }), 'E_ARG', 'options.clipNorm');
    expectPrivkitError(() => new PrioAggregator({ dimension: 3, clipNorm: 1, noiseMultiplier: -1 }), 'E_ARG', 'options.noiseMultiplier');
    expectPrivkitError(() => new PrioAggregator({ dimension: 3, clipNorm: 1, bits: 2, noiseMultiplier: 0.01 }), 'E_ARG', 'options.noiseMultiplier');
  });

  it('runs FedAvg: every round verified and charged', async () => {
    const classes = 2;
    const inputs = 6;
    const rng = createRng({ seed: seed(6) });
    const u = rng.uniform(60 * inputs);
    const images = Float32Array.from(u);
    const labels = Uint8Array.from({ length: 60 }, (_, r) => (images[r * inputs]! > 0.5 ? 1 : 0));
    const model = createModel({ type: 'softmax-regression', inputs, classes });
    const clients = splitClients(6, { images, labels });
    const aggregator = new PrioAggregator({ dimension: model.paramCount, clipNorm: 1, bits: 12, noiseMultiplier: 1, rng: createRng({ seed: seed(7) }) });
    const fedavg = new FedAvg({ model, clients, rounds: 2, clientsPerRound: 3, clipNorm: 1, aggregator, local: { epochs: 1, batchSize: 5, learningRate: 0.5 }, seed: seed(8) });
    while (fedavg.round < fedavg.rounds) await fedavg.runRound();
    expect(aggregator.reports.map((r) => r.accepted)).toEqual([3, 3]);
    expect(fedavg.epsilon).toBeGreaterThan(0);
    expect(fedavg.epsilon).toBeLessThan(aggregator.epsilonAgainstAggregators(fedavg.delta));
  });
});
