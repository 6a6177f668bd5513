// Prio3 end to end and under attack: honest reports of every variant aggregate to the true sum (two
// aggregators over ping-pong, three over the star exchange); a malicious client's invalid
// measurement (encoded past the API's checks), a tampered share, proof, seed, blind, joint
// randomness part, verifier share or message, a wrong verify key, a wrong ctx and a replayed nonce
// are each refused; a measurement out of the domain is E_ARG before sharding; aggregators that summed
// different reports are caught by DAP's report count and checksum (node:crypto's SHA-256 as the oracle).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import {
  Prio3,
  prio3Count,
  prio3Histogram,
  prio3MultihotCountVec,
  prio3Sum,
  prio3SumVec,
  prio3SumVecWithMultiproof,
  type Prio3Report,
} from 'privkit/prio';
import { countCircuit, histogramCircuit, multihotCountVecCircuit, sumCircuit, sumVecCircuit } from '../../dist/src/prio/circuits.js';
import { Field128, Field64, FieldVec, type Field } from '../../dist/src/prio/field.js';
import { expectPrivkitError } from '../support/helpers.js';
import { prioRounds } from '../support/prio-rounds.js';

await ready();
const rng = createRng({ seed: new Uint8Array(32).fill(11) });
const verifyKey = rng.bytes(32);

type AnyPrio3 = Prio3<any, any>;

const { verifyStar, verifyPingPong, aggregate } = prioRounds(verifyKey, rng);

describe('honest reports aggregate to the true result', () => {
  const cases: [string, (shares: number) => AnyPrio3, unknown[], unknown][] = [
    ['Count', (shares) => prio3Count({ shares }), [1, 0, 1, 1], 3],
    ['Sum', (shares) => prio3Sum({ max: 1000, shares }), [1000, 0, 17], 1017],
    ['Sum of 53-bit integers', (shares) => prio3Sum({ bits: 53, shares }), [2 ** 53 - 1, 0], 2 ** 53 - 1],
    ['Sum with max 2^32 + 1', (shares) => prio3Sum({ max: 2 ** 32 + 1, shares }), [2 ** 32 + 1, 2 ** 31], 2 ** 32 + 1 + 2 ** 31],
    ['SumVec', (shares) => prio3SumVec({ length: 5, bits: 3, shares }), [[1, 2, 3, 4, 7], [7, 0, 0, 1, 1]], [8, 2, 3, 5, 8]],
    ['Histogram', (shares) => prio3Histogram({ length: 10, shares }), [0, 9, 9, 4], [1, 0, 0, 0, 1, 0, 0, 0, 0, 2]],
    ['MultihotCountVec', (shares) => prio3MultihotCountVec({ length: 4, maxWeight: 3, shares }), [[true, true, true, false], [false, false, false, false], [false, true, false, true]], [1, 2, 1, 1]],
    ['SumVecWithMultiproof', (shares) => prio3SumVecWithMultiproof({ length: 3, max: 100, proofs: 3, shares }), [[100, 1, 2], [0, 50, 2]], [100, 51, 4]],
  ];
  it.each(cases)('%s over ping-pong', (_, make, measurements, want) => {
    expect(aggregate(make(2), measurements)).toEqual(want);
  });
  it.each(cases)('%s with 3 aggregators (star)', (_, make, measurements, want) => {
    expect(aggregate(make(3), measurements)).toEqual(want);
  });
});

