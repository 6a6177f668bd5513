// Prio3 against an attacker (issue 16, "Bad input"), for every variant: a malicious client that
// forges its own reports (invalid encodings with honest proofs, all-zero proofs, a proof reused for
// another measurement, a public share whose joint-randomness part lies so the aggregators would
// disagree), the network (every byte of every share and message flipped, truncated, oversized and
// non-canonical encodings, replays, splices, another nonce), and a malicious aggregator (shifted
// shares whose rejection would tell it the measurement). Each refusal is a coded PrivkitError and
// nothing of the report is aggregated. Also: the Field64 multiproof soundness floor, ambiguous
// (wrapped) sums, wasm memory after the calls, copies of caller arrays, and the XOF's rejection sampling.
import { describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import {
  Prio3,
  prio3Count,
  prio3BoundedL2VecSum,
  prio3HigherDegree,
  prio3Histogram,
  prio3MultihotCountVec,
  prio3Sum,
  prio3SumVec,
  prio3SumVecWithMultiproof,
  type Prio3Report,
} from 'privkit/prio';
import { encodeVec, Field128, Field64, sub, vecAdd, vecSub, type Field } from '../../dist/src/prio/field.js';
import { type Circuit, type GadgetCall, prove, proveRandLen, query, queryRandLen } from '../../dist/src/prio/flp.js';
import { expandIntoVec } from '../../dist/src/prio/kernels.js';
import { prioWasm } from '../../dist/src/prio/wasm.js';
import { XofTurboShake128 } from '../../dist/src/prio/xof.js';
import { catchPrivkitError, expectPrivkitError } from '../support/helpers.js';

await ready();
const rng = createRng({ seed: new Uint8Array(32).fill(23) });
const verifyKey = rng.bytes(32);
const ctx = new Uint8Array(0);

type AnyPrio3 = Prio3<any, any>;
type AnyCircuit = Circuit<unknown, unknown>;

/** The variants under attack (small shapes), each with a valid measurement and invalid encodings. */
const VARIANTS: { name: string; make: (shares: number) => AnyPrio3; valid: unknown; other: unknown; invalid: bigint[][] }[] = [
  { name: 'Count', make: (shares) => prio3Count({ shares }), valid: 1, other: 0, invalid: [[2n], [Field64.modulus - 1n]] },
  // max 1000: 9 binary digits and a last bit of weight 489; a last "bit" of 2 decodes to 978, in range, but is not a bit
  { name: 'Sum', make: (shares) => prio3Sum({ max: 1000, shares }), valid: 1000, other: 17, invalid: [[0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 2n], [3n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]] },
  { name: 'SumVec', make: (shares) => prio3SumVec({ length: 3, bits: 2, chunkLength: 2, shares }), valid: [3, 0, 2], other: [0, 1, 1], invalid: [[1n, 0n, 2n, 0n, 0n, 0n], [0n, 0n, 0n, 0n, 0n, Field128.modulus - 1n]] },
  { name: 'SumVecWithMultiproof', make: (shares) => prio3SumVecWithMultiproof({ length: 2, max: 5, proofs: 3, chunkLength: 2, shares }), valid: [5, 1], other: [0, 0], invalid: [[2n, 0n, 0n, 0n, 0n, 0n]] },
  { name: 'Histogram', make: (shares) => prio3Histogram({ length: 4, chunkLength: 2, shares }), valid: 2, other: 0, invalid: [[1n, 1n, 0n, 0n], [0n, 0n, 0n, 0n], [2n, Field128.modulus - 1n, 0n, 0n]] },
  // length 4, maxWeight 2 (weight bits [b0, last] with weights 1, 1): 3 trues claiming weight 2, or weight 3 as [1, 2]
  { name: 'MultihotCountVec', make: (shares) => prio3MultihotCountVec({ length: 4, maxWeight: 2, chunkLength: 2, shares }), valid: [true, false, false, true], other: [false, true, false, false], invalid: [[1n, 1n, 1n, 0n, 1n, 1n], [1n, 1n, 1n, 0n, 1n, 2n]] },
  { name: 'HigherDegree', make: (shares) => prio3HigherDegree({ shares }), valid: 2, other: 1, invalid: [[3n], [Field64.modulus - 1n]] },
  // length 2, bits 3 (offsets e = q + 4 as 3 bits), bound 10 (slack: 3 binary digits and a last bit of weight 3):
  // (3, -4) with norm 25 and slack 0; e_0 = 2 sent as the non-bit (2, 0, 0) with e_1 = 4 and an honest slack 6 for norm 4
  { name: 'BoundedL2VecSum', make: (shares) => prio3BoundedL2VecSum({ length: 2, bits: 3, bound: 10, chunkLength: 3, normChunkLength: 1, shares }), valid: [3, -1], other: [0, 2], invalid: [[1n, 1n, 1n, 0n, 0n, 0n, 0n, 0n, 0n, 0n], [2n, 0n, 0n, 0n, 0n, 1n, 0n, 1n, 1n, 0n]] },
];
const TWO = VARIANTS.map((v) => [v.name, v.make(2), v] as const);

const randomElements = (f: Field, length: number): bigint[] =>
  Array.from({ length }, () => BigInt(`0x${Buffer.from(rng.bytes(f.encodedSize)).toString('hex')}`) % f.modulus);

const concat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(parts.flatMap((p) => [...p]));

const flip = (bytes: Uint8Array, at: number, bit = 0): Uint8Array => {
  const copy = bytes.slice();
  copy[at]! ^= 1 << bit;
  return copy;
};

/** A vector of field elements from its little-endian encoding, without the range check (the attacker's view). */
function decode(f: Field, bytes: Uint8Array): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < bytes.length; i += f.encodedSize) {
    let x = 0n;
    for (let b = f.encodedSize - 1; b >= 0; b--) x = (x << 8n) | BigInt(bytes[i + b]!);
    out.push(x);
  }
  return out;
}

