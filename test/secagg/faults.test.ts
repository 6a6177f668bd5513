// Secure aggregation under faults: every bad message or call gets its PrivkitError (E_SHAPE,
// E_ARG, E_PROTOCOL, E_AUTH, E_THRESHOLD), and the party that rejected it is unchanged: the
// round still completes with the right sum afterwards.
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import {
  SecAggClient,
  SecAggServer,
  communicationGraph,
  decodeMessage,
  encodeMessage,
  generateSigningKeyPair,
  shamirCombine,
  type ClientMessage,
  type MaskedInputMessage,
  type ShareKeysMessage,
  type UnmaskMessage,
} from 'privkit/secagg';
import { expectPrivkitError } from '../support/helpers.js';
import { TestRound, inputOf, rejects, sumOf } from './round.js';

beforeAll(ready);

/** Big-endian bytes as a bigint. */
const bytesToBigInt = (bytes: Uint8Array): bigint => bytes.reduce((v, byte) => (v << 8n) | BigInt(byte), 0n);

describe('invalid parameters', () => {
  it('server options: bits, length, threshold, neighbours, ids, counts', () => {
    const base = { clients: ['a', 'b', 'c'], bits: 8, length: 4, threshold: 2 };
    expectPrivkitError(() => new SecAggServer({ ...base, bits: 0 }), 'E_ARG', 'bits');
    expectPrivkitError(() => new SecAggServer({ ...base, bits: 33 }), 'E_ARG', 'bits');
    expectPrivkitError(() => new SecAggServer({ ...base, length: 0 }), 'E_ARG', 'length');
    expectPrivkitError(() => new SecAggServer({ ...base, threshold: 4 }), 'E_ARG', 'threshold');
    expectPrivkitError(() => new SecAggServer({ ...base, threshold: 0 }), 'E_ARG', 'threshold');
    expectPrivkitError(() => new SecAggServer({ ...base, clients: [...base.clients, 'd', 'e'], neighbours: 3 }), 'E_ARG', 'neighbours');
    // with k = 2 the neighbourhood has 3 members, so t <= 3
    expectPrivkitError(() => new SecAggServer({ ...base, clients: ['a', 'b', 'c', 'd', 'e'], neighbours: 2, threshold: 4 }), 'E_ARG', 'threshold');
    expectPrivkitError(() => new SecAggServer({ ...base, clients: ['a', ''] }), 'E_ARG', 'clients');
    expectPrivkitError(() => new SecAggServer({ ...base, clients: ['a', 'x'.repeat(257)] }), 'E_ARG', 'clients');
    expectPrivkitError(() => new SecAggServer({ ...base, roundId: '' }), 'E_ARG', 'roundId');
    const many = Array.from({ length: 65_537 }, (_, i) => `c${i}`);
    expectPrivkitError(() => new SecAggServer({ ...base, clients: many, neighbours: 16, threshold: 9 }), 'E_ARG', 'clients');
    // a neighbourhood is at most 1,024 clients: a complete graph of 1,025 needs SecAgg+
    const wide = Array.from({ length: 1_025 }, (_, i) => `c${i}`);
    expectPrivkitError(() => new SecAggServer({ ...base, clients: wide, threshold: 513 }), 'E_ARG', 'clients');
    expect(() => new SecAggServer({ ...base, clients: wide, neighbours: 16, threshold: 9 })).not.toThrow();
  });

  it('the threshold must be a strict majority of a neighbourhood (t > min(n, k + 1) / 2)', () => {
    const base = { clients: ['a', 'b', 'c'], bits: 8, length: 4, threshold: 2 };
    const error = expectPrivkitError(() => new SecAggServer({ ...base, threshold: 1 }), 'E_ARG', 'threshold');
    expect(error.message).toMatch(/strict majority/);
    expect(error.message).toMatch(/\[2, 3\]/);
    expectPrivkitError(() => new SecAggServer({ ...base, clients: ['a', 'b'], threshold: 1 }), 'E_ARG', 'threshold');
    const twelve = Array.from({ length: 12 }, (_, i) => `c${i}`);
    // k = 4: neighbourhoods of 5, so t >= 3
    expectPrivkitError(() => new SecAggServer({ ...base, clients: twelve, neighbours: 4, threshold: 2 }), 'E_ARG', 'threshold');
    expect(() => new SecAggServer({ ...base, clients: twelve, neighbours: 4, threshold: 3 })).not.toThrow();
    // complete graph of 12: t >= 7
    expectPrivkitError(() => new SecAggServer({ ...base, clients: twelve, threshold: 6 }), 'E_ARG', 'threshold');
    expect(() => new SecAggServer({ ...base, clients: twelve, threshold: 7 })).not.toThrow();
  });

  it('minSurvivors: an integer in [threshold, clients.length]', () => {
    const base = { clients: ['a', 'b', 'c', 'd', 'e'], bits: 8, length: 4, threshold: 3 };
    for (const minSurvivors of [2, 6, 3.5, NaN, '4' as unknown as number]) {
      expectPrivkitError(() => new SecAggServer({ ...base, minSurvivors }), 'E_ARG', 'minSurvivors');
    }
    for (const minSurvivors of [3, 5]) expect(() => new SecAggServer({ ...base, minSurvivors })).not.toThrow();
  });

  it('client options: minParticipants required, the participant list well-formed and holding this client with its key', async () => {
    const key = await generateSigningKeyPair();
    const other = await generateSigningKeyPair();
    expectPrivkitError(() => new SecAggClient('a', undefined as never), 'E_ARG', 'minParticipants');
    expectPrivkitError(() => new SecAggClient('a', 2 as never), 'E_ARG', 'options');
    expectPrivkitError(() => new SecAggClient('a', {} as never), 'E_ARG', 'minParticipants');
    for (const minParticipants of [0, 2.5, NaN, 70_000]) expectPrivkitError(() => new SecAggClient('a', { minParticipants }), 'E_ARG', 'minParticipants');
    expectPrivkitError(() => new SecAggClient('', { minParticipants: 2 }), 'E_ARG', 'id');
    const list = [
      { id: 'a', signingPublicKey: key.publicKey },
      { id: 'b', signingPublicKey: other.publicKey },
    ];
    expectPrivkitError(() => new SecAggClient('a', { minParticipants: 2, expectedParticipants: list }), 'E_ARG', 'signingKey');
    expectPrivkitError(() => new SecAggClient('a', { minParticipants: 2, signingKey: other, expectedParticipants: list }), 'E_ARG', 'signingKey');
    expectPrivkitError(() => new SecAggClient('c', { minParticipants: 2, signingKey: key, expectedParticipants: list }), 'E_ARG', 'expectedParticipants');
    const repeated = [...list, { id: 'c', signingPublicKey: other.publicKey }];
    expectPrivkitError(() => new SecAggClient('a', { minParticipants: 2, signingKey: key, expectedParticipants: repeated }), 'E_ARG', 'expectedParticipants', 2);
    const short = [{ id: 'a', signingPublicKey: key.publicKey.subarray(1) }];
    expectPrivkitError(() => new SecAggClient('a', { minParticipants: 2, signingKey: key, expectedParticipants: short }), 'E_ARG', 'expectedParticipants', 0);
    expect(() => new SecAggClient('a', { minParticipants: 2, signingKey: key, expectedParticipants: list })).not.toThrow();
    // a key pair whose halves do not belong together is refused when the round starts
    const setup = await new SecAggServer({ clients: ['a', 'b', 'c'], bits: 8, length: 4, threshold: 2 }).setup();
    const mismatched = new SecAggClient('a', { minParticipants: 2, signingKey: { privateKey: key.privateKey, publicKey: other.publicKey } });
    await rejects(mismatched.advertiseKeys(setup), 'E_ARG');
  });

  it('clients refuse a setup whose threshold is not a strict majority of a neighbourhood (E_PROTOCOL)', async () => {
    const setup = await new SecAggServer({ clients: ['a', 'b', 'c'], bits: 8, length: 4, threshold: 2 }).setup();
    const client = new SecAggClient('a', { minParticipants: 2 });
    const error = await rejects(client.advertiseKeys({ ...setup, threshold: 1 }), 'E_PROTOCOL');
    expect(error.argument).toBe('threshold');
    const twelve = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const plus = await new SecAggServer({ clients: twelve, bits: 8, length: 4, threshold: 3, neighbours: 4 }).setup();
    await rejects(new SecAggClient('c0', { minParticipants: 3 }).advertiseKeys({ ...plus, threshold: 2 }), 'E_PROTOCOL');
    expect(client.state).toBe('setup');
    await client.advertiseKeys(setup);
    expect(client.state).toBe('public-keys');
  });

  it('duplicate client ids -> E_PROTOCOL (server options and a setup message)', async () => {
    expectPrivkitError(() => new SecAggServer({ clients: ['a', 'b', 'a'], bits: 8, length: 4, threshold: 2 }), 'E_PROTOCOL', 'clients', 2);
    const setup = await new SecAggServer({ clients: ['a', 'b', 'c'], bits: 8, length: 4, threshold: 2 }).setup();
    const client = new SecAggClient('a', { minParticipants: 2 });
    await rejects(client.advertiseKeys({ ...setup, clients: ['a', 'b', 'b'] }), 'E_PROTOCOL');
    await rejects(new SecAggClient('z', { minParticipants: 2 }).advertiseKeys(setup), 'E_PROTOCOL'); // not registered
    expect(client.state).toBe('setup');
    await client.advertiseKeys(setup);
    expect(client.state).toBe('public-keys');
  });
});