describe('malicious clients: invalid measurements encoded past the checks are rejected', () => {
  // A client that skips the API's checks: the same circuit with another encoding.
  const cheat = <M,>(circuit: { field: Field; encode: (m: M) => FieldVec }, name: string, id: number, encoded: bigint[]): AnyPrio3 => {
    const forged = { ...circuit, encode: () => FieldVec.fromValues(circuit.field, encoded) } as never;
    return new Prio3(name, id, forged, 1, 2, (m: unknown) => m as never);
  };
  const cases: [string, AnyPrio3][] = [
    ['Count of 2', cheat(countCircuit(Field64), 'Prio3Count', 1, [2n])],
    ['Count of -1', cheat(countCircuit(Field64), 'Prio3Count', 1, [Field64.modulus - 1n])],
    ['Sum with a bit of 2', cheat(sumCircuit(Field64, 255), 'Prio3Sum', 2, [2n, 0n, 0n, 0n, 0n, 0n, 0n, 0n])],
    ['SumVec with an element bit of 3', cheat(sumVecCircuit(Field128, 2, 3, 2), 'Prio3SumVec', 3, [1n, 0n, 3n, 0n])],
    ['Histogram with two buckets set', cheat(histogramCircuit(Field128, 4, 2), 'Prio3Histogram', 4, [1n, 1n, 0n, 0n])],
    ['Histogram with no bucket set', cheat(histogramCircuit(Field128, 4, 2), 'Prio3Histogram', 4, [0n, 0n, 0n, 0n])],
    ['Histogram with a bucket of 2 and a -1', cheat(histogramCircuit(Field128, 4, 2), 'Prio3Histogram', 4, [2n, Field128.modulus - 1n, 0n, 0n])],
    ['MultihotCountVec with a false weight', cheat(multihotCountVecCircuit(Field128, 4, 2, 2), 'Prio3MultihotCountVec', 5, [1n, 1n, 1n, 0n, 1n, 0n])],
  ];
  it.each(cases)('%s', (_, vdaf) => {
    for (let trial = 0; trial < 3; trial++) {
      const report = vdaf.shard(0, { rng });
      expectPrivkitError(() => verifyStar(vdaf, report), 'E_AUTH');
      expectPrivkitError(() => verifyPingPong(vdaf, report), 'E_AUTH');
    }
  });
});