/** What a forging client knows when it makes proof `index`: every aggregator's measurement share and the joint randomness each will derive. */
interface ForgeView {
  readonly index: number;
  readonly proveRand: bigint[];
  /** The joint randomness (all proofs) derived from the true parts. */
  readonly jointRand: bigint[];
  readonly jointRandOf: bigint[][];
  readonly measShares: bigint[][];
}

/**
 * A malicious client: Prio3's sharding (draft section 7.2) with the encoded measurement, the proof
 * of each proof index and the public share's joint-randomness part `lie` (replaced by random bytes)
 * under the attacker's control. Uses the VDAF's private XOF steps so that the rest is honest.
 */
function forge(vdaf: AnyPrio3, encoded: bigint[], opts: { lie?: number; proof?: (view: ForgeView) => bigint[] } = {}): Prio3Report {
  const v = vdaf as any;
  const c = vdaf.circuit as AnyCircuit;
  const f = c.field;
  const withJointRand = c.jointRandLen > 0;
  const nonce = rng.bytes(16);
  const helperSeeds = Array.from({ length: vdaf.shares - 1 }, () => rng.bytes(32));
  const blinds = Array.from({ length: vdaf.shares }, () => rng.bytes(32));
  const helperMeas: { vec: bigint[]; bytes: Uint8Array }[] = helperSeeds.map((seed, j) => v.helperMeasShare(ctx, j + 1, seed));
  const leaderMeas = helperMeas.reduce((acc, h) => vecSub(f, acc, h.vec), encoded);
  const encodedShares = [encodeVec(f, leaderMeas), ...helperMeas.map((h) => h.bytes)];
  const parts: Uint8Array[] = withJointRand ? encodedShares.map((bytes, j) => v.jointRandPart(ctx, j, blinds[j], bytes, nonce)) : [];
  const publicParts = parts.map((part, j) => (j === opts.lie ? rng.bytes(32) : part));
  const jointRandFrom = (ps: Uint8Array[]): bigint[] => (withJointRand ? v.jointRands(ctx, v.jointRandSeed(ctx, ps)) : []);
  const jointRand = jointRandFrom(parts);
  const jointRandOf = encodedShares.map((_, j) => jointRandFrom(publicParts.map((p, i) => (i === j ? parts[i]! : p))));
  const measShares = [leaderMeas, ...helperMeas.map((h) => h.vec)];
  let proofs: bigint[] = [];
  for (let index = 0; index < vdaf.proofs; index++) {
    const proveRand = randomElements(f, proveRandLen(c));
    const honest = (): bigint[] => prove(c, encoded, proveRand, jointRand.slice(index * c.jointRandLen, (index + 1) * c.jointRandLen));
    proofs = proofs.concat(opts.proof ? opts.proof({ index, proveRand, jointRand, jointRandOf, measShares }) : honest());
  }
  const leaderProofs = helperSeeds.reduce((acc, seed, j) => vecSub(f, acc, v.helperProofsShare(ctx, j + 1, seed).vec), proofs);
  const blind = (j: number): Uint8Array => (withJointRand ? blinds[j]! : new Uint8Array(0));
  return {
    nonce,
    publicShare: concat(...publicParts),
    inputShares: [concat(encodedShares[0]!, encodeVec(f, leaderProofs), blind(0)), ...helperSeeds.map((seed, j) => concat(seed, blind(j + 1)))],
  };
}

/**
 * The proof a client makes for aggregators that will use different joint randomness: the chunked bit
 * check's wires as the aggregators will jointly hold them, (sum_s r_s^(j+1) x_s,j, x_j - 1) with r_s
 * aggregator s's joint randomness and x_s its measurement share. When every x_j is 1 (or padding),
 * the check is 0 whatever the r_s, so this proof passes the decision.
 */
function mixedProof(c: AnyCircuit): (view: ForgeView) => bigint[] {
  const f = c.field;
  const chunk = c.gadgets[0]!.arity / 2;
  const calls = c.gadgetCalls[0]!;
  return ({ index, proveRand, jointRandOf, measShares }) => {
    const meas = measShares.reduce((acc, s) => vecAdd(f, acc, s));
    const forged: AnyCircuit = {
      ...c,
      eval: (_m, _r, _n, [gadget]: readonly GadgetCall[]) => {
        for (let k = 0; k < calls; k++) {
          const inputs: bigint[] = [];
          const r = jointRandOf.map((jr) => jr[index * c.jointRandLen + k]!);
          const powers = r.slice();
          for (let j = 0; j < chunk; j++) {
            const at = k * chunk + j;
            let a = 0n;
            measShares.forEach((share, s) => {
              a = (a + powers[s]! * (at < share.length ? share[at]! : 0n)) % f.modulus;
              powers[s] = (powers[s]! * r[s]!) % f.modulus;
            });
            inputs.push(a, sub(f, at < meas.length ? meas[at]! : 0n, 1n));
          }
          gadget!(inputs);
        }
        return new Array<bigint>(c.evalOutputLen).fill(0n);
      },
    };
    return prove(forged, meas, proveRand, []);
  };
}