describe('bad inputs', () => {
  it('client: wrong length -> E_SHAPE, value >= 2^bits -> E_ARG, then the right input works', async () => {
    const round = await TestRound.create({ n: 3 });
    await round.until('masked-input');
    const c0 = round.clients[0]!;
    await rejects(c0.maskedInput(round.shares.get('c0')!, new Uint32Array(9)), 'E_SHAPE');
    const big = inputOf('c0');
    big[5] = 1024;
    const error = await rejects(c0.maskedInput(round.shares.get('c0')!, big), 'E_ARG');
    expect(error.index).toBe(5);
    await rejects(c0.maskedInput(round.shares.get('c0')!, Array.from(inputOf('c0')) as unknown as Uint32Array), 'E_ARG');
    expect(c0.state).toBe('encrypted-shares');
    expect((await round.finish()).included).toEqual(['c0', 'c1', 'c2']);
  });

  it('server: a masked input of the wrong length -> E_SHAPE, out of range -> E_ARG; nothing kept', async () => {
    const round = await TestRound.create({ n: 3 });
    await round.until('masked-input');
    const [m0, m1, m2] = (await round.maskedInput()) as MaskedInputMessage[];
    await rejects(round.server.receive({ ...m0!, maskedInput: m0!.maskedInput.subarray(1) }), 'E_SHAPE');
    const wide = m0!.maskedInput.slice();
    wide[2] = 4096;
    const error = await rejects(round.server.receive({ ...m0!, maskedInput: wide }), 'E_ARG');
    expect(error.index).toBe(2);
    expect(round.server.receivedFrom).toEqual([]);
    await round.deliver([m0!, m1!, m2!]);
    round.checks = round.server.closeMaskedInput();
    expect((await round.finish()).included).toEqual(['c0', 'c1', 'c2']);
  });
});

