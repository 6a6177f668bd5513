// Secure aggregation end to end (Bonawitz et al. 2017; SecAgg+ of Bell et al. 2020): the recovered
// sum equals the plain modular sum of the included inputs for random sizes, bit widths and dropout
// patterns; masked inputs the server receives are uniform (chi-square, alpha = 1e-6); survivors
// never reveal both shares of one client; SecAgg+ graphs, thresholds per neighbourhood; wire format.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError, ready } from 'privkit';
import {
  CommunicationGraph,
  communicationGraph,
  decodeMessage,
  detectKeyAgreement,
  encodeMessage,
  generateSigningKeyPair,
  signMessage,
  simulateRound,
  wordMask,
  type KeyAgreementCurve,
  type MaskedInputMessage,
  type SecAggMessage,
  type ShareKeysMessage,
  type UnmaskMessage,
} from 'privkit/secagg';
import { FC_SEED, expectPrivkitError, seededRng } from '../support/helpers.js';
import { chiSquareSf } from '../support/noise-stats.js';
import { TestRound, rejects } from '../secagg/round.js';

beforeAll(ready);

function randomInputs(n: number, length: number, bits: number, seed: number): Uint32Array[] {
  const rand = seededRng(seed);
  const m = wordMask(bits);
  return Array.from({ length: n }, () => Uint32Array.from({ length }, () => Math.floor(rand() * 2 ** 32) & m));
}

function plainSum(inputs: readonly Uint32Array[], included: readonly number[], bits: number): Uint32Array {
  const sum = new Uint32Array(inputs[0]!.length);
  for (const i of included) for (let j = 0; j < sum.length; j++) sum[j] += inputs[i]![j]!;
  const m = wordMask(bits);
  return sum.map((v) => v & m);
}

function expectSum(actual: Uint32Array, expected: Uint32Array): void {
  expect(actual.length).toBe(expected.length);
  const first = actual.findIndex((v, j) => v !== expected[j]);
  if (first >= 0) expect.fail(`sum[${first}] = ${actual[first]}, expected ${expected[first]}`);
}