/** Two aggregators over ping-pong, each adding its output share to its own aggregator as soon as it has one. */
function pingPong(vdaf: AnyPrio3, r: Prio3Report, aggregators: ReturnType<AnyPrio3['aggregator']>[], keys = [verifyKey, verifyKey]): void {
  const common = { nonce: r.nonce, publicShare: r.publicShare };
  const leader = vdaf.leaderInit({ ...common, verifyKey: keys[0]!, inputShare: r.inputShares[0]! });
  const helper = vdaf.helperInit({ ...common, verifyKey: keys[1]!, inputShare: r.inputShares[1]!, inbound: leader.outbound });
  aggregators[1]!.add(r.nonce, helper.outShare);
  aggregators[0]!.add(r.nonce, vdaf.leaderContinued(leader.state, helper.outbound));
}

/** Any number of aggregators over the star exchange, adding output shares only when every aggregator accepted. */
function star(vdaf: AnyPrio3, r: Prio3Report, aggregators: ReturnType<AnyPrio3['aggregator']>[], keys?: Uint8Array[]): void {
  const inits = r.inputShares.map((inputShare, aggregatorId) =>
    vdaf.verifyInit({ verifyKey: keys?.[aggregatorId] ?? verifyKey, aggregatorId, nonce: r.nonce, publicShare: r.publicShare, inputShare }),
  );
  const message = vdaf.verifierSharesToMessage(inits.map((i) => i.verifierShare));
  const outs = inits.map((i) => vdaf.verifyNext(i.state, message));
  outs.forEach((out, j) => aggregators[j]!.add(r.nonce, out));
}

/** Expects `report` to be refused with one of `codes` and nothing of it aggregated, over star and (2 aggregators) ping-pong. */
function expectRefused(vdaf: AnyPrio3, report: Prio3Report, codes: readonly string[] = ['E_AUTH']): void {
  for (const run of vdaf.shares === 2 ? [pingPong, star] : [star]) {
    const aggregators = Array.from({ length: vdaf.shares }, () => vdaf.aggregator());
    const error = catchPrivkitError(() => run(vdaf, report, aggregators));
    expect(codes, `${run.name}: ${error.message}`).toContain(error.code);
    for (const a of aggregators) {
      expect(a.count).toBe(0);
      expect([...a.share()].every((b) => b === 0)).toBe(true);
    }
  }
}

describe('a malicious client cannot get an invalid measurement accepted', () => {
  it.each(TWO)('%s: invalid encodings with honest proofs of them', (_, vdaf, variant) => {
    for (const encoded of variant.invalid) for (let trial = 0; trial < 3; trial++) expectRefused(vdaf, forge(vdaf, encoded));
  });

  it.each(TWO)('%s: an all-zero proof, for an invalid and for a valid non-zero measurement', (_, vdaf, variant) => {
    const zero = (): bigint[] => new Array<bigint>((vdaf as AnyPrio3).proofLength).fill(0n);
    expectRefused(vdaf, forge(vdaf, variant.invalid[0]!, { proof: zero }));
    expectRefused(vdaf, forge(vdaf, vdaf.circuit.encode(variant.valid).vec, { proof: zero }));
  });

  it.each(TWO)("%s: a proof reused for another measurement (the leader's measurement share shifted, its joint-randomness part redone)", (_, vdaf, variant) => {
    const f = vdaf.circuit.field;
    const measBytes = f.encodedSize * vdaf.circuit.measLen;
    const honest = vdaf.shard(variant.valid, { rng });
    const leader = honest.inputShares[0]!;
    const reuse = (target: bigint[]): Prio3Report => {
      const delta = vecSub(f, target, vdaf.circuit.encode(variant.valid).vec);
      const meas = encodeVec(f, vecAdd(f, decode(f, leader.subarray(0, measBytes)), delta));
      const inputShare = concat(meas, leader.subarray(measBytes));
      if (vdaf.circuit.jointRandLen === 0) return { ...honest, inputShares: [inputShare, honest.inputShares[1]!] };
      // a consistent public share, so only the proof can refuse it
      const part: Uint8Array = (vdaf as any).jointRandPart(ctx, 0, leader.subarray(leader.length - 32), meas, honest.nonce);
      return { ...honest, publicShare: concat(part, honest.publicShare.subarray(32)), inputShares: [inputShare, honest.inputShares[1]!] };
    };
    expectRefused(vdaf, reuse(variant.invalid[0]!));
    expectRefused(vdaf, reuse(vdaf.circuit.encode(variant.other).vec));
  });

  it.each(TWO)('%s: a valid measurement out of the domain through the API is E_ARG before sharding', (name, vdaf) => {
    const bad: Record<string, unknown[]> = {
      Count: [2, -1, 0.5, true],
      Sum: [1001, -1, 2 ** 53],
      SumVec: [[4, 0, 0], [0, 0], [0, 0, -1]],
      SumVecWithMultiproof: [[6, 0], [1]],
      Histogram: [4, -1, 1.5],
      MultihotCountVec: [[true, true, true, false], [true, false, false], [1, 0, 0, 0]],
      HigherDegree: [3, -1],
      BoundedL2VecSum: [[3, -2], [4, 0], [-5, 0], [0.5, 0], [0]],
    };
    for (const m of bad[name]!) expectPrivkitError(() => vdaf.shard(m as never), 'E_ARG', 'measurement');
  });

  it('Field64 with joint randomness needs 3 proofs or more (draft section 9.5: offline grinding of the joint randomness)', () => {
    for (const proofs of [1, 2]) expectPrivkitError(() => prio3SumVecWithMultiproof({ length: 2, max: 5, proofs }), 'E_ARG', 'proofs');
    expect(prio3SumVecWithMultiproof({ length: 2, max: 5, proofs: 3 }).proofs).toBe(3);
  });
});

