// Prio3PineL2VecSum (PINE): honest vectors verify (two aggregators over ping-pong, three over the star
// exchange) and unshard to the exact sum; a client past the norm bound (lying about its norm, or with a
// non-bit norm digit), a wraparound attack (a vector whose squared norm is p, so 0 in the field) and
// flipped bytes of every part of a report are each rejected; an aggregator refuses a public share with
// another aggregator's wraparound part changed before it sends a verifier share (a deviating leader
// would otherwise read the client's vector from the verifier message); the encoding decodes back to the vector,
// its norm and its dot products (against a plain reference), and the wraparound dot products match
// BigInt arithmetic (fast-check); truncated and oversized inputs and bad options are coded errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { Prio3, prio3PineL2VecSum, type Prio3Report } from 'privkit/prio';
import { PINE_WRAPAROUND_CHECKS, pineCircuit, PRIO3_PINE_L2_ID, wraparoundBound } from '../../dist/src/prio/pine.js';
import { add, decodeVec, encodeVec, Field128, Field64, FieldVec, inv, mul, sub } from '../../dist/src/prio/field.js';
import { encodeRangeChecked } from '../../dist/src/prio/flp.js';
import { expandIntoVec, wraparoundDotProducts } from '../../dist/src/prio/kernels.js';
import { expectPrivkitError, FC_SEED } from '../support/helpers.js';
import { prioRounds } from '../support/prio-rounds.js';

await ready();
fc.configureGlobal({ seed: FC_SEED, numRuns: 40, endOnFailure: true });
const rng = createRng({ seed: new Uint8Array(32).fill(23) });
const verifyKey = rng.bytes(32);
const p = Field64.modulus;
const r = PINE_WRAPAROUND_CHECKS;

type Vdaf = Prio3<readonly number[], number[]>;
const { verifyPingPong, aggregate } = prioRounds(verifyKey, rng);

/** A random integer vector with squared norm <= bound (coordinates of either sign). */
function randomVector(length: number, bound: number): number[] {
  const v = Array.from(rng.uniform(length), (u) => u - 0.5);
  const norm = Math.hypot(...v);
  const scale = norm === 0 ? 0 : Math.sqrt(bound) / norm;
  return v.map((x) => Math.trunc(x * scale));
}

const toField = (x: bigint): bigint => ((x % p) + p) % p;
const centred = (x: bigint): bigint => (x > p >> 1n ? x - p : x);

/** Prio3PineL2VecSum over a circuit a cheating client changed (3 proofs, 2 aggregators, no client-side check). */
const cheatVdaf = (circuit: object): Vdaf => new Prio3('Prio3PineL2VecSum', PRIO3_PINE_L2_ID, circuit as never, 3, 2, (m: unknown) => m as never);

/** The encoded prefix a client claims: these coordinates (any integers) and these norm elements. */
const claimedPrefix = (x: readonly bigint[], normElements: readonly bigint[]): FieldVec => FieldVec.fromValues(Field64, [...x.map(toField), ...normElements]);

/** The {-1, 0, 1} entries of a wraparound stream (00 is -1, 11 is +1). */
const projection = (stream: Uint8Array, dimension: number): number[] =>
  Array.from({ length: dimension }, (_, i) => [-1, 0, 0, 1][(stream[i >> 2]! >> (2 * (i & 3))) & 3]!);