/** Pearson chi-square statistic of `values` against the uniform distribution on [0, cells). */
function uniformityStatistic(values: Uint32Array, cells: number): number {
  const counts = new Array<number>(cells).fill(0);
  for (const v of values) counts[v]!++;
  const expected = values.length / cells;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

interface Drops {
  beforeShareKeys?: number[];
  beforeMaskedInput?: number[];
  afterMaskedInput?: number[];
}

/** Runs a simulated round with `drops` and checks that the sum is exactly that of the clients that sent their input. */
async function expectRecovered(inputs: Uint32Array[], bits: number, threshold: number, drops: Required<Drops>, neighbours?: number): Promise<void> {
  const r = await simulateRound({
    inputs,
    bits,
    threshold,
    ...(neighbours === undefined ? {} : { neighbours }),
    dropBeforeShareKeys: drops.beforeShareKeys,
    dropBeforeMaskedInput: drops.beforeMaskedInput,
    dropAfterMaskedInput: drops.afterMaskedInput,
  });
  const gone = new Set([...drops.beforeShareKeys, ...drops.beforeMaskedInput]);
  expect(r.included).toEqual(inputs.map((_, i) => i).filter((i) => !gone.has(i)));
  expectSum(r.sum, plainSum(inputs, r.included, bits));
}


/**
 * Runs a round step by step (client i has id `c${i}`), choosing the dropouts once the graph is
 * known, and keeps what the server received.
 */
async function driveRound(opts: {
  inputs: Uint32Array[];
  bits: number;
  threshold: number;
  neighbours?: number;
  drops?: (graph: number[][]) => Drops;
}) {
  const n = opts.inputs.length;
  const round = await TestRound.create({
    n,
    bits: opts.bits,
    length: opts.inputs[0]!.length,
    threshold: opts.threshold,
    input: (id) => opts.inputs[Number(id.slice(1))]!,
    ...(opts.neighbours === undefined ? {} : { neighbours: opts.neighbours }),
  });
  const setup = await round.server.setup();
  const graph = communicationGraph(n, setup.neighbours, setup.graphSeed);
  const drops = opts.drops?.(graph) ?? {};
  const out = (list?: number[]) => new Set((list ?? []).map((i) => `c${i}`));
  const [d0, d1, d2] = [out(drops.beforeShareKeys), out(drops.beforeMaskedInput), out(drops.afterMaskedInput)];
  await round.deliver(await round.advertise());
  round.keys = round.server.closeAdvertiseKeys();
  const shareKeys = (await round.shareKeys(round.clients.filter((c) => !d0.has(c.id)))) as ShareKeysMessage[];
  await round.deliver(shareKeys);
  round.shares = round.server.closeShareKeys();
  const masked = (await round.maskedInput(round.clients.filter((c) => round.shares.has(c.id) && !d1.has(c.id)))) as MaskedInputMessage[];
  await round.deliver(masked);
  round.checks = round.server.closeMaskedInput();
  await round.deliver(await round.consistency(round.clients.filter((c) => round.checks.has(c.id) && !d2.has(c.id))));
  round.requests = round.server.closeConsistencyCheck();
  const responses = (await round.unmask()) as UnmaskMessage[];
  await round.deliver(responses);
  const result = await round.server.closeUnmasking();
  return { result, setup, graph, shareKeys, responses, maskedInputs: new Map(masked.map((m) => [m.sender, m])) };
}

/** A random split of up to `budget` distinct client indices into the three dropout points. */
function dropPattern(n: number, budget: number, rand: () => number): Required<Drops> {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const take = () => Math.floor(rand() * (budget + 1));
  const a = Math.min(take(), budget);
  const b = Math.min(take(), budget - a);
  const c = Math.min(take(), budget - a - b);
  return { beforeShareKeys: order.slice(0, a), beforeMaskedInput: order.slice(a, a + b), afterMaskedInput: order.slice(a + b, a + b + c) };
}

describe('simulateRound (complete graph, original SecAgg)', () => {
  it('two clients, no dropout, 32 bits', async () => {
    const inputs = randomInputs(2, 1000, 32, 1);
    const r = await simulateRound({ inputs, bits: 32, threshold: 2 });
    expect(r.included).toEqual([0, 1]);
    expectSum(r.sum, plainSum(inputs, [0, 1], 32));
    expect(r.messagesToServer).toBe(10);
    expect(r.bytesToServer).toBeGreaterThan(2 * 1000 * 4);
  });

  it('recovers the sum when clients drop before and after sending masked input (n - t dropouts)', async () => {
    const inputs = randomInputs(10, 777, 16, 2);
    const r = await simulateRound({
      inputs,
      bits: 16,
      threshold: 6,
      dropBeforeShareKeys: [0],
      dropBeforeMaskedInput: [4, 7],
      dropAfterMaskedInput: [9],
    });
    // those who dropped after sending y_u are in the sum: their b_u is rebuilt from the survivors' shares
    expect(r.included).toEqual([1, 2, 3, 5, 6, 8, 9]);
    expectSum(r.sum, plainSum(inputs, r.included, 16));
    // AdvertiseKeys, ShareKeys, masked inputs, signatures on the survivor set (not from client 9), Unmasking
    expect(r.messagesToServer).toBe(10 + 9 + 7 + 6 + 6);
  });

  it('1-bit inputs, P-256 key agreement, structured-clone transport', async () => {
    const inputs = randomInputs(6, 300, 1, 3);
    const r = await simulateRound({ inputs, bits: 1, threshold: 4, curve: 'P-256', wire: 'structured-clone', dropBeforeMaskedInput: [2] });
    expect(r.included).toEqual([0, 1, 3, 4, 5]);
    expectSum(r.sum, plainSum(inputs, r.included, 1));
    expect(r.bytesToServer).toBe(0);
  });

  it('masks cancel exactly for random n in 2..30, lengths, bits and dropouts up to n - t (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 30 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 32 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer(),
        async (n, length, bits, tFraction, seed) => {
          const threshold = Math.floor(n / 2) + 1 + Math.floor(tFraction * (n - Math.floor(n / 2) - 1));
          const drops = dropPattern(n, n - threshold, seededRng(seed));
          const inputs = randomInputs(n, length, bits, seed);
          await expectRecovered(inputs, bits, threshold, drops);
        },
      ),
      { seed: FC_SEED, numRuns: 15 },
    );
  });

  it('the curve in use here is X25519 (Node 20 WebCrypto)', async () => {
    const curve: KeyAgreementCurve = await detectKeyAgreement();
    expect(curve).toBe('X25519');
  });
});