describe('a lying joint-randomness part cannot make the aggregators disagree', () => {
  // All-ones measurements pass the bit check whatever the joint randomness, so a client that knows
  // both aggregators' joint randomness (it chose every input) can prove for the mixture. Without the
  // own-part check in verifyInit the aggregator whose part was kept accepted and added its output
  // share while the other refused the report: the aggregate shares no longer belonged together.
  const allOnes: [string, AnyPrio3, unknown][] = [
    ['SumVec', prio3SumVec({ length: 3, bits: 2, chunkLength: 2 }), [3, 3, 3]],
    ['SumVecWithMultiproof', prio3SumVecWithMultiproof({ length: 2, bits: 3, proofs: 3, chunkLength: 4 }), [7, 7]],
    ['Histogram of one bucket', prio3Histogram({ length: 1 }), 0],
    ['MultihotCountVec with every entry set', prio3MultihotCountVec({ length: 3, maxWeight: 3, chunkLength: 2 }), [true, true, true]],
  ];

  it.each(allOnes)('%s: the lie is refused by the aggregator whose part it is, and nothing is aggregated', (_, vdaf, valid) => {
    for (const lie of [0, 1]) {
      const report = forge(vdaf, vdaf.circuit.encode(valid).vec, { lie, proof: mixedProof(vdaf.circuit) });
      const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
      if (lie === 0) {
        expectPrivkitError(() => vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! }), 'E_AUTH');
      } else {
        const leader = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
        expectPrivkitError(() => vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound }), 'E_AUTH');
      }
      expectRefused(vdaf, report);
    }
  });

  it('honest reports around a lying one still aggregate to the honest sum (ping-pong)', () => {
    const [, vdaf] = allOnes[0]!;
    const aggregators = [vdaf.aggregator(), vdaf.aggregator()];
    const honest = [[1, 2, 3], [0, 0, 1]];
    for (const m of honest) pingPong(vdaf, vdaf.shard(m, { rng }), aggregators);
    const liar = forge(vdaf, vdaf.circuit.encode([3, 3, 3]).vec, { lie: 1, proof: mixedProof(vdaf.circuit) });
    catchPrivkitError(() => pingPong(vdaf, liar, aggregators));
    expect(aggregators.map((a) => a.count)).toEqual([2, 2]);
    expect(vdaf.unshard(aggregators.map((a) => a.share()), 2)).toEqual([1, 2, 4]);
  });

  it('with 3 aggregators (star), a lie in any part is refused before any output share exists', () => {
    const vdaf = prio3SumVec({ length: 3, bits: 2, chunkLength: 2, shares: 3 });
    for (const lie of [0, 1, 2]) {
      const report = forge(vdaf, vdaf.circuit.encode([3, 3, 3]).vec, { lie, proof: mixedProof(vdaf.circuit) });
      const error = catchPrivkitError(() =>
        vdaf.verifyInit({ verifyKey, aggregatorId: lie, nonce: report.nonce, publicShare: report.publicShare, inputShare: report.inputShares[lie]! }),
      );
      expect(error.code).toBe('E_AUTH');
      expectRefused(vdaf, report);
    }
  });

  it('the mixed proof is a real attack: without a lie it is an honest proof and is accepted', () => {
    const [, vdaf] = allOnes[0]!;
    const aggregators = [vdaf.aggregator(), vdaf.aggregator()];
    pingPong(vdaf, forge(vdaf, vdaf.circuit.encode([3, 3, 3]).vec, { proof: mixedProof(vdaf.circuit) }), aggregators);
    expect(vdaf.unshard(aggregators.map((a) => a.share()), 1)).toEqual([3, 3, 3]);
  });
});