describe('honest clients: vectors within the bound aggregate to the exact sum', () => {
  const cases: [number, number, number][] = [
    // length, bound, aggregators
    [1, 1, 2],
    [7, 20, 2],
    [50, 127 * 127, 2],
    [300, 3000 ** 2, 2],
    [33, 400, 3],
    [20, 2 ** 52, 2],
  ];
  it.each(cases)('length %i, bound %i, %i aggregators', (length, bound, shares) => {
    const vdaf = prio3PineL2VecSum({ length, bound, shares });
    const vectors = Array.from({ length: 4 }, () => randomVector(length, bound));
    // the extremes: all the norm on one negative coordinate, and the zero vector
    vectors.push([-Math.floor(Math.sqrt(bound)), ...new Array<number>(length - 1).fill(0)]);
    vectors.push(new Array<number>(length).fill(0));
    const want = Array.from({ length }, (_, i) => vectors.reduce((s, v) => s + v[i]!, 0));
    expect(aggregate(vdaf, vectors)).toEqual(want);
  });

  it('a vector exactly on the bound is accepted (3^2 + 4^2 = 25), one past it is refused at the client', () => {
    const vdaf = prio3PineL2VecSum({ length: 3, bound: 25 });
    expect(aggregate(vdaf, [[3, -4, 0], [-3, 4, 0], [0, 0, -5]])).toEqual([0, 0, -5]);
    expectPrivkitError(() => vdaf.shard([3, 4, 1]), 'E_ARG', 'measurement');
  });

  it('a report is about 2x a float32 vector and 4x a 16-bit one (n = 30,000)', () => {
    const length = 30_000;
    const vdaf = prio3PineL2VecSum({ length, bound: 32767 ** 2 });
    const report = vdaf.shard(randomVector(length, 32767 ** 2), { rng });
    const bytes = report.nonce.length + report.publicShare.length + report.inputShares.reduce((s, x) => s + x.length, 0);
    // one Field64 element a coordinate, the bits of the norm and of 100 tests, three small proofs
    expect(bytes / (4 * length)).toBeGreaterThan(2);
    expect(bytes / (4 * length)).toBeLessThan(2.5);
  });
});

describe('the encoding decodes to the vector, its norm and its dot products', () => {
  it('coordinates, the norm digits and each test v_k = y_k + W - 1 against a plain reference', () => {
    const length = 41;
    const bound = 5000;
    const circuit = pineCircuit(Field64, { length, bound, chunkLength: 10, normChunkLength: 7 });
    const w = wraparoundBound(bound);
    const x = randomVector(length, bound);
    const prefix = circuit.encode(x);
    const streams = Array.from({ length: r }, () => rng.bytes(Math.ceil(length / 4)));
    const results = wraparoundDotProducts(Field64, prefix.bytes, length, r, (k) => streams[k]!);
    const expected = streams.map((s) => projection(s, length).reduce((sum, z, i) => sum + z * x[i]!, 0));
    expect(results.map(centred)).toEqual(expected.map(BigInt));
    const meas = circuit.wraparound!.complete(prefix, results)!.vec;
    expect(meas.length).toBe(circuit.measLen);
    expect(meas.slice(0, length).map(centred)).toEqual(x.map(BigInt));
    const normBits = encodeRangeChecked(x.reduce((s, v) => s + v * v, 0), bound);
    expect(meas.slice(length, length + normBits.length)).toEqual(normBits);
    const testBits = Math.log2(w) + 1;
    for (let k = 0; k < r; k++) {
      const start = length + normBits.length + k * testBits;
      const v = meas.slice(start, start + testBits).reduceRight((s, b) => 2n * s + b, 0n);
      expect(v).toBe(BigInt(expected[k]! + w - 1));
    }
  });

  it('a dot product out of [-(W - 1), W] makes complete refuse (the client would shard again)', () => {
    const circuit = pineCircuit(Field64, { length: 2, bound: 4, chunkLength: 10, normChunkLength: 2 });
    const w = wraparoundBound(4);
    const prefix = circuit.encode([2, 0]);
    const inRange = new Array<bigint>(r).fill(BigInt(w));
    expect(circuit.wraparound!.complete(prefix, inRange)).toBeDefined();
    expect(circuit.wraparound!.complete(prefix, inRange.map((y, k) => (k === 37 ? y + 1n : y)))).toBeUndefined();
    expect(circuit.wraparound!.complete(prefix, inRange.map((y, k) => (k === 0 ? p - BigInt(w) : y)))).toBeUndefined();
  });

  it('wraparoundDotProducts equals BigInt arithmetic on any field elements (Field64, Field128)', () => {
    for (const f of [Field64, Field128]) {
      fc.assert(
        fc.property(fc.array(fc.bigInt({ min: 0n, max: f.modulus - 1n }), { minLength: 1, maxLength: 70 }), fc.integer({ min: 1, max: 5 }), (x, checks) => {
          const streams = Array.from({ length: checks }, () => rng.bytes(Math.ceil(x.length / 4)));
          const got = wraparoundDotProducts(f, encodeVec(f, x), x.length, checks, (k) => streams[k]!);
          const want = streams.map((s) => {
            const z = projection(s, x.length);
            const sum = z.reduce((acc, zi, i) => acc + BigInt(zi) * x[i]!, 0n);
            return ((sum % f.modulus) + f.modulus) % f.modulus;
          });
          expect(got).toEqual(want);
        }),
      );
    }
  });

  it('the largest elements over a long vector stay exact (float64 limb sums)', () => {
    const n = 20_000;
    const x = new Array<bigint>(n).fill(p - 1n);
    const all = new Uint8Array(Math.ceil(n / 4)).fill(0xff); // every entry +1
    expect(wraparoundDotProducts(Field64, encodeVec(Field64, x), n, 1, () => all)).toEqual([toField(-BigInt(n))]);
    const none = new Uint8Array(Math.ceil(n / 4)); // every entry -1
    expect(wraparoundDotProducts(Field64, encodeVec(Field64, x), n, 1, () => none)).toEqual([BigInt(n)]);
  });
});