describe('protocol violations -> E_PROTOCOL (E_AUTH for a bad signature), the round still completes', () => {
  it('wrong round, replayed or duplicate message, unknown sender, wrong round id, another sender, malformed message', async () => {
    const round = await TestRound.create({ n: 4 });
    const advertised = await round.advertise();
    await round.deliver(advertised.slice(0, 3));
    expect(round.server.receivedFrom).toEqual(['c0', 'c1', 'c2']);
    await rejects(round.server.receive(advertised[1]!), 'E_PROTOCOL'); // duplicate
    await rejects(round.server.receive({ ...advertised[3]!, sender: 'mallory' }), 'E_PROTOCOL'); // unknown
    await rejects(round.server.receive({ ...advertised[3]!, roundId: 'round-0' }), 'E_PROTOCOL'); // other round
    // c3 replaying c2's keys under its own name: c2's signature does not cover it
    await rejects(round.server.receive({ ...advertised[2]!, sender: 'c3' }), 'E_AUTH');
    await rejects(round.server.receive({ type: 'advertise-keys', sender: 'c3' } as unknown as ClientMessage), 'E_PROTOCOL');
    expect(round.server.receivedFrom).toEqual(['c0', 'c1', 'c2']);
    await round.deliver(advertised.slice(3));
    round.keys = round.server.closeAdvertiseKeys();

    const shared = await round.shareKeys();
    await rejects(round.server.receive(advertised[0]!), 'E_PROTOCOL'); // a message of the previous round
    expect(() => round.server.closeMaskedInput()).toThrow(/E_PROTOCOL/); // closing a round that is not open
    await round.deliver(shared.slice(0, 2));
    await rejects(round.server.receive(shared[0]!), 'E_PROTOCOL'); // replayed
    await round.deliver(shared.slice(2));
    round.shares = round.server.closeShareKeys();
    expect((await round.finish()).included).toEqual(['c0', 'c1', 'c2', 'c3']);
    await rejects(round.server.receive(shared[0]!), 'E_PROTOCOL'); // the round is done
  });

  it('a close waits for messages still being verified', async () => {
    const round = await TestRound.create({ n: 3 });
    const advertised = await round.advertise();
    const pending = round.server.receive(advertised[0]!);
    expect(() => round.server.closeAdvertiseKeys()).toThrow(/being verified/);
    await rejects(round.server.receive(advertised[0]!), 'E_PROTOCOL'); // the same sender twice at once
    await pending;
    await round.deliver(advertised.slice(1));
    round.keys = round.server.closeAdvertiseKeys();
    await round.finish();
  });

  it('a client that skipped a round may not join later; clients refuse out-of-order calls', async () => {
    const round = await TestRound.create({ n: 4 });
    await round.deliver(await round.advertise(round.clients.slice(0, 3)));
    round.keys = round.server.closeAdvertiseKeys();
    expect([...round.keys.keys()]).toEqual(['c0', 'c1', 'c2']);
    const late = await round.advertise(round.clients.slice(3));
    await rejects(round.server.receive(late[0]!), 'E_PROTOCOL'); // AdvertiseKeys is closed
    await round.deliver(await round.shareKeys());
    round.shares = round.server.closeShareKeys();
    const c0 = round.clients[0]!;
    await rejects(c0.shareKeys(round.keys.get('c0')!), 'E_PROTOCOL'); // already done
    await rejects(c0.unmask({ type: 'unmask-request', roundId: 'round-1', recipient: 'c0', signatures: [] }), 'E_PROTOCOL');
    // a broadcast for someone else, or from another round
    await rejects(c0.maskedInput({ ...round.shares.get('c0')!, recipient: 'c1' }, inputOf('c0')), 'E_PROTOCOL');
    await rejects(c0.maskedInput({ ...round.shares.get('c0')!, roundId: 'round-0' }, inputOf('c0')), 'E_PROTOCOL');
    await rejects(c0.maskedInput(round.shares.get('c1')!, inputOf('c0')), 'E_PROTOCOL');
    expect(c0.state).toBe('encrypted-shares');
    expect((await round.finish()).included).toEqual(['c0', 'c1', 'c2']);
  });

  it('a ShareKeys message must carry one ciphertext per accepted neighbour; an unmask answer must match what the sender holds', async () => {
    const round = await TestRound.create({ n: 3 });
    await round.until('share-keys');
    const [s0, ...others] = (await round.shareKeys()) as ShareKeysMessage[];
    // the structure is checked before the signature: these fail whatever the signature
    await rejects(round.server.receive({ ...s0!, shares: s0!.shares.slice(1) }), 'E_PROTOCOL');
    await rejects(round.server.receive({ ...s0!, shares: [s0!.shares[0]!, s0!.shares[0]!] }), 'E_PROTOCOL');
    await rejects(round.server.receive({ ...s0!, shares: [{ ...s0!.shares[0]!, peer: 'c0' }, s0!.shares[1]!] }), 'E_PROTOCOL');
    await rejects(round.server.receive({ ...s0!, rejected: ['c1'] }), 'E_PROTOCOL'); // rejected yet given a share
    const short = { ...s0!.shares[0]!, keyShare: s0!.shares[0]!.keyShare.subarray(1) };
    await rejects(round.server.receive({ ...s0!, shares: [short, s0!.shares[1]!] }), 'E_PROTOCOL');
    await round.deliver([s0!, ...others]);
    round.shares = round.server.closeShareKeys();
    await round.deliver(await round.maskedInput());
    round.checks = round.server.closeMaskedInput();
    await round.deliver(await round.consistency());
    round.requests = round.server.closeConsistencyCheck();
    const [u0, u1, u2] = (await round.unmask()) as UnmaskMessage[];
    await rejects(round.server.receive({ ...u0!, selfMaskShares: u0!.selfMaskShares.slice(1) }), 'E_PROTOCOL');
    const notInField = { ...u0!.selfMaskShares[0]!, share: new Uint8Array(66).fill(0xff) };
    await rejects(round.server.receive({ ...u0!, selfMaskShares: [notInField, ...u0!.selfMaskShares.slice(1)] }), 'E_PROTOCOL');
    await round.deliver([u0!, u1!, u2!]);
    expect(Array.from((await round.server.closeUnmasking()).sum)).toEqual(sumOf(['c0', 'c1', 'c2']));
  });
});