describe('the network: tampered, truncated, oversized and non-canonical messages', () => {
  it.each(TWO)('%s: every byte of the input shares and the public share, flipped', (_, vdaf, variant) => {
    const report = vdaf.shard(variant.valid, { rng });
    const targets: [string, Uint8Array, (b: Uint8Array) => Prio3Report][] = [
      ['leader', report.inputShares[0]!, (b) => ({ ...report, inputShares: [b, report.inputShares[1]!] })],
      ['helper', report.inputShares[1]!, (b) => ({ ...report, inputShares: [report.inputShares[0]!, b] })],
      ['public', report.publicShare, (b) => ({ ...report, publicShare: b })],
    ];
    for (const [, bytes, rebuild] of targets) {
      for (let at = 0; at < bytes.length; at++) {
        // alternate the flipped bit so high bytes also get out-of-field values (E_ARG)
        const tampered = rebuild(flip(bytes, at, at % 8));
        const aggregators = [vdaf.aggregator(), vdaf.aggregator()];
        const error = catchPrivkitError(() => pingPong(vdaf, tampered, aggregators));
        expect(['E_AUTH', 'E_ARG']).toContain(error.code);
        expect(aggregators.map((a) => a.count)).toEqual([0, 0]);
      }
    }
  });

  it.each(TWO)('%s: every byte of the verifier shares, the verifier message and the ping-pong messages, flipped', (_, vdaf, variant) => {
    const report = vdaf.shard(variant.valid, { rng });
    const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
    const inits = () => report.inputShares.map((inputShare, aggregatorId) => vdaf.verifyInit({ ...common, aggregatorId, inputShare }));
    const shares = inits().map((i) => i.verifierShare);
    for (let j = 0; j < 2; j++) {
      for (let at = 0; at < shares[j]!.length; at++) {
        const tampered = shares.map((s, i) => (i === j ? flip(s, at, at % 8) : s));
        const error = catchPrivkitError(() => {
          const fresh = inits();
          const message = vdaf.verifierSharesToMessage(tampered);
          fresh.forEach((i) => vdaf.verifyNext(i.state, message));
        });
        expect(['E_AUTH', 'E_ARG']).toContain(error.code);
      }
    }
    const message = vdaf.verifierSharesToMessage(shares);
    for (let at = 0; at < message.length; at++) expectPrivkitError(() => vdaf.verifyNext(inits()[0]!.state, flip(message, at)), 'E_AUTH');
    // a message for a variant without joint randomness is empty: any byte is refused
    expectPrivkitError(() => vdaf.verifyNext(inits()[1]!.state, concat(message, new Uint8Array([0]))), 'E_AUTH');
    const leader = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
    for (let at = 0; at < leader.outbound.length; at++) {
      const error = catchPrivkitError(() => vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: flip(leader.outbound, at, at % 8) }));
      expect(['E_AUTH', 'E_ARG', 'E_PROTOCOL']).toContain(error.code);
    }
    const helper = vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound });
    for (let at = 0; at < helper.outbound.length; at++) {
      const fresh = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
      const error = catchPrivkitError(() => vdaf.leaderContinued(fresh.state, flip(helper.outbound, at, at % 8)));
      expect(['E_AUTH', 'E_PROTOCOL']).toContain(error.code);
    }
  });

  it.each(TWO)('%s: every wrong length of every message is E_ARG or E_PROTOCOL naming it', (_, vdaf, variant) => {
    const report = vdaf.shard(variant.valid, { rng });
    const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
    const lengths = (n: number): number[] => [0, 1, n - 1, n + 1, n + vdaf.circuit.field.encodedSize, 2 * n + 1].filter((k) => k >= 0 && k !== n);
    const pad = (bytes: Uint8Array, n: number): Uint8Array => (n <= bytes.length ? bytes.slice(0, n) : concat(bytes, new Uint8Array(n - bytes.length)));
    for (const j of [0, 1]) {
      for (const n of lengths(report.inputShares[j]!.length)) {
        expectPrivkitError(() => vdaf.verifyInit({ ...common, aggregatorId: j, inputShare: pad(report.inputShares[j]!, n) }), 'E_ARG', 'inputShare');
      }
    }
    for (const n of lengths(report.publicShare.length)) expectPrivkitError(() => vdaf.verifyInit({ ...common, aggregatorId: 0, publicShare: pad(report.publicShare, n), inputShare: report.inputShares[0]! }), 'E_ARG', 'publicShare');
    for (const [name, n] of [['verifyKey', 31], ['verifyKey', 33], ['nonce', 15], ['nonce', 17]] as const) {
      expectPrivkitError(() => vdaf.verifyInit({ ...common, [name]: new Uint8Array(n), aggregatorId: 0, inputShare: report.inputShares[0]! }), 'E_ARG', name);
    }
    const inits = report.inputShares.map((inputShare, aggregatorId) => vdaf.verifyInit({ ...common, aggregatorId, inputShare }));
    const shares = inits.map((i) => i.verifierShare);
    for (const n of lengths(shares[0]!.length)) expectPrivkitError(() => vdaf.verifierSharesToMessage([pad(shares[0]!, n), shares[1]!]), 'E_ARG', 'verifierShares');
    expectPrivkitError(() => vdaf.verifierSharesToMessage([shares[0]!]), 'E_ARG', 'verifierShares');
    expectPrivkitError(() => vdaf.verifierSharesToMessage([...shares, shares[0]!]), 'E_ARG', 'verifierShares');
    const leader = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
    for (const n of lengths(leader.outbound.length)) {
      const error = catchPrivkitError(() => vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: pad(leader.outbound, n) }));
      expect(['E_PROTOCOL', 'E_ARG']).toContain(error.code);
    }
    // a ping-pong length field that claims 2^32 - 1 bytes
    const huge = leader.outbound.slice();
    huge.set([0xff, 0xff, 0xff, 0xff], 1);
    expectPrivkitError(() => vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: huge }), 'E_PROTOCOL');
    const out = vdaf.aggregator();
    const finish = vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound }).outbound;
    // a finish message of another length is refused before the state is used: it still finishes after
    for (const n of lengths(finish.length)) expectPrivkitError(() => vdaf.leaderContinued(leader.state, pad(finish, n)), 'E_PROTOCOL');
    const outShare = vdaf.leaderContinued(leader.state, finish);
    for (const n of lengths(outShare.length)) expectPrivkitError(() => out.add(report.nonce, pad(outShare, n)), 'E_ARG', 'outShare');
    for (const n of lengths(outShare.length)) expectPrivkitError(() => vdaf.unshard([pad(outShare, n), outShare], 1), 'E_ARG', /^aggShares/);
    expect(out.count).toBe(0);
  });

  it.each(TWO)('%s: field elements >= p (p itself and all ones) in every encoded vector are E_ARG with the index', (_, vdaf, variant) => {
    const f = vdaf.circuit.field;
    const size = f.encodedSize;
    const report = vdaf.shard(variant.valid, { rng });
    const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
    const pBytes = encodeVec(f, [f.modulus - 1n]);
    pBytes[0]! += 1; // p - 1 ends in 0x00 (p = 1 mod 2^32): p itself
    const overs = [pBytes, new Uint8Array(size).fill(0xff)];
    const at = (bytes: Uint8Array, index: number, value: Uint8Array): Uint8Array => {
      const copy = bytes.slice();
      copy.set(value, index * size);
      return copy;
    };
    const leaderElements = vdaf.circuit.measLen + vdaf.proofs * vdaf.proofLength;
    for (const over of overs) {
      for (let index = 0; index < leaderElements; index++) {
        expectPrivkitError(() => vdaf.verifyInit({ ...common, aggregatorId: 0, inputShare: at(report.inputShares[0]!, index, over) }), 'E_ARG', 'inputShare', index < vdaf.circuit.measLen ? index : index - vdaf.circuit.measLen);
      }
    }
    const inits = report.inputShares.map((inputShare, aggregatorId) => vdaf.verifyInit({ ...common, aggregatorId, inputShare }));
    const shares = inits.map((i) => i.verifierShare);
    for (const over of overs) {
      for (let index = 0; index < vdaf.proofs * vdaf.verifierLength; index++) {
        expectPrivkitError(() => vdaf.verifierSharesToMessage([shares[0]!, at(shares[1]!, index, over)]), 'E_ARG', 'verifierShares[1]', index);
      }
    }
    const message = vdaf.verifierSharesToMessage(shares);
    const outShare = vdaf.verifyNext(inits[0]!.state, message);
    const aggregator = vdaf.aggregator();
    for (const over of overs) {
      expectPrivkitError(() => aggregator.add(report.nonce, at(outShare, 0, over)), 'E_ARG', 'outShare', 0);
      expectPrivkitError(() => vdaf.unshard([outShare, at(outShare, 0, over)], 1), 'E_ARG', 'aggShares[1]', 0);
    }
    expect(aggregator.count).toBe(0);
  });

  it.each(TWO)('%s: a replayed report, a copied state and a forged state give no second output share', (_, vdaf, variant) => {
    const report = vdaf.shard(variant.valid, { rng });
    const aggregators = [vdaf.aggregator(), vdaf.aggregator()];
    pingPong(vdaf, report, aggregators);
    expectPrivkitError(() => pingPong(vdaf, report, aggregators), 'E_PROTOCOL', 'nonce');
    expect(aggregators.map((a) => a.count)).toEqual([1, 1]);
    const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
    const inits = report.inputShares.map((inputShare, aggregatorId) => vdaf.verifyInit({ ...common, aggregatorId, inputShare }));
    const message = vdaf.verifierSharesToMessage(inits.map((i) => i.verifierShare));
    const copy = { ...inits[0]!.state };
    vdaf.verifyNext(inits[0]!.state, message);
    expectPrivkitError(() => vdaf.verifyNext(copy, message), 'E_PROTOCOL', 'state');
    expectPrivkitError(() => vdaf.verifyNext(inits[0]!.state, message), 'E_PROTOCOL', 'state');
    const forged = { outShare: new Uint8Array(16), jointRandSeed: inits[1]!.state.jointRandSeed, owner: vdaf };
    expectPrivkitError(() => vdaf.verifyNext(forged, message), 'E_PROTOCOL', 'state');
    vdaf.verifyNext(inits[1]!.state, message);
    expectPrivkitError(() => vdaf.verifyNext(inits[1]!.state, message), 'E_PROTOCOL', 'state');
    expectPrivkitError(() => prio3Count().verifyNext(inits[0]!.state, message), 'E_ARG', 'state');
  });

  it.each(TWO)("%s: splices of two reports (another report's helper share, public share, nonce or ping-pong message) are refused", (name, vdaf, variant) => {
    const a = vdaf.shard(variant.valid, { rng });
    const b = vdaf.shard(variant.valid, { rng });
    const withJointRand = vdaf.circuit.jointRandLen > 0;
    expectRefused(vdaf, { ...a, inputShares: [a.inputShares[0]!, b.inputShares[1]!] });
    expectRefused(vdaf, { ...a, inputShares: [b.inputShares[0]!, a.inputShares[1]!] });
    if (withJointRand) {
      expectRefused(vdaf, { ...a, publicShare: b.publicShare });
      expectRefused(vdaf, { ...a, nonce: b.nonce });
    } else {
      // Count, Sum and HigherDegree bind no share to the nonce (the draft's design: the query
      // randomness changes with it, the proof holds for any): a report under a fresh nonce verifies,
      // so the transport must authenticate the nonce with the shares (DAP: the report ID in the HPKE AAD).
      const aggregators = [vdaf.aggregator(), vdaf.aggregator()];
      pingPong(vdaf, { ...a, nonce: b.nonce }, aggregators);
      expect(aggregators[0]!.count, name).toBe(1);
    }
    const common = { verifyKey, nonce: a.nonce, publicShare: a.publicShare };
    const leaderA = vdaf.leaderInit({ ...common, inputShare: a.inputShares[0]! });
    const leaderB = vdaf.leaderInit({ verifyKey, nonce: b.nonce, publicShare: b.publicShare, inputShare: b.inputShares[0]! });
    expectPrivkitError(() => vdaf.helperInit({ ...common, inputShare: a.inputShares[1]!, inbound: leaderB.outbound }), 'E_AUTH');
    if (withJointRand) {
      const helperB = vdaf.helperInit({ verifyKey, nonce: b.nonce, publicShare: b.publicShare, inputShare: b.inputShares[1]!, inbound: leaderB.outbound });
      expectPrivkitError(() => vdaf.leaderContinued(leaderA.state, helperB.outbound), 'E_AUTH');
    }
  });

  it.each(TWO)('%s: verify keys that differ between the aggregators, and another ctx at one of them', (_, vdaf, variant) => {
    const report = vdaf.shard(variant.valid, { rng });
    const aggregators = [vdaf.aggregator(), vdaf.aggregator()];
    expectPrivkitError(() => pingPong(vdaf, report, aggregators, [verifyKey, flip(verifyKey, 31, 7)]), 'E_AUTH');
    expectPrivkitError(() => star(vdaf, report, aggregators, [rng.bytes(32), verifyKey]), 'E_AUTH');
    const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
    // with joint randomness the leader's own part already differs (E_AUTH at leaderInit); without, the helper refuses
    expectPrivkitError(() => {
      const leader = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]!, ctx: new Uint8Array([1]) });
      vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound });
    }, 'E_AUTH');
    expect(aggregators.map((a) => a.count)).toEqual([0, 0]);
  });
});