describe('tampered reports and messages are refused', () => {
  const vdaf = prio3Histogram({ length: 8, chunkLength: 3 });
  const flip = (bytes: Uint8Array, at: number): Uint8Array => {
    const copy = bytes.slice();
    copy[at]! ^= 1;
    return copy;
  };
  const report = (): Prio3Report => vdaf.shard(5, { rng });
  const withShare = (r: Prio3Report, j: number, share: Uint8Array): Prio3Report => ({ ...r, inputShares: r.inputShares.map((s, i) => (i === j ? share : s)) });
  const leaderLength = report().inputShares[0]!.length;

  it.each([
    ['a measurement-share byte of the leader', 0, 0],
    ['a proof element of the leader', 0, 8 * 16 + 20],
    ["the leader's joint-randomness blind", 0, leaderLength - 1],
    ["the helper's seed", 1, 3],
    ["the helper's joint-randomness blind", 1, 40],
  ])('%s', (_, j, at) => {
    const r = report();
    const tampered = withShare(r, j, flip(r.inputShares[j]!, at));
    let refused = false;
    try {
      verifyStar(vdaf, tampered);
    } catch (e) {
      refused = (e as { code?: string }).code === 'E_AUTH' || (e as { code?: string }).code === 'E_ARG';
    }
    expect(refused).toBe(true);
  });

  it('a joint-randomness part of the public share', () => {
    const r = report();
    expectPrivkitError(() => verifyStar(vdaf, { ...r, publicShare: flip(r.publicShare, 7) }), 'E_AUTH');
    expectPrivkitError(() => verifyStar(vdaf, { ...r, publicShare: flip(r.publicShare, 40) }), 'E_AUTH');
  });

  it("another report's nonce, a wrong verify key, a wrong ctx", () => {
    const r = report();
    expectPrivkitError(() => verifyStar(vdaf, { ...r, nonce: flip(r.nonce, 0) }), 'E_AUTH');
    expectPrivkitError(() => verifyStar(vdaf, r, { keys: [verifyKey, flip(verifyKey, 0)] }), 'E_AUTH');
    expectPrivkitError(() => verifyStar(vdaf, r, { ctx: new Uint8Array([1]) }), 'E_AUTH');
    expect(verifyStar(vdaf, r)).toHaveLength(2);
  });

  it('a flipped verifier share, verifier message or ping-pong message', () => {
    const r = report();
    const common = { verifyKey, nonce: r.nonce, publicShare: r.publicShare };
    const inits = r.inputShares.map((inputShare, aggregatorId) => vdaf.verifyInit({ ...common, aggregatorId, inputShare }));
    expectPrivkitError(() => vdaf.verifierSharesToMessage([flip(inits[0]!.verifierShare, 0), inits[1]!.verifierShare]), 'E_AUTH');
    const message = vdaf.verifierSharesToMessage(inits.map((i) => i.verifierShare));
    // a flipped joint-randomness part in a verifier share changes the message: verifyNext refuses it
    const other = vdaf.verifierSharesToMessage([inits[0]!.verifierShare, flip(inits[1]!.verifierShare, inits[1]!.verifierShare.length - 1)]);
    expectPrivkitError(() => vdaf.verifyNext(inits[0]!.state, other), 'E_AUTH');
    // a state is finished once, also after a failed check: the right message no longer releases it
    expectPrivkitError(() => vdaf.verifyNext(inits[0]!.state, message), 'E_PROTOCOL', 'state');
    expectPrivkitError(() => vdaf.verifyNext(inits[1]!.state, flip(message, 5)), 'E_AUTH');
    const again = r.inputShares.map((inputShare, aggregatorId) => vdaf.verifyInit({ ...common, aggregatorId, inputShare }));
    expect(vdaf.verifyNext(again[0]!.state, message)).toBeInstanceOf(Uint8Array);
    expectPrivkitError(() => vdaf.verifyNext(again[0]!.state, message), 'E_PROTOCOL', 'state');
    const leader = vdaf.leaderInit({ ...common, inputShare: r.inputShares[0]! });
    expectPrivkitError(() => vdaf.helperInit({ ...common, inputShare: r.inputShares[1]!, inbound: flip(leader.outbound, 0) }), 'E_PROTOCOL');
    expectPrivkitError(() => vdaf.helperInit({ ...common, inputShare: r.inputShares[1]!, inbound: leader.outbound.subarray(0, 10) }), 'E_PROTOCOL');
    const helper = vdaf.helperInit({ ...common, inputShare: r.inputShares[1]!, inbound: leader.outbound });
    expectPrivkitError(() => vdaf.leaderContinued(leader.state, flip(helper.outbound, helper.outbound.length - 1)), 'E_AUTH');
    expectPrivkitError(() => vdaf.leaderContinued(leader.state, helper.outbound), 'E_PROTOCOL', 'state');
    const leader2 = vdaf.leaderInit({ ...common, inputShare: r.inputShares[0]! });
    expect(vdaf.leaderContinued(leader2.state, helper.outbound)).toBeInstanceOf(Uint8Array);
  });

  it('truncated, oversized and out-of-field shares are E_ARG', () => {
    const r = report();
    const leader = r.inputShares[0]!;
    expectPrivkitError(() => verifyStar(vdaf, withShare(r, 0, leader.subarray(1))), 'E_ARG', 'inputShare');
    expectPrivkitError(() => verifyStar(vdaf, withShare(r, 1, new Uint8Array(65))), 'E_ARG', 'inputShare');
    const overflow = leader.slice();
    overflow.fill(0xff, 0, 16);
    expectPrivkitError(() => verifyStar(vdaf, withShare(r, 0, overflow)), 'E_ARG', 'inputShare', 0);
    expectPrivkitError(() => verifyStar(vdaf, { ...r, publicShare: r.publicShare.subarray(1) }), 'E_ARG', 'publicShare');
  });

  it("aggregate shares that do not belong together are E_OVERFLOW, never a rounded number", () => {
    const r = report();
    const [out0] = verifyStar(vdaf, r);
    const alone = vdaf.aggregator();
    alone.add(r.nonce, out0!);
    expectPrivkitError(() => vdaf.unshard([alone.share(), alone.share()], 1), 'E_OVERFLOW', 'aggShares');
  });

  it('a replayed report is aggregated once', () => {
    const r = report();
    const [out0] = verifyStar(vdaf, r);
    const aggregator = vdaf.aggregator();
    aggregator.add(r.nonce, out0!);
    expectPrivkitError(() => aggregator.add(r.nonce, out0!), 'E_PROTOCOL', 'nonce');
    expect(aggregator.count).toBe(1);
  });
});