describe('a share that fails at its recipient: the dealer is rejected, named, and treated as dropped', () => {
  it('a tampered ciphertext (either share) or relabelled sender: the recipient masks without that dealer and names it; the server drops the dealer', async () => {
    const all = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    for (const tamper of ['key share', 'self-mask share', 'swap'] as const) {
      const round = await TestRound.create({ n: 7, threshold: 4 });
      await round.until('masked-input');
      const genuine = round.shares.get('c0')!;
      const [from1, from2, ...rest] = genuine.shares;
      const flipped = (bytes: Uint8Array, at: number) => bytes.map((b, i) => (i === at ? b ^ 1 : b));
      const shares =
        tamper === 'key share'
          ? [{ ...from1!, keyShare: flipped(from1!.keyShare, 10) }, from2!, ...rest]
          : tamper === 'self-mask share'
            ? [{ ...from1!, selfMaskShare: flipped(from1!.selfMaskShare, 80) }, from2!, ...rest]
            : // c1's ciphertexts presented as c2's and vice versa: each share key belongs to one dealer and holder
              [{ ...from1!, peer: 'c2' }, { ...from2!, peer: 'c1' }, ...rest];
      round.shares.set('c0', { ...genuine, shares });
      const masked = (await round.maskedInput()) as MaskedInputMessage[];
      const expectedRejected = tamper === 'swap' ? ['c1', 'c2'] : ['c1'];
      expect(masked[0]!.rejected, tamper).toEqual(expectedRejected);
      expect(masked[0]!.maskedWith).toEqual(all.slice(1).filter((id) => !expectedRejected.includes(id)));
      await round.deliver(masked);
      round.checks = round.server.closeMaskedInput();
      // the rejected dealers are out of the survivor set: their inputs are not summed, their masks removed
      expect([...round.checks.keys()]).toEqual(all.filter((id) => !expectedRejected.includes(id)));
      const result = await round.finish();
      expect(result.dropped, tamper).toEqual(expectedRejected);
    }
  });
});