describe('a malicious aggregator learns nothing from the decision', () => {
  // A deviating leader shifts its measurement share (or its verifier share) and watches whether the
  // helper accepts. The FLP's gadget test fails for any shift whatever the honest measurement, so
  // the decision is the same for every measurement: it carries no bit about the measurement.
  it.each([
    ['Histogram', prio3Histogram({ length: 3, chunkLength: 2 }), [0, 1, 2]],
    ['Count', prio3Count(), [0, 1]],
    ['SumVec', prio3SumVec({ length: 2, bits: 1, chunkLength: 1 }), [[0, 0], [0, 1], [1, 0], [1, 1]]],
  ] as [string, AnyPrio3, unknown[]][])('%s: shifted shares are rejected for every measurement', (_, vdaf, measurements) => {
    const f = vdaf.circuit.field;
    const n = vdaf.circuit.measLen;
    const size = f.encodedSize;
    const shifts: bigint[][] = [];
    for (let i = 0; i < n; i++) {
      for (const d of [1n, f.modulus - 1n]) shifts.push(Array.from({ length: n }, (_, k) => (k === i ? d : 0n)));
      for (let j = 0; j < n; j++) if (j !== i) shifts.push(Array.from({ length: n }, (_, k) => (k === i ? 1n : k === j ? f.modulus - 1n : 0n)));
    }
    for (const m of measurements) {
      for (const shift of shifts) {
        const report = vdaf.shard(m, { rng });
        const leader = report.inputShares[0]!;
        const shifted = vecAdd(f, decode(f, leader.subarray(0, n * size)), shift);
        const inbound = pingPongInit(deviantVerifierShare(vdaf, report, shifted));
        const helper = { verifyKey, nonce: report.nonce, publicShare: report.publicShare, inputShare: report.inputShares[1]!, inbound };
        expectPrivkitError(() => vdaf.helperInit(helper), 'E_AUTH');
      }
      // the same deviation without a shift is accepted: the refusals above come from the shifts
      const report = vdaf.shard(m, { rng });
      const inbound = pingPongInit(deviantVerifierShare(vdaf, report, decode(f, report.inputShares[0]!.subarray(0, n * size))));
      expect(vdaf.helperInit({ verifyKey, nonce: report.nonce, publicShare: report.publicShare, inputShare: report.inputShares[1]!, inbound }).outShare).toBeInstanceOf(Uint8Array);
    }
  });

  it('a leader offsetting any element of its verifier share is rejected for every measurement', () => {
    const vdaf = prio3Histogram({ length: 3, chunkLength: 2 });
    const f = vdaf.circuit.field;
    for (const m of [0, 1, 2]) {
      const report = vdaf.shard(m, { rng });
      const common = { verifyKey, nonce: report.nonce, publicShare: report.publicShare };
      const share = vdaf.verifyInit({ ...common, aggregatorId: 0, inputShare: report.inputShares[0]! }).verifierShare;
      for (let index = 0; index < vdaf.verifierLength; index++) {
        const elements = decode(f, share.subarray(0, vdaf.verifierLength * f.encodedSize));
        elements[index] = (elements[index]! + 1n) % f.modulus;
        const offset = concat(encodeVec(f, elements), share.subarray(vdaf.verifierLength * f.encodedSize));
        expectPrivkitError(() => vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: pingPongInit(offset) }), 'E_AUTH');
      }
    }
  });
});

