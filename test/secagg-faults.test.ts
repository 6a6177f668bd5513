// Secure aggregation under faults: every bad message or call gets its PrivkitError (E_SHAPE,
// E_ARG, E_PROTOCOL, E_AUTH, E_THRESHOLD), and the party that rejected it is unchanged: the
// round still completes with the right sum afterwards.
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError, ready } from 'privkit';
import {
  SecAggClient,
  SecAggServer,
  communicationGraph,
  decodeMessage,
  encodeMessage,
  shamirCombine,
  type ClientMessage,
  type EncryptedSharesMessage,
  type PublicKeysMessage,
  type SecAggServerOptions,
  type ShareKeysMessage,
  type UnmaskMessage,
  type UnmaskRequestMessage,
} from 'privkit/secagg';
import { expectPrivkitError } from './helpers.js';

beforeAll(ready);

const LENGTH = 8;
const BITS = 10;

/** Client i's input: i + j (mod 2^10) at position j. */
const inputOf = (i: number) => Uint32Array.from({ length: LENGTH }, (_, j) => (i + j) & 1023);

function sumOf(ids: readonly string[]): number[] {
  return Array.from({ length: LENGTH }, (_, j) => ids.reduce((s, id) => s + Number(id.slice(1)) + j, 0) & 1023);
}

/** Big-endian bytes as a bigint. */
const bytesToBigInt = (bytes: Uint8Array): bigint => bytes.reduce((v, byte) => (v << 8n) | BigInt(byte), 0n);