describe('too many dropouts -> E_THRESHOLD, the server unchanged', () => {
  it('at every close; a late message then lets the round complete', async () => {
    const round = await TestRound.create({ n: 5, threshold: 3 });
    const advertised = await round.advertise();
    await round.deliver(advertised.slice(0, 2));
    expectPrivkitError(() => round.server.closeAdvertiseKeys(), 'E_THRESHOLD');
    expect(round.server.round).toBe('advertise-keys');
    expect(round.server.receivedFrom).toEqual(['c0', 'c1']);
    await round.deliver(advertised.slice(2, 4)); // c4 never advertises
    round.keys = round.server.closeAdvertiseKeys();

    const shared = await round.shareKeys();
    await round.deliver(shared.slice(0, 2));
    expectPrivkitError(() => round.server.closeShareKeys(), 'E_THRESHOLD');
    expect(round.server.round).toBe('share-keys');
    await round.deliver(shared.slice(2));
    round.shares = round.server.closeShareKeys();

    const masked = await round.maskedInput();
    await round.deliver(masked.slice(0, 2));
    expectPrivkitError(() => round.server.closeMaskedInput(), 'E_THRESHOLD');
    expect(round.server.round).toBe('masked-input');
    await round.deliver(masked.slice(2, 3)); // c3 drops before sending its masked input
    round.checks = round.server.closeMaskedInput();
    expect(round.checks.get('c0')!.survivors).toEqual(['c0', 'c1', 'c2']);

    const signatures = await round.consistency();
    await round.deliver(signatures.slice(0, 2));
    expectPrivkitError(() => round.server.closeConsistencyCheck(), 'E_THRESHOLD');
    expect(round.server.round).toBe('consistency-check');
    await round.deliver(signatures.slice(2));
    round.requests = round.server.closeConsistencyCheck();

    const revealed = await round.unmask();
    await round.deliver(revealed.slice(0, 2));
    await rejects(round.server.closeUnmasking(), 'E_THRESHOLD');
    expect(round.server.round).toBe('unmasking');
    expect(round.server.result).toBeUndefined();
    await round.deliver(revealed.slice(2));
    const result = await round.server.closeUnmasking();
    expect(result.included).toEqual(['c0', 'c1', 'c2']);
    expect(result.dropped).toEqual(['c3', 'c4']);
    expect(Array.from(result.sum)).toEqual(sumOf(['c0', 'c1', 'c2']));
    expect(round.server.round).toBe('done');
  });

  it('fewer masked inputs than minSurvivors -> E_THRESHOLD at closeMaskedInput; one more lets the round complete', async () => {
    const round = await TestRound.create({ n: 5, threshold: 3, minSurvivors: 4 });
    await round.until('masked-input');
    const masked = await round.maskedInput();
    await round.deliver(masked.slice(0, 3)); // t = 3 masked inputs: enough for the threshold, not for minSurvivors
    const error = expectPrivkitError(() => round.server.closeMaskedInput(), 'E_THRESHOLD');
    expect(error.message).toMatch(/minSurvivors = 4/);
    expect(round.server.round).toBe('masked-input');
    expect(round.server.receivedFrom).toEqual(['c0', 'c1', 'c2']);
    await round.deliver(masked.slice(3, 4)); // c4 drops
    round.checks = round.server.closeMaskedInput();
    expect((await round.finish()).included).toEqual(['c0', 'c1', 'c2', 'c3']);
  });

  it("SecAgg+: survivors whose graph splits -> E_THRESHOLD at closeMaskedInput (each group's sum would be unmaskable)", async () => {
    // k = 2, t = 2: a ring of 8; two clients dropping at opposite points split it into two arcs of 3,
    // while every neighbourhood keeps 2 of its 3 members.
    const round = await TestRound.create({ n: 8, threshold: 2, neighbours: 2, minParticipants: 2 });
    await round.deliver(await round.advertise());
    const graph = communicationGraph(8, 2, round.server.setupMessage!.graphSeed);
    const ring = [0];
    for (let previous = -1; ring.length < 8; ) {
      const current = ring[ring.length - 1]!;
      const next = graph[current]!.find((v) => v !== previous)!;
      previous = current;
      ring.push(next);
    }
    expect(new Set(ring).size).toBe(8);
    round.keys = round.server.closeAdvertiseKeys();
    await round.deliver(await round.shareKeys());
    round.shares = round.server.closeShareKeys();
    const [gone, late] = [`c${ring[0]}`, `c${ring[4]}`];
    const masked = await round.maskedInput(round.clients.filter((c) => c.id !== gone));
    await round.deliver(masked.filter((m) => m.sender !== late));
    const error = expectPrivkitError(() => round.server.closeMaskedInput(), 'E_THRESHOLD');
    expect(error.message).toMatch(/splits into 2 groups \(3 \+ 3 clients\)/);
    expect(round.server.round).toBe('masked-input');
    expect(round.server.receivedFrom).toHaveLength(6);
    // the late masked input joins the two arcs: the round completes without `gone`
    await round.deliver(masked.filter((m) => m.sender === late));
    round.checks = round.server.closeMaskedInput();
    const result = await round.finish();
    expect(result.included).toEqual(round.clients.map((c) => c.id).filter((id) => id !== gone));
  });

  it('clients check the threshold too', async () => {
    const round = await TestRound.create({ n: 5, threshold: 3 });
    await round.until('share-keys');
    const c0 = round.client('c0');
    const thin = { ...round.keys.get('c0')!, keys: round.keys.get('c0')!.keys.slice(0, 2) };
    await rejects(c0.shareKeys(thin), 'E_THRESHOLD');
    expect(c0.state).toBe('public-keys');
    expect((await round.finish()).included).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
  });
});