/** The leader's `initialize` ping-pong message carrying `verifierShare`. */
function pingPongInit(verifierShare: Uint8Array): Uint8Array {
  const n = verifierShare.length;
  return concat(new Uint8Array([0, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]), verifierShare);
}

/**
 * The verifier share a deviating leader sends: the FLP query (draft section 7.3) on `measShare` in
 * place of its measurement share, with its proof share, the query randomness of the verify key and
 * the joint randomness the helper derives (so only the shift can make the helper refuse).
 */
function deviantVerifierShare(vdaf: AnyPrio3, report: Prio3Report, measShare: bigint[]): Uint8Array {
  const v = vdaf as any;
  const c = vdaf.circuit as AnyCircuit;
  const f = c.field;
  const leader = report.inputShares[0]!;
  const proofs = decode(f, leader.subarray(c.measLen * f.encodedSize, (c.measLen + vdaf.proofs * vdaf.proofLength) * f.encodedSize));
  const queryLength = queryRandLen(c);
  const queryRands = expandIntoVec(f, verifyKey, v.dst(5, ctx), concat(new Uint8Array([vdaf.proofs]), report.nonce), queryLength * vdaf.proofs);
  const parts = [report.publicShare.subarray(0, 32), report.publicShare.subarray(32)];
  const jointRands: bigint[] = c.jointRandLen > 0 ? v.jointRands(ctx, v.jointRandSeed(ctx, parts)) : [];
  const verifiers: bigint[] = [];
  for (let i = 0; i < vdaf.proofs; i++) {
    const proof = proofs.slice(i * vdaf.proofLength, (i + 1) * vdaf.proofLength);
    verifiers.push(...query(c, measShare, proof, queryRands.slice(i * queryLength, (i + 1) * queryLength), jointRands.slice(i * c.jointRandLen, (i + 1) * c.jointRandLen), 2));
  }
  return concat(encodeVec(f, verifiers), c.jointRandLen > 0 ? parts[0]! : new Uint8Array(0));
}