async function rejects(promise: Promise<unknown>, code: string): Promise<PrivkitError> {
  const error = await promise.then(
    () => expect.fail(`expected ${code}, but the call succeeded`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PrivkitError);
  expect((error as PrivkitError).code, (error as PrivkitError).message).toBe(code);
  return error as PrivkitError;
}

/**
 * A round of n clients ids c0..c{n-1} driven one step at a time; each step takes the clients
 * that take part in it (default: all that completed the previous step).
 */
class Round {
  readonly server: SecAggServer;
  readonly clients: SecAggClient[];
  keys = new Map<string, PublicKeysMessage>();
  shares = new Map<string, EncryptedSharesMessage>();
  requests = new Map<string, UnmaskRequestMessage>();

  constructor(n: number, options: Partial<SecAggServerOptions> = {}) {
    const clients = Array.from({ length: n }, (_, i) => `c${i}`);
    this.server = new SecAggServer({ clients, bits: BITS, length: LENGTH, threshold: Math.floor(n / 2) + 1, roundId: 'round-1', ...options });
    this.clients = clients.map((id) => new SecAggClient(id));
  }

  client(id: string): SecAggClient {
    return this.clients.find((c) => c.id === id)!;
  }

  async advertise(who = this.clients): Promise<ClientMessage[]> {
    const setup = this.server.setupMessage ?? (await this.server.setup());
    return Promise.all(who.map((c) => c.advertiseKeys(setup)));
  }

  async shareKeys(who = this.clients.filter((c) => this.keys.has(c.id))): Promise<ClientMessage[]> {
    return Promise.all(who.map((c) => c.shareKeys(this.keys.get(c.id)!)));
  }

  async maskedInput(who = this.clients.filter((c) => this.shares.has(c.id))): Promise<ClientMessage[]> {
    return Promise.all(who.map((c) => c.maskedInput(this.shares.get(c.id)!, inputOf(Number(c.id.slice(1))))));
  }

  async unmask(who = this.clients.filter((c) => this.requests.has(c.id))): Promise<ClientMessage[]> {
    return Promise.all(who.map((c) => c.unmask(this.requests.get(c.id)!)));
  }

  deliver(messages: ClientMessage[]): void {
    for (const m of messages) this.server.receive(m);
  }

  /** Runs the rest of the round: every client still at the server's current step sends, then the server closes. */
  async finish(): Promise<number[]> {
    const at = (state: SecAggClient['state'], inRound: Map<string, unknown>) =>
      this.clients.filter((c) => c.state === state && inRound.has(c.id));
    if (this.server.round === 'advertise-keys') {
      this.deliver(await this.advertise(this.clients.filter((c) => c.state === 'setup')));
      this.keys = this.server.closeAdvertiseKeys();
    }
    if (this.server.round === 'share-keys') {
      this.deliver(await this.shareKeys(at('public-keys', this.keys)));
      this.shares = this.server.closeShareKeys();
    }
    if (this.server.round === 'masked-input') {
      this.deliver(await this.maskedInput(at('encrypted-shares', this.shares)));
      this.requests = this.server.closeMaskedInput();
    }
    this.deliver(await this.unmask(at('unmask-request', this.requests)));
    const result = await this.server.closeUnmasking();
    expect(Array.from(result.sum)).toEqual(sumOf(result.included));
    return Array.from(result.sum);
  }
}

describe('invalid parameters', () => {
  it('server options: bits, length, threshold, neighbours, ids', () => {
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
    expectPrivkitError(() => new SecAggServer({ ...base, roundId: '' }), 'E_ARG', 'roundId');
    expectPrivkitError(() => new SecAggClient(''), 'E_ARG', 'id');
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

  it('clients refuse a setup whose threshold is not a strict majority of a neighbourhood (E_PROTOCOL)', async () => {
    const setup = await new SecAggServer({ clients: ['a', 'b', 'c'], bits: 8, length: 4, threshold: 2 }).setup();
    const client = new SecAggClient('a');
    const error = await rejects(client.advertiseKeys({ ...setup, threshold: 1 }), 'E_PROTOCOL');
    expect(error.argument).toBe('threshold');
    const twelve = Array.from({ length: 12 }, (_, i) => `c${i}`);
    const plus = await new SecAggServer({ clients: twelve, bits: 8, length: 4, threshold: 3, neighbours: 4 }).setup();
    await rejects(new SecAggClient('c0').advertiseKeys({ ...plus, threshold: 2 }), 'E_PROTOCOL');
    expect(client.state).toBe('setup');
    await client.advertiseKeys(setup);
    expect(client.state).toBe('public-keys');
  });

  it('duplicate client ids -> E_PROTOCOL (server options and a setup message)', async () => {
    expectPrivkitError(() => new SecAggServer({ clients: ['a', 'b', 'a'], bits: 8, length: 4, threshold: 2 }), 'E_PROTOCOL', 'clients', 2);
    const setup = await new SecAggServer({ clients: ['a', 'b', 'c'], bits: 8, length: 4, threshold: 2 }).setup();
    const client = new SecAggClient('a');
    await rejects(client.advertiseKeys({ ...setup, clients: ['a', 'b', 'b'] }), 'E_PROTOCOL');
    await rejects(new SecAggClient('z').advertiseKeys(setup), 'E_PROTOCOL'); // not registered
    expect(client.state).toBe('setup');
    await client.advertiseKeys(setup);
    expect(client.state).toBe('public-keys');
  });
});

describe('bad inputs', () => {
  it('client: wrong length -> E_SHAPE, value >= 2^bits -> E_ARG, then the right input works', async () => {
    const round = new Round(3);
    round.deliver(await round.advertise());
    round.keys = round.server.closeAdvertiseKeys();
    round.deliver(await round.shareKeys());
    round.shares = round.server.closeShareKeys();
    const c0 = round.clients[0]!;
    await rejects(c0.maskedInput(round.shares.get('c0')!, new Uint32Array(LENGTH + 1)), 'E_SHAPE');
    const big = inputOf(0);
    big[5] = 1024;
    const error = await rejects(c0.maskedInput(round.shares.get('c0')!, big), 'E_ARG');
    expect(error.index).toBe(5);
    await rejects(c0.maskedInput(round.shares.get('c0')!, Array.from(inputOf(0)) as unknown as Uint32Array), 'E_ARG');
    expect(c0.state).toBe('encrypted-shares');
    expect(await round.finish()).toEqual(sumOf(['c0', 'c1', 'c2']));
  });

  it('server: a masked input of the wrong length -> E_SHAPE, out of range -> E_ARG; nothing kept', async () => {
    const round = new Round(3);
    round.deliver(await round.advertise());
    round.keys = round.server.closeAdvertiseKeys();
    round.deliver(await round.shareKeys());
    round.shares = round.server.closeShareKeys();
    const [m0, m1, m2] = await round.maskedInput();
    const y = (m0 as { maskedInput: Uint32Array }).maskedInput;
    expectPrivkitError(() => round.server.receive({ ...m0!, maskedInput: y.subarray(1) } as ClientMessage), 'E_SHAPE', 'maskedInput');
    const wide = y.slice();
    wide[2] = 4096;
    expectPrivkitError(() => round.server.receive({ ...m0!, maskedInput: wide } as ClientMessage), 'E_ARG', 'maskedInput', 2);
    expect(round.server.receivedFrom).toEqual([]);
    round.deliver([m0!, m1!, m2!]);
    round.requests = round.server.closeMaskedInput();
    round.deliver(await round.unmask());
    expect(Array.from((await round.server.closeUnmasking()).sum)).toEqual(sumOf(['c0', 'c1', 'c2']));
  });
});

describe('protocol violations -> E_PROTOCOL, the round still completes', () => {
  it('wrong round, replayed or duplicate message, unknown sender, wrong round id, malformed message', async () => {
    const round = new Round(4);
    const advertised = await round.advertise();
    round.deliver(advertised.slice(0, 3));
    expect(round.server.receivedFrom).toEqual(['c0', 'c1', 'c2']);
    expectPrivkitError(() => round.server.receive(advertised[1]!), 'E_PROTOCOL'); // duplicate
    expectPrivkitError(() => round.server.receive({ ...advertised[3]!, sender: 'mallory' } as ClientMessage), 'E_PROTOCOL'); // unknown
    expectPrivkitError(() => round.server.receive({ ...advertised[3]!, roundId: 'round-0' } as ClientMessage), 'E_PROTOCOL'); // other round
    // c3 replaying c2's keys under its own name
    expectPrivkitError(() => round.server.receive({ ...advertised[2]!, sender: 'c3' } as ClientMessage), 'E_PROTOCOL');
    expectPrivkitError(() => round.server.receive({ type: 'advertise-keys', sender: 'c3' } as unknown as ClientMessage), 'E_PROTOCOL');
    expect(round.server.receivedFrom).toEqual(['c0', 'c1', 'c2']);
    round.deliver(advertised.slice(3));
    round.keys = round.server.closeAdvertiseKeys();

    const shared = await round.shareKeys();
    expectPrivkitError(() => round.server.receive(advertised[0]!), 'E_PROTOCOL'); // a message of the previous round
    expect(() => round.server.closeMaskedInput()).toThrow(/E_PROTOCOL/); // closing a round that is not open
    round.deliver(shared.slice(0, 2));
    expectPrivkitError(() => round.server.receive(shared[0]!), 'E_PROTOCOL'); // replayed
    round.deliver(shared.slice(2));
    expect(await round.finish()).toEqual(sumOf(['c0', 'c1', 'c2', 'c3']));
    expectPrivkitError(() => round.server.receive(shared[0]!), 'E_PROTOCOL'); // the round is done
  });

  it('a client that skipped a round may not join later; clients refuse out-of-order calls', async () => {
    const round = new Round(4);
    round.deliver(await round.advertise(round.clients.slice(0, 3)));
    round.keys = round.server.closeAdvertiseKeys();
    expect([...round.keys.keys()]).toEqual(['c0', 'c1', 'c2']);
    const late = await round.advertise(round.clients.slice(3));
    expectPrivkitError(() => round.server.receive(late[0]!), 'E_PROTOCOL'); // AdvertiseKeys is closed
    round.deliver(await round.shareKeys());
    round.shares = round.server.closeShareKeys();
    const c0 = round.clients[0]!;
    await rejects(c0.shareKeys(round.keys.get('c0')!), 'E_PROTOCOL'); // already done
    await rejects(c0.unmask({ type: 'unmask-request', roundId: 'round-1', recipient: 'c0', survivors: [], dropped: [] }), 'E_PROTOCOL');
    // a broadcast for someone else, or from another round
    await rejects(c0.maskedInput({ ...round.shares.get('c0')!, recipient: 'c1' }, inputOf(0)), 'E_PROTOCOL');
    await rejects(c0.maskedInput({ ...round.shares.get('c0')!, roundId: 'round-0' }, inputOf(0)), 'E_PROTOCOL');
    await rejects(c0.maskedInput(round.shares.get('c1')!, inputOf(0)), 'E_PROTOCOL');
    expect(c0.state).toBe('encrypted-shares');
    expect(await round.finish()).toEqual(sumOf(['c0', 'c1', 'c2']));
  });

  it('a ShareKeys message must carry one ciphertext per neighbour; an unmask answer must match its request', async () => {
    const round = new Round(3);
    round.deliver(await round.advertise());
    round.keys = round.server.closeAdvertiseKeys();
    const shared = (await round.shareKeys()) as Extract<ClientMessage, { type: 'share-keys' }>[];
    const s0 = shared[0]!;
    expectPrivkitError(() => round.server.receive({ ...s0, shares: s0.shares.slice(1) }), 'E_PROTOCOL');
    expectPrivkitError(() => round.server.receive({ ...s0, shares: [s0.shares[0]!, s0.shares[0]!] }), 'E_PROTOCOL');
    expectPrivkitError(() => round.server.receive({ ...s0, shares: [{ ...s0.shares[0]!, peer: 'c0' }, s0.shares[1]!] }), 'E_PROTOCOL');
    const short = { ...s0.shares[0]!, ciphertext: s0.shares[0]!.ciphertext.subarray(1) };
    expectPrivkitError(() => round.server.receive({ ...s0, shares: [short, s0.shares[1]!] }), 'E_PROTOCOL');
    round.deliver(shared);
    round.shares = round.server.closeShareKeys();
    round.deliver(await round.maskedInput());
    round.requests = round.server.closeMaskedInput();
    const [u0, u1, u2] = (await round.unmask()) as Extract<ClientMessage, { type: 'unmasking' }>[];
    expectPrivkitError(() => round.server.receive({ ...u0!, selfMaskShares: u0!.selfMaskShares.slice(1) }), 'E_PROTOCOL');
    const notInField = { ...u0!.selfMaskShares[0]!, share: new Uint8Array(66).fill(0xff) };
    expectPrivkitError(() => round.server.receive({ ...u0!, selfMaskShares: [notInField, ...u0!.selfMaskShares.slice(1)] }), 'E_PROTOCOL');
    round.deliver([u0!, u1!, u2!]);
    expect(Array.from((await round.server.closeUnmasking()).sum)).toEqual(sumOf(['c0', 'c1', 'c2']));
  });
});

describe('share authentication -> E_AUTH, the client unchanged', () => {
  it('a tampered ciphertext, IV or relabelled sender fails; the genuine broadcast then works', async () => {
    const round = new Round(3);
    round.deliver(await round.advertise());
    round.keys = round.server.closeAdvertiseKeys();
    round.deliver(await round.shareKeys());
    round.shares = round.server.closeShareKeys();
    const genuine = round.shares.get('c0')!;
    const [from1, from2] = genuine.shares;
    const flipped = from1!.ciphertext.slice();
    flipped[10] = flipped[10]! ^ 1;
    const c0 = round.client('c0');
    await rejects(c0.maskedInput({ ...genuine, shares: [{ ...from1!, ciphertext: flipped }, from2!] }, inputOf(0)), 'E_AUTH');
    const iv = from2!.iv.slice();
    iv[0] = iv[0]! ^ 0x80;
    await rejects(c0.maskedInput({ ...genuine, shares: [from1!, { ...from2!, iv }] }, inputOf(0)), 'E_AUTH');
    // c1's ciphertext presented as c2's (and vice versa): the associated data and the key differ
    const swapped = [
      { ...from1!, peer: 'c2' },
      { ...from2!, peer: 'c1' },
    ];
    await rejects(c0.maskedInput({ ...genuine, shares: swapped }, inputOf(0)), 'E_AUTH');
    expect(c0.state).toBe('encrypted-shares');
    expect(await round.finish()).toEqual(sumOf(['c0', 'c1', 'c2']));
  });
});

describe('too many dropouts -> E_THRESHOLD, the server unchanged', () => {
  it('at every close; a late message then lets the round complete', async () => {
    const round = new Round(5, { threshold: 3 });
    const advertised = await round.advertise();
    round.deliver(advertised.slice(0, 2));
    expectPrivkitError(() => round.server.closeAdvertiseKeys(), 'E_THRESHOLD');
    expect(round.server.round).toBe('advertise-keys');
    expect(round.server.receivedFrom).toEqual(['c0', 'c1']);
    round.deliver(advertised.slice(2, 4)); // c4 never advertises
    round.keys = round.server.closeAdvertiseKeys();

    const shared = await round.shareKeys();
    round.deliver(shared.slice(0, 2));
    expectPrivkitError(() => round.server.closeShareKeys(), 'E_THRESHOLD');
    expect(round.server.round).toBe('share-keys');
    round.deliver(shared.slice(2));
    round.shares = round.server.closeShareKeys();

    const masked = await round.maskedInput();
    round.deliver(masked.slice(0, 2));
    expectPrivkitError(() => round.server.closeMaskedInput(), 'E_THRESHOLD');
    expect(round.server.round).toBe('masked-input');
    round.deliver(masked.slice(2, 3)); // c3 drops before sending its masked input
    round.requests = round.server.closeMaskedInput();
    expect(round.requests.get('c0')).toMatchObject({ survivors: ['c0', 'c1', 'c2'], dropped: ['c3'] });

    const revealed = await round.unmask();
    round.deliver(revealed.slice(0, 2));
    await rejects(round.server.closeUnmasking(), 'E_THRESHOLD');
    expect(round.server.round).toBe('unmasking');
    expect(round.server.result).toBeUndefined();
    round.deliver(revealed.slice(2));
    const result = await round.server.closeUnmasking();
    expect(result.included).toEqual(['c0', 'c1', 'c2']);
    expect(result.dropped).toEqual(['c3', 'c4']);
    expect(Array.from(result.sum)).toEqual(sumOf(['c0', 'c1', 'c2']));
    expect(round.server.round).toBe('done');
  });

  it('fewer masked inputs than minSurvivors -> E_THRESHOLD at closeMaskedInput; one more lets the round complete', async () => {
    const round = new Round(5, { threshold: 3, minSurvivors: 4 });
    round.deliver(await round.advertise());
    round.keys = round.server.closeAdvertiseKeys();
    round.deliver(await round.shareKeys());
    round.shares = round.server.closeShareKeys();
    const masked = await round.maskedInput();
    round.deliver(masked.slice(0, 3)); // t = 3 masked inputs: enough for the threshold, not for minSurvivors
    const error = expectPrivkitError(() => round.server.closeMaskedInput(), 'E_THRESHOLD');
    expect(error.message).toMatch(/minSurvivors = 4/);
    expect(round.server.round).toBe('masked-input');
    expect(round.server.receivedFrom).toEqual(['c0', 'c1', 'c2']);
    round.deliver(masked.slice(3, 4)); // c4 drops
    round.requests = round.server.closeMaskedInput();
    round.deliver(await round.unmask());
    const result = await round.server.closeUnmasking();
    expect(result.included).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(Array.from(result.sum)).toEqual(sumOf(['c0', 'c1', 'c2', 'c3']));
  });

  it("SecAgg+: survivors whose graph splits -> E_THRESHOLD at closeMaskedInput (each group's sum would be unmaskable)", async () => {
    // k = 2, t = 2: a ring of 8; two clients dropping at opposite points split it into two arcs of 3,
    // while every neighbourhood keeps 2 of its 3 members.
    const round = new Round(8, { threshold: 2, neighbours: 2 });
    round.deliver(await round.advertise());
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
    round.deliver(await round.shareKeys());
    round.shares = round.server.closeShareKeys();
    const [gone, late] = [`c${ring[0]}`, `c${ring[4]}`];
    const masked = await round.maskedInput(round.clients.filter((c) => c.id !== gone));
    round.deliver(masked.filter((m) => m.sender !== late));
    const error = expectPrivkitError(() => round.server.closeMaskedInput(), 'E_THRESHOLD');
    expect(error.message).toMatch(/splits into 2 groups \(3 \+ 3 clients\)/);
    expect(round.server.round).toBe('masked-input');
    expect(round.server.receivedFrom).toHaveLength(6);
    // the late masked input joins the two arcs: the round completes without `gone`
    round.deliver(masked.filter((m) => m.sender === late));
    round.requests = round.server.closeMaskedInput();
    round.deliver(await round.unmask());
    const result = await round.server.closeUnmasking();
    const survivors = round.clients.map((c) => c.id).filter((id) => id !== gone);
    expect(result.included).toEqual(survivors);
    expect(Array.from(result.sum)).toEqual(sumOf(survivors));
  });

  it('clients check the threshold too', async () => {
    const round = new Round(5, { threshold: 3 });
    round.deliver(await round.advertise());
    round.keys = round.server.closeAdvertiseKeys();
    const c0 = round.client('c0');
    const thin = { ...round.keys.get('c0')!, keys: round.keys.get('c0')!.keys.slice(0, 2) };
    await rejects(c0.shareKeys(thin), 'E_THRESHOLD');
    expect(c0.state).toBe('public-keys');
    expect(await round.finish()).toEqual(sumOf(['c0', 'c1', 'c2', 'c3', 'c4']));
  });
});

describe('a bad share in an Unmasking response -> E_AUTH; the culprit is found and discarded when possible', () => {
  /**
   * `message` with the share of `owner` in `field` replaced by another field element: 'flip' flips
   * its lowest bit (the share moves by +-1, the rebuilt secret by lambda * (+-1), which stays in
   * [0, 2^256) when the Lagrange coefficient lambda is a small integer: only the key check or the
   * commitment to b_u shows it), 'garble' writes an unrelated value (rebuilt secret >= 2^256).
   */
  const tamper = (
    message: ClientMessage,
    field: 'selfMaskShares' | 'keyShares',
    owner: string,
    how: 'flip' | 'garble' = 'flip',
  ): UnmaskMessage => {
    const m = message as UnmaskMessage;
    return {
      ...m,
      [field]: m[field].map((r) => {
        if (r.owner !== owner) return r;
        const share = how === 'flip' ? r.share.slice() : new Uint8Array(r.share.length).fill(0x5a);
        if (how === 'flip') share[share.length - 1] = share[share.length - 1]! ^ 1;
        else share[0] = 1; // < 2^521 - 1
        return { owner, share };
      }),
    };
  };

  const shareValue = (message: ClientMessage, owner: string) =>
    bytesToBigInt((message as UnmaskMessage).selfMaskShares.find((r) => r.owner === owner)!.share);

  /** A round of 5 (t = 3) up to the Unmasking responses; c4 drops before its masked input (its key is rebuilt). */
  async function toUnmasking(): Promise<{ round: Round; responses: ClientMessage[] }> {
    const round = new Round(5, { threshold: 3 });
    round.deliver(await round.advertise());
    round.keys = round.server.closeAdvertiseKeys();
    round.deliver(await round.shareKeys());
    round.shares = round.server.closeShareKeys();
    round.deliver(await round.maskedInput(round.clients.slice(0, 4)));
    round.requests = round.server.closeMaskedInput();
    return { round, responses: await round.unmask() };
  }

  for (const [sender, field, owner, how] of [
    [0, 'selfMaskShares', 'c1', 'garble'],
    [0, 'selfMaskShares', 'c1', 'flip'],
    [2, 'selfMaskShares', 'c3', 'flip'],
    [1, 'keyShares', 'c4', 'flip'],
  ] as const) {
    it(`a ${how === 'flip' ? 'one-bit-flipped' : 'garbled'} ${field === 'keyShares' ? 'masking-key' : 'self-mask'} share from c${sender}, with t + 1 responses: c${sender} is named and discarded, a retry succeeds`, async () => {
      const { round, responses } = await toUnmasking();
      const bad = tamper(responses[sender]!, field, owner, how);
      round.deliver(responses.map((m, i) => (i === sender ? bad : m)));
      const error = await rejects(round.server.closeUnmasking(), 'E_AUTH');
      expect(error.message).toContain(`bad shares from "c${sender}"`);
      expect(round.server.round).toBe('unmasking');
      expect(round.server.result).toBeUndefined();
      expect(round.server.receivedFrom).toEqual(['c0', 'c1', 'c2', 'c3'].filter((id) => id !== `c${sender}`));
      // the discarded client may not answer again, not even with its genuine response
      expectPrivkitError(() => round.server.receive(responses[sender]!), 'E_PROTOCOL');
      const result = await round.server.closeUnmasking();
      expect(result.included).toEqual(['c0', 'c1', 'c2', 'c3']);
      expect(result.dropped).toEqual(['c4']);
      expect(Array.from(result.sum)).toEqual(sumOf(['c0', 'c1', 'c2', 'c3']));
    });
  }

  it('a one-bit flip in a self-mask share rebuilds a wrong b_u that fits in 32 bytes: the commitment catches it (E_AUTH)', async () => {
    const { round, responses } = await toUnmasking();
    const bad = tamper(responses[0]!, 'selfMaskShares', 'c1');
    // The rebuild uses the shares at x = 1, 2, 3 (c0, c1, c2), where c0's Lagrange coefficient is 3:
    // b_c1 moves by +-3 and stays in [0, 2^256), which the range check alone let through.
    const points = (first: ClientMessage) => [first, responses[1]!, responses[2]!].map((m, i) => ({ x: i + 1, y: shareValue(m, 'c1') }));
    const genuine = shamirCombine(points(responses[0]!), 3);
    const wrong = shamirCombine(points(bad), 3);
    expect(genuine >> 256n).toBe(0n);
    expect(wrong >> 256n).toBe(0n);
    expect(wrong - genuine === 3n || genuine - wrong === 3n).toBe(true);
    round.deliver([bad, ...responses.slice(1)]);
    const error = await rejects(round.server.closeUnmasking(), 'E_AUTH');
    expect(error.message).toContain('bad shares from "c0"');
    expect(round.server.round).toBe('unmasking');
    expect(round.server.receivedFrom).toEqual(['c1', 'c2', 'c3']);
    const result = await round.server.closeUnmasking();
    expect(Array.from(result.sum)).toEqual(sumOf(['c0', 'c1', 'c2', 'c3']));
  });

  for (const how of ['garble', 'flip'] as const) {
    it(`with only t responses the culprit of a ${how === 'flip' ? 'one-bit-flipped' : 'garbled'} share can not be told apart: all kept; one more response identifies it`, async () => {
      const { round, responses } = await toUnmasking();
      round.deliver([tamper(responses[0]!, 'selfMaskShares', 'c2', how), responses[1]!, responses[2]!]);
      for (let attempt = 0; attempt < 2; attempt++) {
        const error = await rejects(round.server.closeUnmasking(), 'E_AUTH');
        expect(error.message).toMatch(/self-mask seed of "c2" are inconsistent and no single response explains it/);
        expect(round.server.receivedFrom).toEqual(['c0', 'c1', 'c2']);
        expect(round.server.round).toBe('unmasking');
      }
      round.deliver([responses[3]!]);
      const error = await rejects(round.server.closeUnmasking(), 'E_AUTH');
      expect(error.message).toContain('bad shares from "c0"');
      expect(round.server.receivedFrom).toEqual(['c1', 'c2', 'c3']);
      const result = await round.server.closeUnmasking();
      expect(Array.from(result.sum)).toEqual(sumOf(['c0', 'c1', 'c2', 'c3']));
    });
  }
});

describe('the commitment to the self-mask seed in ShareKeys', () => {
  it('a ShareKeys message without a 32-byte commitment -> E_PROTOCOL, nothing kept; the round completes', async () => {
    const round = new Round(3);
    round.deliver(await round.advertise());
    round.keys = round.server.closeAdvertiseKeys();
    const shared = (await round.shareKeys()) as ShareKeysMessage[];
    const s0 = shared[0]!;
    expect(s0.selfMaskCommitment).toBeInstanceOf(Uint8Array);
    expect(s0.selfMaskCommitment).toHaveLength(32);
    const { selfMaskCommitment: _omitted, ...missing } = s0;
    expectPrivkitError(() => round.server.receive(missing as unknown as ClientMessage), 'E_PROTOCOL');
    expectPrivkitError(() => round.server.receive({ ...s0, selfMaskCommitment: Array.from(s0.selfMaskCommitment) } as unknown as ClientMessage), 'E_PROTOCOL');
    const short = s0.selfMaskCommitment.subarray(0, 31);
    expectPrivkitError(() => round.server.receive({ ...s0, selfMaskCommitment: short }), 'E_PROTOCOL', 'selfMaskCommitment');
    const long = Uint8Array.of(...s0.selfMaskCommitment, 0);
    expectPrivkitError(() => round.server.receive({ ...s0, selfMaskCommitment: long }), 'E_PROTOCOL', 'selfMaskCommitment');
    expectPrivkitError(() => round.server.receive({ ...s0, selfMaskCommitment: new Uint8Array(0) }), 'E_PROTOCOL', 'selfMaskCommitment');
    expect(round.server.receivedFrom).toEqual([]);
    // also on the wire: a 31-byte commitment decodes (decodeMessage checks types) and the server refuses it
    const wire = encodeMessage(s0);
    const { selfMaskCommitment: _gone, ...unwired } = wire;
    expectPrivkitError(() => decodeMessage(JSON.stringify(unwired)), 'E_PROTOCOL');
    expectPrivkitError(() => decodeMessage({ ...wire, selfMaskCommitment: 7 }), 'E_PROTOCOL');
    const decodedShort = decodeMessage({ ...wire, selfMaskCommitment: Buffer.from(short).toString('base64url') }) as ShareKeysMessage;
    expect(decodedShort.selfMaskCommitment).toHaveLength(31);
    expectPrivkitError(() => round.server.receive(decodedShort), 'E_PROTOCOL', 'selfMaskCommitment');
    expect(round.server.receivedFrom).toEqual([]);
    round.deliver(shared);
    expect(await round.finish()).toEqual(sumOf(['c0', 'c1', 'c2']));
  });

  it('the JSON wire form carries the commitment (base64url); it is SHA-256 of the documented encoding of b_u', async () => {
    const round = new Round(3, { roundId: 'round-ü' });
    round.deliver(await round.advertise());
    round.keys = round.server.closeAdvertiseKeys();
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
    round.deliver(wired);
    round.shares = round.server.closeShareKeys();
    round.deliver(await round.maskedInput());
    round.requests = round.server.closeMaskedInput();
    const responses = (await round.unmask()) as UnmaskMessage[];
    round.deliver(responses);
    const result = await round.server.closeUnmasking();
    expect(Array.from(result.sum)).toEqual(sumOf(['c0', 'c1', 'c2']));
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