describe('the server never sees an unmasked input', () => {
  it('each masked input is uniform over Z_2^8 (chi-square, alpha = 1e-6) and differs from its plaintext', async () => {
    const length = 2 ** 14;
    const pattern = Uint32Array.from({ length }, (_, i) => (i * 37) & 255);
    const inputs = [new Uint32Array(length), new Uint32Array(length), pattern, pattern.slice()];
    const pValue = (values: Uint32Array) => chiSquareSf(uniformityStatistic(values, 256), 255);
    // the test has power: the plaintexts themselves fail it
    expect(pValue(inputs[0]!)).toBeLessThan(1e-6);
    expect(pValue(Uint32Array.from({ length }, (_, i) => (i * i) & 255))).toBeLessThan(1e-6);

    const round = await driveRound({ inputs, bits: 8, threshold: 3, drops: () => ({ beforeMaskedInput: [3] }) });
    expect(round.maskedInputs.size).toBe(3);
    inputs.slice(0, 3).forEach((plain, i) => {
      const masked = round.maskedInputs.get(`c${i}`)!.maskedInput;
      expect(pValue(masked), `client ${i}`).toBeGreaterThan(1e-6);
      const equal = masked.reduce((count, v, j) => count + (v === plain[j] ? 1 : 0), 0);
      expect(equal, `client ${i}: positions equal to the plaintext (about 64 expected)`).toBeLessThan(200);
    });
    expectSum(round.result.sum, plainSum(inputs, [0, 1, 2], 8));
  });
});

describe('what a client reveals follows from the survivor set it signed, never from the server', () => {
  it('self-mask shares of the members of S, key shares of the others it holds, never both for one client, never its own key share', async () => {
    const inputs = randomInputs(9, 4, 12, 11);
    const round = await driveRound({ inputs, bits: 12, threshold: 5, drops: () => ({ beforeMaskedInput: [2, 6], afterMaskedInput: [4] }) });
    const survivors = new Set(round.result.included);
    expect([...survivors]).toEqual(['c0', 'c1', 'c3', 'c4', 'c5', 'c7', 'c8']);
    for (const response of round.responses) {
      const selfMask = response.selfMaskShares.map((r) => r.owner);
      const keys = response.keyShares.map((r) => r.owner);
      expect(selfMask.every((o) => survivors.has(o))).toBe(true);
      expect(keys.every((o) => !survivors.has(o))).toBe(true);
      expect(keys).toEqual(['c2', 'c6']);
      expect(selfMask).toContain(response.sender);
      expect(keys).not.toContain(response.sender);
    }
    expectSum(round.result.sum, plainSum(inputs, [0, 1, 3, 4, 5, 7, 8], 12));
  });

  it('a survivor set that leaves the client out, or is not in registration order, is refused (nothing signed); the honest one works', async () => {
    const round = await TestRound.create({ ids: ['a', 'b', 'c', 'd', 'e'], threshold: 3, input: () => Uint32Array.of(1, 2, 3, 4, 5, 6, 7, 8) });
    await round.until('consistency-check');
    const honest = round.checks.get('a')!;
    expect(honest.survivors).toEqual(['a', 'b', 'c', 'd', 'e']);
    const a = round.client('a');
    expect((await rejects(a.consistencyCheck({ ...honest, survivors: ['b', 'c', 'd', 'e'] }), 'E_PROTOCOL')).argument).toBe('survivors');
    await rejects(a.consistencyCheck({ ...honest, survivors: ['b', 'a', 'c', 'd', 'e'] }), 'E_PROTOCOL');
    await rejects(a.consistencyCheck({ ...honest, survivors: ['a', 'a', 'c', 'd', 'e'] }), 'E_PROTOCOL');
    await rejects(a.consistencyCheck({ ...honest, survivors: ['a', 'b', 'c', 'd', 'e', 'zed'] }), 'E_PROTOCOL');
    expect(a.state).toBe('consistency-check');
    const result = await round.finish();
    expect(Array.from(result.sum)).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
  });
});