describe('sums that may have wrapped past p', () => {
  it('Sum: valid reports near max that sum past p would subtract from the others; unshard refuses an ambiguous sum', () => {
    const vdaf = prio3Sum({ bits: 53 });
    const f = vdaf.circuit.field;
    const max = 2n ** 53n - 1n;
    const attackers = Number(f.modulus / max) + 1; // 2,048 valid reports of about max can sum to p - 5
    expect(BigInt(attackers) * max).toBeGreaterThan(f.modulus);
    // the aggregators' shares of 10 honest plus the attackers' p - 5 (the aggregate is linear: shares of the sum mod p)
    const total = (10n + f.modulus - 5n) % f.modulus;
    const leader = randomElements(f, 1);
    const shares = [encodeVec(f, leader), encodeVec(f, [sub(f, total, leader[0]!)])];
    expectPrivkitError(() => vdaf.unshard(shares, 1 + attackers), 'E_OVERFLOW', 'numMeasurements');
    // the same element from few reports cannot have wrapped
    expect(vdaf.unshard(shares, 2)).toBe(5);
    // a real run: 3 reports of max are far from p
    const aggregators = [vdaf.aggregator(), vdaf.aggregator()];
    for (let i = 0; i < 3; i++) pingPong(vdaf, vdaf.shard(2 ** 53 - 1, { rng }), aggregators);
    expectPrivkitError(() => vdaf.unshard(aggregators.map((a) => a.share()), 3), 'E_OVERFLOW', 'aggShares');
  });

  it('SumVecWithMultiproof (Field64): the same rule per element; Count and Histogram never wrap', () => {
    const vdaf = prio3SumVecWithMultiproof({ length: 2, bits: 53, proofs: 3 });
    const f = vdaf.circuit.field;
    const zero = encodeVec(f, [0n, 0n]);
    expectPrivkitError(() => vdaf.unshard([encodeVec(f, [1n, 7n]), zero], 4096), 'E_OVERFLOW', 'numMeasurements');
    expect(vdaf.unshard([encodeVec(f, [1n, 7n]), zero], 2047)).toEqual([1, 7]);
    expect(prio3Count().unshard([encodeVec(Field64, [3n]), encodeVec(Field64, [0n])], Number.MAX_SAFE_INTEGER)).toBe(3);
  });
});

describe('secret hygiene and randomness', () => {
  const memory = (): Uint8Array => prioWasm.run((_, arena) => arena.bytes(0, arena.memoryBytes).slice());
  const contains = (hay: Uint8Array, needle: Uint8Array): boolean => Buffer.from(hay.buffer, hay.byteOffset, hay.length).includes(Buffer.from(needle));

  it.each(TWO)('%s: no seed, share, verify key or verifier share stays in wasm memory after shard and verification', (_, vdaf, variant) => {
    const rand = rng.bytes(vdaf.randSize);
    const report = vdaf.shard(variant.valid, { rand: rand.slice() });
    const key = rng.bytes(32);
    const common = { verifyKey: key, nonce: report.nonce, publicShare: report.publicShare };
    const leader = vdaf.leaderInit({ ...common, inputShare: report.inputShares[0]! });
    vdaf.helperInit({ ...common, inputShare: report.inputShares[1]!, inbound: leader.outbound });
    const after = memory();
    const size = vdaf.circuit.field.encodedSize;
    for (let i = 0; i < rand.length; i += 32) expect(contains(after, rand.subarray(i, i + 32))).toBe(false);
    expect(contains(after, key)).toBe(false);
    expect(contains(after, report.inputShares[0]!.subarray(0, 2 * size))).toBe(false);
    expect(contains(after, leader.outbound.subarray(5, 5 + size))).toBe(false);
  });

  it("shard copies the caller's nonce and rand (a Node Buffer's slice is a view: wiping it would zero the caller's bytes)", () => {
    const vdaf = prio3Histogram({ length: 4 });
    const rand = Buffer.from(rng.bytes(vdaf.randSize));
    const nonce = Buffer.from(rng.bytes(16));
    const before = Buffer.from(rand);
    const report = vdaf.shard(1, { rand, nonce });
    expect(rand.equals(before)).toBe(true);
    nonce.fill(0);
    expect(report.nonce.some((b) => b !== 0)).toBe(true);
  });

  it('the default nonce and sharding randomness are fresh CSPRNG draws', () => {
    const vdaf = prio3Count();
    const a = vdaf.shard(1);
    const b = vdaf.shard(1);
    expect(Buffer.from(a.nonce).equals(Buffer.from(b.nonce))).toBe(false);
    expect(Buffer.from(a.inputShares[1]!).equals(Buffer.from(b.inputShares[1]!))).toBe(false);
  });

  it('XofTurboShake128 expansion rejects candidates >= p (draft section 6.2), in Field64 and Field128', () => {
    for (const [f, candidates, want] of [
      [Field64, [Field64.modulus, 2n ** 64n - 1n, 7n], 7n],
      [Field128, [Field128.modulus, 2n ** 128n - 1n, Field128.modulus - 1n], Field128.modulus - 1n],
    ] as [Field, bigint[], bigint][]) {
      const stream = concat(...candidates.map((x) => {
        const bytes = new Uint8Array(f.encodedSize);
        for (let i = 0; i < f.encodedSize; i++) bytes[i] = Number((x >> BigInt(8 * i)) & 0xffn);
        return bytes;
      }));
      const xof = new XofTurboShake128(new Uint8Array(32), new Uint8Array(0), new Uint8Array(0));
      let offset = 0;
      (xof as any).shake = {
        squeeze: (out: Uint8Array) => {
          out.set(stream.subarray(offset, offset + out.length));
          offset += out.length;
          return out;
        },
      };
      expect(xof.nextVec(f, 1)).toEqual([want]);
      expect(offset).toBe(stream.length);
    }
  });
});
