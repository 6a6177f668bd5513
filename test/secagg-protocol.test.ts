// Secure aggregation end to end (Bonawitz et al. 2017; SecAgg+ of Bell et al. 2020): the recovered
// sum equals the plain modular sum of the included inputs for random sizes, bit widths and dropout
// patterns; masked inputs the server receives are uniform (chi-square, alpha = 1e-6); survivors
// never reveal both shares of one client; SecAgg+ graphs, thresholds per neighbourhood; wire format.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError, ready } from 'privkit';
import {
  SecAggClient,
  SecAggServer,
  communicationGraph,
  decodeMessage,
  detectKeyAgreement,
  encodeMessage,
  simulateRound,
  wordMask,
  type KeyAgreementCurve,
  type MaskedInputMessage,
  type SecAggMessage,
  type SecAggResult,
  type SetupMessage,
  type ShareKeysMessage,
} from 'privkit/secagg';
import { FC_SEED, expectPrivkitError, seededRng } from './helpers.js';
import { chiSquareSf } from './noise-stats.js';

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


interface DrivenRound {
  result: SecAggResult;
  setup: SetupMessage;
  graph: number[][];
  shareKeys: ShareKeysMessage[];
  maskedInputs: Map<string, MaskedInputMessage>;
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
}): Promise<DrivenRound> {
  const n = opts.inputs.length;
  const ids = opts.inputs.map((_, i) => `c${i}`);
  const server = new SecAggServer({
    clients: ids,
    bits: opts.bits,
    length: opts.inputs[0]!.length,
    threshold: opts.threshold,
    ...(opts.neighbours === undefined ? {} : { neighbours: opts.neighbours }),
  });
  const setup = await server.setup();
  const graph = communicationGraph(n, setup.neighbours, setup.graphSeed);
  const drops = opts.drops?.(graph) ?? {};
  const out = (list?: number[]) => new Set((list ?? []).map((i) => ids[i]!));
  const [d0, d1, d2] = [out(drops.beforeShareKeys), out(drops.beforeMaskedInput), out(drops.afterMaskedInput)];
  const clients = ids.map((id) => new SecAggClient(id));

  for (const m of await Promise.all(clients.map((c) => c.advertiseKeys(setup)))) server.receive(m);
  const keys = server.closeAdvertiseKeys();
  const sharing = clients.filter((c) => !d0.has(c.id));
  const shareKeys = await Promise.all(sharing.map((c) => c.shareKeys(keys.get(c.id)!)));
  for (const m of shareKeys) server.receive(m);
  const shares = server.closeShareKeys();
  const masking = sharing.filter((c) => !d1.has(c.id));
  const masked = await Promise.all(masking.map((c) => c.maskedInput(shares.get(c.id)!, opts.inputs[ids.indexOf(c.id)]!)));
  for (const m of masked) server.receive(m);
  const requests = server.closeMaskedInput();
  const unmasking = masking.filter((c) => !d2.has(c.id));
  for (const m of await Promise.all(unmasking.map((c) => c.unmask(requests.get(c.id)!)))) server.receive(m);
  const result = await server.closeUnmasking();
  return { result, setup, graph, shareKeys, maskedInputs: new Map(masked.map((m) => [m.sender, m])) };
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
    expect(r.messagesToServer).toBe(8);
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
    expect(r.messagesToServer).toBe(10 + 9 + 7 + 6);
  });

  it('1-bit inputs, P-256 key agreement, structured-clone transport', async () => {
    const inputs = randomInputs(6, 300, 1, 3);
    const r = await simulateRound({ inputs, bits: 1, threshold: 4, curve: 'P-256', wire: 'structured-clone', dropBeforeMaskedInput: [2] });
    expect(r.included).toEqual([0, 1, 3, 4, 5]);
    expectSum(r.sum, plainSum(inputs, r.included, 1));
    expect(r.bytesToServer).toBe(0);
  });

  it('masks cancel exactly for random n in 2..50, lengths, bits and dropouts up to n - t (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 50 }),
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

/** Runs a complete-graph round (bits 8) up to the unmask requests, every client taking part. */
async function untilUnmasking(ids: string[], threshold: number, input: (i: number) => Uint32Array) {
  const server = new SecAggServer({ clients: ids, bits: 8, length: input(0).length, threshold });
  const setup = await server.setup();
  const clients = ids.map((id) => new SecAggClient(id));
  for (const m of await Promise.all(clients.map((c) => c.advertiseKeys(setup)))) server.receive(m);
  const keys = server.closeAdvertiseKeys();
  for (const m of await Promise.all(clients.map((c) => c.shareKeys(keys.get(c.id)!)))) server.receive(m);
  const shares = server.closeShareKeys();
  for (const m of await Promise.all(clients.map((c, i) => c.maskedInput(shares.get(c.id)!, input(i))))) server.receive(m);
  return { server, clients, requests: server.closeMaskedInput() };
}

describe('a survivor never reveals both shares of one client', () => {
  it('an unmask request listing a client as survivor and dropped -> E_PROTOCOL, nothing revealed; the honest request works', async () => {
    const ids = ['a', 'b', 'c'];
    const { server, clients, requests } = await untilUnmasking(ids, 2, () => Uint32Array.of(1, 2, 3, 4));
    const honest = requests.get('a')!;
    expect(honest.survivors).toEqual(['a', 'b', 'c']);
    expect(honest.dropped).toEqual([]);

    const greedy = { ...honest, dropped: ['b'] };
    const error = await clients[0]!.unmask(greedy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrivkitError);
    expect((error as PrivkitError).code).toBe('E_PROTOCOL');
    expect((error as PrivkitError).message).toMatch(/both/);
    expect(clients[0]!.state).toBe('unmask-request');

    for (const c of clients) server.receive(await c.unmask(requests.get(c.id)!));
    const result = await server.closeUnmasking();
    expect(Array.from(result.sum)).toEqual([3, 6, 9, 12]);
    expect(result.included).toEqual(ids);
    expect(result.dropped).toEqual([]);
  });

  it('an unmask request listing the client itself as dropped -> E_PROTOCOL, nothing revealed; the honest request works', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const { server, clients, requests } = await untilUnmasking(ids, 3, (i) => Uint32Array.of(i, 1));
    // The server has a's masked input and gets a's b-share from the others; a's own key share
    // would be one of the t key shares it needs to remove a's pairwise masks as well.
    const honest = requests.get('a')!;
    const selfDropped = { ...honest, survivors: honest.survivors.filter((id) => id !== 'a'), dropped: ['a'] };
    const error = await clients[0]!.unmask(selfDropped).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrivkitError);
    expect((error as PrivkitError).code).toBe('E_PROTOCOL');
    expect((error as PrivkitError).argument).toBe('dropped');
    expect(clients[0]!.state).toBe('unmask-request');

    for (const c of clients) server.receive(await c.unmask(requests.get(c.id)!));
    const result = await server.closeUnmasking();
    expect(Array.from(result.sum)).toEqual([0 + 1 + 2 + 3 + 4, 5]);
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

describe('wire format', () => {
  it('every message survives encodeMessage -> JSON -> decodeMessage and structuredClone', async () => {
    const ids = ['alice', 'bob'];
    const server = new SecAggServer({ clients: ids, bits: 32, length: 3, threshold: 2, roundId: 'r-1' });
    const clients = ids.map((id) => new SecAggClient(id));
    const seen: SecAggMessage[] = [];
    const wire = <T extends SecAggMessage>(m: T): T => {
      seen.push(m);
      const text = JSON.stringify(encodeMessage(m));
      const back = decodeMessage(text);
      expect(back).toEqual(m);
      expect(decodeMessage(JSON.parse(text))).toEqual(m);
      expect(structuredClone(m)).toEqual(m);
      return back as T;
    };
    const setup = wire(await server.setup());
    for (const c of clients) server.receive(wire(await c.advertiseKeys(setup)));
    const keys = server.closeAdvertiseKeys();
    for (const c of clients) server.receive(wire(await c.shareKeys(wire(keys.get(c.id)!))));
    const shares = server.closeShareKeys();
    const inputs = [Uint32Array.of(0xffffffff, 1, 2), Uint32Array.of(1, 0xfffffffe, 5)];
    for (const [i, c] of clients.entries()) server.receive(wire(await c.maskedInput(wire(shares.get(c.id)!), inputs[i]!)));
    const requests = server.closeMaskedInput();
    for (const c of clients) server.receive(wire(await c.unmask(wire(requests.get(c.id)!))));
    expect(Array.from((await server.closeUnmasking()).sum)).toEqual([0, 0xffffffff, 7]);
    expect(new Set(seen.map((m) => m.type))).toEqual(
      new Set(['setup', 'advertise-keys', 'public-keys', 'share-keys', 'encrypted-shares', 'masked-input', 'unmask-request', 'unmasking']),
    );
    // byte fields are unpadded base64url
    const encoded = encodeMessage({ type: 'masked-input', roundId: 'r', sender: 's', maskedInput: Uint32Array.of(0xfbff_ff3e) });
    expect(encoded.maskedInput).toBe('Pv__-w');
  });

  it('malformed wire messages -> E_PROTOCOL', () => {
    const good = encodeMessage({ type: 'masked-input', roundId: 'r', sender: 's', maskedInput: Uint32Array.of(1, 2) });
    expectPrivkitError(() => decodeMessage('{not json'), 'E_PROTOCOL');
    expectPrivkitError(() => decodeMessage({ ...good, type: 'hello' }), 'E_PROTOCOL');
    expectPrivkitError(() => decodeMessage({ ...good, maskedInput: 'AQAAAAIAAA+' }), 'E_PROTOCOL'); // '+' is not base64url
    expectPrivkitError(() => decodeMessage({ ...good, maskedInput: 'AQAAAAIAAAA=' }), 'E_PROTOCOL'); // padding
    expectPrivkitError(() => decodeMessage({ ...good, maskedInput: 'AQAAAAIAAB' }), 'E_PROTOCOL'); // 7 bytes, not words
    expectPrivkitError(() => decodeMessage({ ...good, maskedInput: 'AQAAAAIAAAB' }), 'E_PROTOCOL'); // spare bits set
    expectPrivkitError(() => decodeMessage({ ...good, sender: 7 }), 'E_PROTOCOL');
    const { roundId: _dropped, ...missing } = good;
    expectPrivkitError(() => decodeMessage(missing), 'E_PROTOCOL');
    expect(decodeMessage(good)).toEqual({ type: 'masked-input', roundId: 'r', sender: 's', maskedInput: Uint32Array.of(1, 2) });
  });
});