describe("DAP's report checksum: aggregators that summed different reports are refused", () => {
  const vdaf = prio3Histogram({ length: 4, chunkLength: 2 });
  const reports = [0, 1, 2, 3, 1].map((m) => vdaf.shard(m, { rng }));
  const outs = reports.map((r) => verifyPingPong(vdaf, r));
  /** XOR of SHA-256(nonce) over the reports, by node:crypto. */
  const expectedChecksum = (rs: Prio3Report[]): Uint8Array => {
    const x = new Uint8Array(32);
    for (const r of rs) createHash('sha256').update(r.nonce).digest().forEach((b, i) => (x[i]! ^= b));
    return x;
  };
  /** Aggregator j's sum over the reports at `positions`, added in that order. */
  const aggregatorOf = (j: number, positions: number[]) => {
    const a = vdaf.aggregator();
    for (const k of positions) a.add(reports[k]!.nonce, outs[k]![j]!);
    return a;
  };
  const all = [0, 1, 2, 3, 4];

  it('honest aggregators agree, the checksum is the XOR of SHA-256(nonce), and unshardChecked equals unshard', () => {
    expect(vdaf.aggregator().checksum).toEqual(new Uint8Array(32));
    const leader = aggregatorOf(0, all);
    const helper = aggregatorOf(1, [4, 2, 0, 3, 1]); // another order: the same checksum
    expect(leader.checksum).toEqual(expectedChecksum(reports));
    expect(helper.checksum).toEqual(leader.checksum);
    const leaderShare = leader.aggregateShare();
    const helperShare = helper.aggregateShare({ peer: { count: leader.count, checksum: leader.checksum } });
    expect([leaderShare.count, helperShare.count]).toEqual([5, 5]);
    expect(vdaf.unshardChecked([leaderShare, helperShare])).toEqual([1, 2, 1, 1]);
    expect(vdaf.unshardChecked([leaderShare, helperShare])).toEqual(vdaf.unshard([leaderShare.share, helperShare.share], 5));
  });

  it('a helper that dropped a report is refused before it releases, and at the collector', () => {
    const leader = aggregatorOf(0, all);
    const helper = aggregatorOf(1, [0, 1, 3, 4]);
    const peer = { count: leader.count, checksum: leader.checksum };
    expectPrivkitError(() => helper.aggregateShare({ peer }), 'E_PROTOCOL', 'opts.peer');
    expectPrivkitError(() => helper.aggregateShare({ peer: { count: 4, checksum: leader.checksum } }), 'E_PROTOCOL', 'opts.peer');
    // the refusal released nothing: the helper may still release (its noised share was not drawn)
    const helperShare = helper.aggregateShare({ noiseSigma: 2, rng: createRng({ seed: new Uint8Array(32).fill(4) }) });
    expectPrivkitError(() => vdaf.unshardChecked([leader.aggregateShare(), helperShare], { noised: true }), 'E_PROTOCOL', 'aggShares[1]');
  });

  it('the same count over other reports is refused by the checksum', () => {
    const leader = aggregatorOf(0, [0, 1, 2, 3]);
    const helper = aggregatorOf(1, [0, 1, 2, 4]);
    expect(helper.count).toBe(leader.count);
    expectPrivkitError(() => helper.aggregateShare({ peer: { count: leader.count, checksum: leader.checksum } }), 'E_PROTOCOL', 'opts.peer');
    const shares = [leader.aggregateShare(), helper.aggregateShare()];
    expectPrivkitError(() => vdaf.unshardChecked(shares), 'E_PROTOCOL', 'aggShares[1]');
    // a forged count beside the same shares is refused too
    expectPrivkitError(() => vdaf.unshardChecked([shares[0]!, { ...shares[0]!, count: 5 }]), 'E_PROTOCOL', 'aggShares[1]');
  });

  it('a report added twice is refused and leaves count and checksum as they were', () => {
    const aggregator = aggregatorOf(1, [0, 1]);
    expectPrivkitError(() => aggregator.add(reports[1]!.nonce, outs[1]![1]!), 'E_PROTOCOL', 'nonce');
    expect(aggregator.count).toBe(2);
    expect(aggregator.checksum).toEqual(expectedChecksum(reports.slice(0, 2)));
  });
});

describe('measurements out of the domain are E_ARG before sharding', () => {
  it.each<[string, () => void]>([
    ['Count 2', () => prio3Count().shard(2 as never)],
    ['Sum above max', () => prio3Sum({ max: 10 }).shard(11)],
    ['Sum fractional', () => prio3Sum({ max: 10 }).shard(1.5)],
    ['SumVec short', () => prio3SumVec({ length: 3, bits: 2 }).shard([1, 2])],
    ['SumVec element above 2^bits - 1', () => prio3SumVec({ length: 2, bits: 2 }).shard([1, 4])],
    ['Histogram bucket out of range', () => prio3Histogram({ length: 3 }).shard(3)],
    ['MultihotCountVec above maxWeight', () => prio3MultihotCountVec({ length: 3, maxWeight: 1 }).shard([true, true, false])],
  ])('%s', (_, call) => {
    expectPrivkitError(call, 'E_ARG', 'measurement');
  });
});