describe('malicious clients are rejected', () => {
  const length = 3;
  const bound = 25;
  const params = { length, bound, chunkLength: 50, normChunkLength: 2 };
  const circuit = pineCircuit(Field64, params);

  it('a norm one past the bound with a norm claim within it (bits valid, the sum of squares differs)', () => {
    const cheat = cheatVdaf({ ...circuit, encode: () => claimedPrefix([3n, 4n, 1n], encodeRangeChecked(25, bound)) });
    expectPrivkitError(() => verifyPingPong(cheat, cheat.shard([], { rng })), 'E_AUTH');
    // the same report made honestly verifies: the rejection is the norm's
    const honest = cheatVdaf({ ...circuit, encode: () => claimedPrefix([3n, 4n, 0n], encodeRangeChecked(25, bound)) });
    expect(verifyPingPong(honest, honest.shard([], { rng }))).toHaveLength(2);
  });

  it('a norm claim of bound + 1 through a non-bit digit', () => {
    const digits = encodeRangeChecked(25, bound);
    expect(digits[0]).toBe(1n);
    const cheat = cheatVdaf({ ...circuit, encode: () => claimedPrefix([3n, 4n, 1n], [2n, ...digits.slice(1)]) });
    expectPrivkitError(() => verifyPingPong(cheat, cheat.shard([], { rng })), 'E_AUTH');
  });

  it('a wraparound attack: x = (2^32 - 1, 2^16, 0), sum x_i^2 = p, is 0 in the field and rejected', () => {
    const x = [2n ** 32n - 1n, 2n ** 16n, 0n];
    expect(x.reduce((s, v) => s + v * v, 0n)).toBe(p);
    const w = wraparoundBound(bound);
    // the client claims norm 0 and, for each test out of range, a result of 0
    const lie = (results: readonly bigint[]): bigint[] => results.map((y) => (centred(y) >= BigInt(1 - w) && centred(y) <= BigInt(w) ? y : 0n));
    const wraparound = { ...circuit.wraparound!, complete: (prefix: FieldVec, results: readonly bigint[]) => circuit.wraparound!.complete(prefix, lie(results)) };
    const cheatCircuit = { ...circuit, encode: () => claimedPrefix(x, encodeRangeChecked(0, bound)), wraparound };
    const cheat = cheatVdaf(cheatCircuit);
    for (let i = 0; i < 3; i++) expectPrivkitError(() => verifyPingPong(cheat, cheat.shard([], { rng })), 'E_AUTH');

    // without the wraparound tests the circuit would accept it: the bit check and the norm check are 0
    const prefix = cheatCircuit.encode();
    const streams = Array.from({ length: r }, () => rng.bytes(1));
    const results = wraparoundDotProducts(Field64, prefix.bytes, length, r, (k) => streams[k]!);
    const meas = FieldVec.fromValues(Field64, [...wraparound.complete(prefix, results)!.vec, ...results]);
    const gadgets = circuit.gadgets.map((g) => (inp: readonly bigint[]) => g.eval(Field64, inp));
    const jointRand = decodeVec(Field64, encodeVec(Field64, Array.from({ length: circuit.jointRandLen }, (_, i) => BigInt(i + 2))), 'r');
    const out = circuit.eval(meas, jointRand, 1, gadgets);
    expect(out.slice(0, 2)).toEqual([0n, 0n]);
    // a test passes only when z_0 = z_1 = 0 (probability 1/4): most of the 100 fail
    expect(out.slice(2).filter((v) => v !== 0n).length).toBeGreaterThan(50);
  });

  it('flipped bytes of every part of a report are refused (E_AUTH)', () => {
    const vdaf = prio3PineL2VecSum({ length: 20, bound: 400 });
    const c = pineCircuit(Field64, { length: 20, bound: 400, chunkLength: 50, normChunkLength: 5 });
    const measBytes = 8 * c.measLen;
    const report = vdaf.shard(randomVector(20, 400), { rng });
    expect(verifyPingPong(vdaf, report)).toHaveLength(2);
    const leader = report.inputShares[0]!;
    const targets: [string, 'leader' | 'helper' | 'public', number][] = [
      ['a coordinate share', 'leader', 8 * 3],
      ['a norm digit share', 'leader', 8 * 21],
      ['a wraparound test digit share', 'leader', measBytes - 8],
      ['a proof element', 'leader', measBytes + 8 * 5],
      ['the last proof element', 'leader', leader.length - 32 - 8],
      ['the leader blind', 'leader', leader.length - 1],
      ['the helper seed', 'helper', 0],
      ['the helper blind', 'helper', 40],
      ['a joint-randomness part', 'public', 3],
      ['the leader wraparound part', 'public', 64 + 5],
      ['the helper wraparound part', 'public', 96 + 31],
    ];
    for (const [, where, at] of targets) {
      const flip = (bytes: Uint8Array): Uint8Array => {
        const copy = bytes.slice();
        copy[at]! ^= 1;
        return copy;
      };
      const bad: Prio3Report = {
        nonce: report.nonce,
        publicShare: where === 'public' ? flip(report.publicShare) : report.publicShare,
        inputShares: [where === 'leader' ? flip(leader) : leader, where === 'helper' ? flip(report.inputShares[1]!) : report.inputShares[1]!],
      };
      const error = expectPrivkitError(() => verifyPingPong(vdaf, bad), 'E_AUTH');
      // the leader checks its own wraparound part, and the helper's through its joint-randomness part (which hashes the wraparound seed)
      if (where === 'public' && at >= 96) expect(error.message).toMatch(/joint-randomness part 0 of the public share/);
      else if (where === 'public' && at >= 64) expect(error.message).toMatch(/wraparound part 0 of the public share/);
    }
  });
});