describe('SecAgg+ (k neighbours)', () => {
  it('communication graph: k-regular, symmetric, no self-loops, fixed by the seed; complete when k >= n - 1', async () => {
    const seed = new Uint8Array(32).fill(9);
    const graph = communicationGraph(25, 6, seed);
    graph.forEach((list, u) => {
      expect(list).toHaveLength(6);
      expect(list).not.toContain(u);
      for (const v of list) expect(graph[v]).toContain(u);
    });
    expect(communicationGraph(25, 6, seed)).toEqual(graph);
    expect(communicationGraph(25, 6, new Uint8Array(32).fill(10))).not.toEqual(graph);
    expect(communicationGraph(5, 4, seed)).toEqual(communicationGraph(5, undefined, seed));
    expect(communicationGraph(4, undefined, seed)).toEqual([
      [1, 2, 3],
      [0, 2, 3],
      [0, 1, 3],
      [0, 1, 2],
    ]);
  });

  it('each client shares with exactly its k neighbours, and the sum is right', async () => {
    const inputs = randomInputs(30, 200, 20, 5);
    const round = await driveRound({ inputs, bits: 20, threshold: 4, neighbours: 6 });
    for (const m of round.shareKeys) {
      const u = Number(m.sender.slice(1));
      expect(m.shares.map((s) => Number(s.peer.slice(1))).sort((a, b) => a - b)).toEqual(round.graph[u]);
      expect(m.rejected).toEqual([]);
    }
    expect(round.result.included).toHaveLength(30);
    expectSum(round.result.sum, plainSum(inputs, inputs.map((_, i) => i), 20));
  });

  it('recovers the sum with up to k + 1 - t dropouts anywhere (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 4, max: 50 }),
        fc.integer({ min: 1, max: 5 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer(),
        async (n, halfK, tFraction, bits, seed) => {
          const k = 2 * Math.min(halfK, Math.floor((n - 2) / 2));
          const low = Math.ceil((k + 1) / 2);
          const threshold = low + Math.floor(tFraction * (k + 1 - low + 1 - 1e-9));
          const drops = dropPattern(n, k + 1 - threshold, seededRng(seed));
          const inputs = randomInputs(n, 64, bits, seed);
          await expectRecovered(inputs, bits, threshold, drops, k);
        },
      ),
      { seed: FC_SEED, numRuns: 12 },
    );
  });

  it('a neighbourhood that loses too many clients -> E_THRESHOLD (k = 4, t = 5: any one dropout)', async () => {
    const inputs = randomInputs(12, 16, 8, 6);
    for (const drop of [{ dropBeforeMaskedInput: [3] }, { dropAfterMaskedInput: [3] }, { dropBeforeShareKeys: [3] }]) {
      const error = await simulateRound({ inputs, bits: 8, threshold: 5, neighbours: 4, ...drop }).catch((e: unknown) => e);
      expect(error, JSON.stringify(drop)).toBeInstanceOf(PrivkitError);
      expect((error as PrivkitError).code).toBe('E_THRESHOLD');
    }
  });

  it('k + 2 - t dropouts in one neighbourhood -> E_THRESHOLD; as many spread far apart -> the sum', async () => {
    const n = 40;
    const inputs = randomInputs(n, 32, 12, 7);
    // k = 6, t = 4: a neighbourhood of 7 survives 3 losses but not 4
    const near = await driveRound({
      inputs,
      bits: 12,
      threshold: 4,
      neighbours: 6,
      drops: (graph) => ({ beforeMaskedInput: graph[0]!.slice(0, 2), afterMaskedInput: graph[0]!.slice(2, 4) }),
    }).catch((e: unknown) => e);
    expect(near).toBeInstanceOf(PrivkitError);
    expect((near as PrivkitError).code).toBe('E_THRESHOLD');

    const far = await driveRound({
      inputs,
      bits: 12,
      threshold: 4,
      neighbours: 6,
      drops: (graph) => {
        // four clients no two of which share a neighbourhood member (distance >= 3 in the graph)
        const chosen: number[] = [];
        const blocked = new Set<number>();
        for (let u = 0; u < n && chosen.length < 4; u++) {
          if (blocked.has(u)) continue;
          chosen.push(u);
          for (const v of [u, ...graph[u]!]) for (const w of [v, ...graph[v]!]) blocked.add(w);
        }
        expect(chosen).toHaveLength(4);
        return { beforeMaskedInput: chosen.slice(0, 2), afterMaskedInput: chosen.slice(2) };
      },
    });
    expect(far.result.included).toHaveLength(n - 2);
    expectSum(far.result.sum, plainSum(inputs, far.result.included.map((id) => Number(id.slice(1))), 12));
  });
});