describe('a bad share in an Unmasking response: traced through the dealer\'s signed ciphertext, never blamed on an honest client', () => {
  /** A round of 5 (t = 3) up to the Unmasking responses; c4 drops before its masked input (its key is rebuilt). */
  async function toUnmasking(): Promise<{ round: TestRound; responses: UnmaskMessage[] }> {
    const round = await TestRound.create({ n: 5, threshold: 3 });
    await round.until('masked-input');
    await round.deliver(await round.maskedInput(round.clients.slice(0, 4)));
    round.checks = round.server.closeMaskedInput();
    await round.deliver(await round.consistency());
    round.requests = round.server.closeConsistencyCheck();
    return { round, responses: (await round.unmask()) as UnmaskMessage[] };
  }

  /** `response` with the share of `owner` in `field` changed: its lowest bit flipped, or replaced by an unrelated field element. */
  const tampered = (response: UnmaskMessage, field: 'selfMaskShares' | 'keyShares', owner: string, how: 'flip' | 'garble') => ({
    [field]: response[field].map((r) => {
      if (r.owner !== owner) return r;
      const share = how === 'flip' ? r.share.map((b, i) => (i === r.share.length - 1 ? b ^ 1 : b)) : new Uint8Array(r.share.length).fill(0x5a);
      if (how === 'garble') share[0] = 1; // < 2^521 - 1
      return { ...r, share };
    }),
  });

  it("a bit flipped on the way in an honest client's response fails its signature: refused, nobody blamed; the genuine one completes the round", async () => {
    const { round, responses } = await toUnmasking();
    const flipped = { ...responses[0]!, ...tampered(responses[0]!, 'selfMaskShares', 'c1', 'flip') };
    const error = await rejects(round.server.receive(flipped), 'E_AUTH');
    expect(error.message).toMatch(/does not verify.*not blamed/);
    await round.deliver(responses);
    const result = await round.server.closeUnmasking();
    expect(Array.from(result.sum)).toEqual(sumOf(['c0', 'c1', 'c2', 'c3']));
    expect(round.server.convicted).toEqual([]);
  });

  for (const [sender, field, owner, how] of [
    [0, 'selfMaskShares', 'c1', 'garble'],
    [0, 'selfMaskShares', 'c1', 'flip'],
    [2, 'selfMaskShares', 'c3', 'flip'],
    [1, 'keyShares', 'c4', 'flip'],
  ] as const) {
    it(`c${sender} signs a response with a ${how === 'flip' ? 'one-bit-flipped' : 'garbled'} ${field === 'keyShares' ? 'masking-key' : 'self-mask'} share: it is not what its dealer sent, so c${sender} is named and discarded; a retry succeeds`, async () => {
      const { round, responses } = await toUnmasking();
      const bad = await round.resigned(responses[sender]!, tampered(responses[sender]!, field, owner, how));
      await round.deliver(responses.map((m, i) => (i === sender ? bad : m)));
      const error = await rejects(round.server.closeUnmasking(), 'E_AUTH');
      expect(error.message).toContain(`"c${sender}" revealed shares their dealers never sent`);
      expect(round.server.round).toBe('unmasking');
      expect(round.server.result).toBeUndefined();
      expect(round.server.receivedFrom).toEqual(['c0', 'c1', 'c2', 'c3'].filter((id) => id !== `c${sender}`));
      // the discarded client may not answer again, not even with its genuine response
      await rejects(round.server.receive(responses[sender]!), 'E_PROTOCOL');
      const result = await round.server.closeUnmasking();
      expect(result.included).toEqual(['c0', 'c1', 'c2', 'c3']);
      expect(result.dropped).toEqual(['c4']);
      expect(Array.from(result.sum)).toEqual(sumOf(['c0', 'c1', 'c2', 'c3']));
      expect(round.server.convicted).toEqual([]);
    });
  }

  it('a one-bit flip in a self-mask share rebuilds a wrong b_u that fits in 32 bytes: the commitment catches it (E_AUTH)', async () => {
    const { round, responses } = await toUnmasking();
    const shareValue = (m: UnmaskMessage, owner: string) => bytesToBigInt(m.selfMaskShares.find((r) => r.owner === owner)!.share);
    const bad = await round.resigned(responses[0]!, tampered(responses[0]!, 'selfMaskShares', 'c1', 'flip'));
    // The rebuild uses the shares at x = 1, 2, 3 (c0, c1, c2), where c0's Lagrange coefficient is 3:
    // b_c1 moves by +-3 and stays in [0, 2^256), which a range check alone would let through.
    const points = (first: UnmaskMessage) => [first, responses[1]!, responses[2]!].map((m, i) => ({ x: i + 1, y: shareValue(m, 'c1') }));
    const genuine = shamirCombine(points(responses[0]!), 3);
    const wrong = shamirCombine(points(bad), 3);
    expect(genuine >> 256n).toBe(0n);
    expect(wrong >> 256n).toBe(0n);
    expect(wrong - genuine === 3n || genuine - wrong === 3n).toBe(true);
    await round.deliver([bad, ...responses.slice(1)]);
    const error = await rejects(round.server.closeUnmasking(), 'E_AUTH');
    expect(error.message).toContain('"c0" revealed shares their dealers never sent');
    const result = await round.server.closeUnmasking();
    expect(Array.from(result.sum)).toEqual(sumOf(['c0', 'c1', 'c2', 'c3']));
  });

  it('with only t responses the tampering holder is found all the same (no extra share needed)', async () => {
    const { round, responses } = await toUnmasking();
    const bad = await round.resigned(responses[0]!, tampered(responses[0]!, 'selfMaskShares', 'c2', 'garble'));
    await round.deliver([bad, responses[1]!, responses[2]!]);
    const error = await rejects(round.server.closeUnmasking(), 'E_AUTH');
    expect(error.message).toContain('"c0" revealed shares their dealers never sent');
    expect(round.server.receivedFrom).toEqual(['c1', 'c2']);
    await rejects(round.server.closeUnmasking(), 'E_THRESHOLD'); // two answers left
    await round.deliver([responses[3]!]);
    expect(Array.from((await round.server.closeUnmasking()).sum)).toEqual(sumOf(['c0', 'c1', 'c2', 'c3']));
  });
});