describe('a deviating leader learns nothing from the helper about the vector', () => {
  // The helper cannot check the leader's wraparound part (it hashes the leader's share). A leader that
  // forwards the helper a public share with another leader part makes the helper dot its share with
  // other vectors z'_k; the verifier's reduced output v = sum_k rho_k (y_k - v_k + W - 1) is linear in
  // the y_k, so v = sum_k rho_k <x_H, z'_k - z_k>, and the leader, knowing x_L, rho and both z, reads
  // sum_k rho_k <x, z'_k - z_k>: one linear equation in x per proof (3 here: x of length 3 solved).
  it("the helper refuses a public share whose leader wraparound part is not the client's (E_AUTH) before sending a verifier share", () => {
    const length = 3;
    const vdaf = prio3PineL2VecSum({ length, bound: 25 });
    const x = [3, -4, 0];
    const report = vdaf.shard(x, { rng });
    const forged = report.publicShare.slice();
    forged.set(rng.bytes(32), 64); // the leader's wraparound part
    const input = (aggregatorId: number, publicShare: Uint8Array) => ({ verifyKey, aggregatorId, nonce: report.nonce, publicShare, inputShare: report.inputShares[aggregatorId]! });
    const attack = (): bigint[] => {
      const helper = vdaf.verifyInit(input(1, forged));
      const leader = vdaf.verifyInit(input(0, report.publicShare));
      // each verifier share ends with its 32-byte joint-randomness part
      const elements = (share: Uint8Array): bigint[] => decodeVec(Field64, share.subarray(0, share.length - 32), 'verifierShare');
      const combined = elements(leader.verifierShare).map((e, i) => add(Field64, e, elements(helper.verifierShare)[i]!));
      // the leader's view: rho from the verify key, z and z' from the two public shares, its share x_L
      const internals = vdaf as unknown as { dst(usage: number, ctx: Uint8Array): Uint8Array; wraparoundSeed(ctx: Uint8Array, parts: Uint8Array[]): Uint8Array; wraparoundResults(ctx: Uint8Array, seed: Uint8Array, meas: FieldVec): bigint[] };
      const ctx = new Uint8Array(0);
      const proofs = 3;
      const queryLength = 2 + 2 + r; // a test point per gadget, a coefficient per output
      const rho = expandIntoVec(Field64, verifyKey, internals.dst(5, ctx), new Uint8Array([proofs, ...report.nonce]), queryLength * proofs);
      const seed = (share: Uint8Array): Uint8Array => internals.wraparoundSeed(ctx, [0, 1].map((j) => share.subarray(64 + 32 * j, 96 + 32 * j)));
      const unit = (i: number): FieldVec => FieldVec.fromValues(Field64, Array.from({ length }, (_, j) => (j === i ? 1n : 0n)));
      const d = Array.from({ length }, (_, i) => {
        const honest = internals.wraparoundResults(ctx, seed(report.publicShare), unit(i));
        return internals.wraparoundResults(ctx, seed(forged), unit(i)).map((v, k) => sub(Field64, v, honest[k]!));
      });
      const xL = decodeVec(Field64, report.inputShares[0]!.subarray(0, 8 * length), 'x');
      const verifierLength = combined.length / proofs;
      const rows = Array.from({ length: proofs }, (_, j) => {
        const coefficient = (i: number): bigint => d[i]!.reduce((s, dk, k) => add(Field64, s, mul(Field64, rho[j * queryLength + 2 + k]!, dk)), 0n);
        const known = xL.reduce((s, xi, i) => add(Field64, s, mul(Field64, xi, coefficient(i))), 0n);
        return [...Array.from({ length }, (_, i) => coefficient(i)), add(Field64, combined[j * verifierLength]!, known)];
      });
      // Gaussian elimination mod p
      for (let col = 0; col < length; col++) {
        const pivot = rows.findIndex((row, i) => i >= col && row[col] !== 0n);
        [rows[col], rows[pivot]] = [rows[pivot]!, rows[col]!];
        const scale = inv(Field64, rows[col]![col]!);
        rows[col] = rows[col]!.map((e) => mul(Field64, e, scale));
        for (let i = 0; i < length; i++) {
          if (i !== col) rows[i] = rows[i]!.map((e, k) => sub(Field64, e, mul(Field64, rows[i]![col]!, rows[col]![k]!)));
        }
      }
      return rows.map((row) => centred(row[length]!));
    };
    // without the binding this recovered x = [3n, -4n, 0n]: the helper must refuse first
    expectPrivkitError(attack, 'E_AUTH');
    // the unforged public share verifies
    expect(verifyPingPong(vdaf, report)).toHaveLength(2);
  });

  it('with three aggregators, each refuses a public share with any other aggregator\'s wraparound part changed', () => {
    const vdaf = prio3PineL2VecSum({ length: 4, bound: 30, shares: 3 });
    const report = vdaf.shard([1, -2, 3, 4], { rng });
    for (let other = 0; other < 3; other++) {
      for (let aggregatorId = 0; aggregatorId < 3; aggregatorId++) {
        if (aggregatorId === other) continue;
        const forged = report.publicShare.slice();
        forged[3 * 32 + 32 * other + 7]! ^= 1;
        const error = expectPrivkitError(() => vdaf.verifyInit({ verifyKey, aggregatorId, nonce: report.nonce, publicShare: forged, inputShare: report.inputShares[aggregatorId]! }), 'E_AUTH');
        expect(error.message).toMatch(new RegExp(`joint-randomness part ${aggregatorId} of the public share`));
      }
    }
    // every aggregator accepts the client's public share
    for (let aggregatorId = 0; aggregatorId < 3; aggregatorId++) vdaf.verifyInit({ verifyKey, aggregatorId, nonce: report.nonce, publicShare: report.publicShare, inputShare: report.inputShares[aggregatorId]! });
  });
});