describe('the communication graph keeps only the ring', () => {
  it('CommunicationGraph answers per client like the adjacency lists; 60,000 clients fit; bad arguments -> E_ARG', async () => {
    const seed = new Uint8Array(32).fill(3);
    const lists = communicationGraph(40, 6, seed);
    const graph = new CommunicationGraph(40, 6, seed);
    lists.forEach((list, u) => {
      expect(graph.neighbours(u)).toEqual(list);
      for (let v = 0; v < 40; v++) expect(graph.linked(u, v)).toBe(list.includes(v));
      expect(graph.within(u, 1)).toEqual([...list, u].sort((a, b) => a - b));
    });
    const large = new CommunicationGraph(60_000, 16, seed);
    expect(large.neighbours(59_999)).toHaveLength(16);
    expect(large.components([0, ...large.neighbours(0)])).toHaveLength(1);
    expectPrivkitError(() => communicationGraph(2 ** 31, 16, seed), 'E_ARG', 'count');
    expectPrivkitError(() => communicationGraph(10, NaN, seed), 'E_ARG', 'neighbours');
    expectPrivkitError(() => communicationGraph(10, 4, new Uint8Array(31)), 'E_ARG', 'seed');
    expectPrivkitError(() => communicationGraph(5000, undefined, seed), 'E_ARG', 'count'); // 5000 x 4999 adjacency entries
  });
});