describe('the commitment to the self-mask seed in ShareKeys', () => {
  it('a ShareKeys message without a 32-byte commitment -> E_PROTOCOL, nothing kept; the round completes', async () => {
    const round = await TestRound.create({ n: 3 });
    await round.until('share-keys');
    const shared = (await round.shareKeys()) as ShareKeysMessage[];
    const s0 = shared[0]!;
    expect(s0.selfMaskCommitment).toBeInstanceOf(Uint8Array);
    expect(s0.selfMaskCommitment).toHaveLength(32);
    const { selfMaskCommitment: _omitted, ...missing } = s0;
    await rejects(round.server.receive(missing as unknown as ClientMessage), 'E_PROTOCOL');
    await rejects(round.server.receive({ ...s0, selfMaskCommitment: Array.from(s0.selfMaskCommitment) } as unknown as ClientMessage), 'E_PROTOCOL');
    const short = s0.selfMaskCommitment.subarray(0, 31);
    expect((await rejects(round.server.receive({ ...s0, selfMaskCommitment: short }), 'E_PROTOCOL')).argument).toBe('selfMaskCommitment');
    const long = Uint8Array.of(...s0.selfMaskCommitment, 0);
    expect((await rejects(round.server.receive({ ...s0, selfMaskCommitment: long }), 'E_PROTOCOL')).argument).toBe('selfMaskCommitment');
    expect(round.server.receivedFrom).toEqual([]);
    // also on the wire: a 31-byte commitment decodes (decodeMessage checks types) and the server refuses it
    const wire = encodeMessage(s0);
    const { selfMaskCommitment: _gone, ...unwired } = wire;
    expectPrivkitError(() => decodeMessage(JSON.stringify(unwired)), 'E_PROTOCOL');
    expectPrivkitError(() => decodeMessage({ ...wire, selfMaskCommitment: 7 }), 'E_PROTOCOL');
    const decodedShort = decodeMessage({ ...wire, selfMaskCommitment: Buffer.from(short).toString('base64url') }) as ShareKeysMessage;
    expect(decodedShort.selfMaskCommitment).toHaveLength(31);
    await rejects(round.server.receive(decodedShort), 'E_PROTOCOL');
    expect(round.server.receivedFrom).toEqual([]);
    await round.deliver(shared);
    round.shares = round.server.closeShareKeys();
    await round.finish();
  });

  it('the JSON wire form carries the commitment (base64url); it is SHA-256 of the documented encoding of b_u', async () => {
    const round = await TestRound.create({ n: 3, roundId: 'round-ü' });
    await round.until('share-keys');
    const shared = (await round.shareKeys()) as ShareKeysMessage[];
    const wired = shared.map((m) => {
      const encoded = encodeMessage(m);
      expect(encoded.selfMaskCommitment).toBe(Buffer.from(m.selfMaskCommitment).toString('base64url'));
      const back = decodeMessage(JSON.stringify(encoded)) as ShareKeysMessage;
      expect(back).toEqual(m);
      expect(back.selfMaskCommitment).not.toBe(m.selfMaskCommitment);
      return back;
    });
    // distinct clients, distinct seeds: distinct commitments
    expect(new Set(shared.map((m) => Buffer.from(m.selfMaskCommitment).toString('hex'))).size).toBe(3);
    await round.deliver(wired);
    round.shares = round.server.closeShareKeys();
    await round.deliver(await round.maskedInput());
    round.checks = round.server.closeMaskedInput();
    await round.deliver(await round.consistency());
    round.requests = round.server.closeConsistencyCheck();
    const responses = (await round.unmask()) as UnmaskMessage[];
    await round.deliver(responses);
    expect(Array.from((await round.server.closeUnmasking()).sum)).toEqual(sumOf(['c0', 'c1', 'c2']));
    // C_u = SHA-256(field(domain) || field(roundId) || field(u) || field(b_u)), field(x) = u32be(len x) || x, strings UTF-8
    const field = (bytes: Uint8Array) => {
      const out = new Uint8Array(4 + bytes.length);
      new DataView(out.buffer).setUint32(0, bytes.length, false);
      out.set(bytes, 4);
      return out;
    };
    const utf8 = (text: string) => new TextEncoder().encode(text);
    for (const [i, m] of shared.entries()) {
      const owner = `c${i}`;
      const points = responses.map((r) => ({
        x: Number(r.sender.slice(1)) + 1,
        y: bytesToBigInt(r.selfMaskShares.find((share) => share.owner === owner)!.share),
      }));
      const seed = Uint8Array.from(Buffer.from(shamirCombine(points, 2).toString(16).padStart(64, '0'), 'hex'));
      const preimage = Buffer.concat([utf8('privkit/secagg/v1 self-mask seed commitment'), utf8('round-ü'), utf8(owner), seed].map(field));
      expect(new Uint8Array(await crypto.subtle.digest('SHA-256', preimage))).toEqual(m.selfMaskCommitment);
    }
  });
});