describe('bad input gets coded errors', () => {
  const vdaf = prio3PineL2VecSum({ length: 10, bound: 100 });
  const report = vdaf.shard([1, 2, 3, 0, 0, 0, 0, 0, 0, -1], { rng });
  const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };

  it('truncated and oversized shares are E_ARG naming them', () => {
    expectPrivkitError(() => vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]!.subarray(1) }), 'E_ARG', 'inputShare');
    expectPrivkitError(() => vdaf.leaderInit({ ...common, inputShare: new Uint8Array([...report.inputShares[0]!, 0]) }), 'E_ARG', 'inputShare');
    // a public share without the wraparound parts (the length of a Prio3 joint-randomness public share)
    expectPrivkitError(() => vdaf.leaderInit({ ...common, publicShare: report.publicShare.subarray(0, 64), inputShare: report.inputShares[0]! }), 'E_ARG', 'publicShare');
    const leader = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
    expectPrivkitError(() => vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!.subarray(0, 63), inbound: leader.outbound }), 'E_ARG', 'inputShare');
    expectPrivkitError(() => vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound.subarray(0, 10) }), 'E_PROTOCOL');
  });

  it('bad measurements and options are E_ARG', () => {
    expectPrivkitError(() => vdaf.shard([1, 2, 3]), 'E_ARG', 'measurement');
    expectPrivkitError(() => vdaf.shard([0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 'E_ARG', 'measurement', 0);
    expectPrivkitError(() => vdaf.shard([0, 0, 0, 0, 0, 0, 0, 0, 0, 11]), 'E_ARG', 'measurement');
    expectPrivkitError(() => prio3PineL2VecSum({ length: 0, bound: 1 }), 'E_ARG', 'length');
    expectPrivkitError(() => prio3PineL2VecSum({ length: 2 ** 21 + 1, bound: 1 }), 'E_ARG', 'length');
    expectPrivkitError(() => prio3PineL2VecSum({ length: 4, bound: 0 }), 'E_ARG', 'bound');
    expectPrivkitError(() => prio3PineL2VecSum({ length: 4, bound: 2 ** 53 }), 'E_ARG', 'bound');
    expectPrivkitError(() => prio3PineL2VecSum({ length: 4, bound: 9, proofs: 2 }), 'E_ARG', 'proofs');
    expectPrivkitError(() => prio3PineL2VecSum({ length: 4, bound: 9, normChunkLength: 5 }), 'E_ARG', 'normChunkLength');
    expectPrivkitError(() => prio3PineL2VecSum('length 4' as never), 'E_ARG', 'opts');
  });

  it("a field too small for the paper's conditions (p >= 2600 W) is E_ARG naming the bound", () => {
    const small = { ...Field64, name: 'F65537', modulus: 65537n };
    expectPrivkitError(() => pineCircuit(small, { length: 4, bound: 100, chunkLength: 10, normChunkLength: 2 }), 'E_ARG', 'bound');
    expect(pineCircuit(Field64, { length: 4, bound: Number.MAX_SAFE_INTEGER, chunkLength: 10, normChunkLength: 2 }).measLen).toBeGreaterThan(4);
  });

  it('an aggregate of too many reports to read centred is E_OVERFLOW', () => {
    const wide = prio3PineL2VecSum({ length: 2, bound: 2 ** 52 });
    const shares = [wide.aggregator().share(), wide.aggregator().share()];
    expect(wide.unshard(shares, 1000)).toEqual([0, 0]);
    expectPrivkitError(() => wide.unshard(shares, 2 ** 40), 'E_OVERFLOW', 'numMeasurements');
  });
});