describe('wire format', () => {
  it('every message survives encodeMessage -> JSON -> decodeMessage and structuredClone', async () => {
    const round = await TestRound.create({ ids: ['alice', 'bob'], bits: 32, length: 3, threshold: 2, roundId: 'r-1', input: (id) => (id === 'alice' ? Uint32Array.of(0xffffffff, 1, 2) : Uint32Array.of(1, 0xfffffffe, 5)) });
    const setup = await round.server.setup();
    const seen: SecAggMessage[] = [];
    const wire = <T extends SecAggMessage>(m: T): T => {
      seen.push(m);
      const text = JSON.stringify(encodeMessage(m));
      const back = decodeMessage(text, { setup });
      expect(back).toEqual(m);
      expect(decodeMessage(JSON.parse(text))).toEqual(m);
      expect(structuredClone(m)).toEqual(m);
      return back as T;
    };
    const all = async <T extends SecAggMessage>(messages: T[]) => {
      for (const m of messages) await round.server.receive(wire(m) as never);
    };
    wire(setup);
    await all(await round.advertise());
    round.keys = new Map([...round.server.closeAdvertiseKeys()].map(([id, m]) => [id, wire(m)]));
    await all(await round.shareKeys());
    round.shares = new Map([...round.server.closeShareKeys()].map(([id, m]) => [id, wire(m)]));
    await all(await round.maskedInput());
    round.checks = new Map([...round.server.closeMaskedInput()].map(([id, m]) => [id, wire(m)]));
    await all(await round.consistency());
    round.requests = new Map([...round.server.closeConsistencyCheck()].map(([id, m]) => [id, wire(m)]));
    await all(await round.unmask());
    expect(Array.from((await round.server.closeUnmasking()).sum)).toEqual([0, 0xffffffff, 7]);
    expect(new Set(seen.map((m) => m.type))).toEqual(
      new Set([
        'setup',
        'advertise-keys',
        'public-keys',
        'share-keys',
        'encrypted-shares',
        'masked-input',
        'consistency-check',
        'consistency-signature',
        'unmask-request',
        'unmasking',
      ]),
    );
    // byte fields are unpadded base64url
    const encoded = encodeMessage({ ...maskedInput, maskedInput: Uint32Array.of(0xfbff_ff3e) });
    expect(encoded.maskedInput).toBe('Pv__-w');
  });

  const maskedInput: MaskedInputMessage = {
    type: 'masked-input',
    roundId: 'r',
    sender: 's',
    maskedInput: Uint32Array.of(1, 2),
    maskedWith: ['t'],
    rejected: [],
    signature: new Uint8Array(64),
  };

  it('malformed wire messages -> E_PROTOCOL', () => {
    const good = encodeMessage(maskedInput);
    expectPrivkitError(() => decodeMessage('{not json'), 'E_PROTOCOL');
    expectPrivkitError(() => decodeMessage({ ...good, type: 'hello' }), 'E_PROTOCOL');
    expectPrivkitError(() => decodeMessage({ ...good, maskedInput: 'AQAAAAIAAA+' }), 'E_PROTOCOL'); // '+' is not base64url
    expectPrivkitError(() => decodeMessage({ ...good, maskedInput: 'AQAAAAIAAAA=' }), 'E_PROTOCOL'); // padding
    expectPrivkitError(() => decodeMessage({ ...good, maskedInput: 'AQAAAAIAAB' }), 'E_PROTOCOL'); // 7 bytes, not words
    expectPrivkitError(() => decodeMessage({ ...good, maskedInput: 'AQAAAAIAAAB' }), 'E_PROTOCOL'); // spare bits set
    expectPrivkitError(() => decodeMessage({ ...good, sender: 7 }), 'E_PROTOCOL');
    expectPrivkitError(() => decodeMessage({ ...good, maskedWith: ['t', 7] }), 'E_PROTOCOL');
    const { roundId: _dropped, ...missing } = good;
    expectPrivkitError(() => decodeMessage(missing), 'E_PROTOCOL');
    expect(decodeMessage(good)).toEqual(maskedInput);
  });

  it('sizes are bounded before decoding: text length, list lengths and vector length against the round; echoed input cut short', async () => {
    const setup = await (await TestRound.create({ n: 5, length: 1000 })).server.setup();
    const big = encodeMessage({ ...maskedInput, maskedInput: new Uint32Array(100_000) });
    const sized = expectPrivkitError(() => decodeMessage(JSON.stringify(big), { setup }), 'E_PROTOCOL', 'message');
    expect(sized.message).toMatch(/exceeds the limit/);
    expectPrivkitError(() => decodeMessage(big, { setup }), 'E_PROTOCOL', 'message'); // the object form: the field's length
    // 300,000 share entries: refused by their count before any entry is looked at
    const entry = { peer: 'c1', iv: 'AAAAAAAAAAAAAAAA', ciphertext: 'AAAA' };
    const flood = { type: 'encrypted-shares', roundId: 'r', recipient: 'c0', shares: new Array(300_000).fill(entry) };
    expect(expectPrivkitError(() => decodeMessage(flood, { setup }), 'E_PROTOCOL').message).toMatch(/300000 entries, at most 5 fit/);
    expect(expectPrivkitError(() => decodeMessage(flood), 'E_PROTOCOL').message).toMatch(/at most 65536/);
    // without the round: a default bound of 64 Mi characters
    expectPrivkitError(() => decodeMessage(' '.repeat(2 ** 26 + 1)), 'E_PROTOCOL', 'message');
    // ids are at most 256 characters, and error messages quote at most 48 of them
    const longId = 'x'.repeat(10_000);
    expectPrivkitError(() => decodeMessage({ ...encodeMessage(maskedInput), sender: longId }), 'E_PROTOCOL');
    const error = expectPrivkitError(() => decodeMessage({ type: longId }), 'E_PROTOCOL');
    expect(error.message.length).toBeLessThan(200);
  });

  it('a message signature covers every field: a change, or another signer, fails (E_AUTH) and nothing is kept', async () => {
    const other = await generateSigningKeyPair();
    const round = await TestRound.create({ n: 3 });
    await round.until('masked-input');
    const [m0] = (await round.maskedInput()) as MaskedInputMessage[];
    const { signature: _signature, ...unsigned } = m0!;
    await rejects(round.server.receive(await signMessage<MaskedInputMessage>(unsigned, other.privateKey)), 'E_AUTH');
    await rejects(round.server.receive({ ...m0!, maskedInput: m0!.maskedInput.map((w) => w ^ 1) }), 'E_AUTH');
    await rejects(round.server.receive({ ...m0!, maskedWith: ['c1'], rejected: ['c2'] }), 'E_AUTH');
    expect(round.server.receivedFrom).toEqual([]);
  });
});
