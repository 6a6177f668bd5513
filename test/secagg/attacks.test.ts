// Scripted attacks on secure aggregation (issue 11): each test plays the attacker (a deviating
// server, a malicious client or the network) against real clients and servers through the message
// API, and checks that the attack is refused, or that what it gets is what the protocol allows (a
// sum over a whole signed survivor set). Against the semi-honest protocol (commit 2bcbf6a) the same
// scripts recovered c0's input, a 3-client partial sum, a one-client "sum", a shifted sum, and blamed
// honest clients; the README's threat model lists what each adversary gets now.
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import {
  CommunicationGraph,
  SecAggClient,
  generateSigningKeyPair,
  SecAggServer,
  communicationGraph,
  lagrangeAtZero,
  shamirSplit,
  type AdvertiseKeysMessage,
  type MaskedInputMessage,
  type ShareKeysMessage,
} from 'privkit/secagg';
import { expectPrivkitError } from '../support/helpers.js';
import { MaliciousDealer, MaliciousServer, rebuild, stripMasks } from './malicious-server.js';
import { TestRound, rejects } from './round.js';

beforeAll(ready);

const VICTIM_INPUT = [1234, 42, 7, 65535, 0, 31337];
const BITS = 16;
const LENGTH = VICTIM_INPUT.length;

/** c0's input is VICTIM_INPUT; the others' are arbitrary. */
const inputOf = (id: string) =>
  id === 'c0' ? Uint32Array.from(VICTIM_INPUT) : Uint32Array.from({ length: LENGTH }, (_, j) => (Number(id.slice(1)) * 977 + j * 131) & 0xffff);
const sumOf = (ids: readonly string[]) => VICTIM_INPUT.map((_, j) => ids.reduce((s, id) => s + inputOf(id)[j]!, 0) & 0xffff);

/** The error's code and message, or 'answered'. */
const outcome = (answer: unknown) => (answer instanceof Error ? answer.message : 'answered');

/**
 * The audit's request pattern: who is told whom dropped, so that every key share of c1..c{t-1}
 * (c0's only peers) reaches t holders while each holder's view stays plausible on its own (never
 * itself dropped, at least t survivors): greedy, each holder taking at most n - t "dropped"
 * clients. Undefined when counting forbids it.
 */
function inconsistentDrops(n: number, t: number): Map<string, string[]> | undefined {
  const peers = Array.from({ length: t - 1 }, (_, i) => `c${i + 1}`);
  const holders = Array.from({ length: n - 1 }, (_, i) => `c${i + 1}`);
  const dropped = new Map(holders.map((h) => [h, [] as string[]]));
  for (const p of peers) {
    const chosen = holders
      .filter((h) => h !== p && dropped.get(h)!.length < n - t)
      .sort((a, b) => dropped.get(a)!.length - dropped.get(b)!.length)
      .slice(0, t);
    if (chosen.length < t) return undefined;
    for (const h of chosen) dropped.get(h)!.push(p);
  }
  return dropped;
}

describe('a deviating server: inconsistent survivor sets (complete graph, the audit attack)', () => {
  it('counting allows the request pattern at the minimum majority threshold for odd n >= 5 and even n >= 8 only', () => {
    const feasible = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12].filter((n) => inconsistentDrops(n, Math.floor(n / 2) + 1) !== undefined);
    expect(feasible).toEqual([5, 7, 8, 9, 10, 11, 12]);
  });

  for (const n of [5, 7, 8, 9, 10, 12]) {
    const t = Math.floor(n / 2) + 1;
    it(`n = ${n}, t = ${t}: c0 masks with t - 1 peers only; each client is shown its own survivor set: all refuse, nothing revealed`, async () => {
      const server = await MaliciousServer.create({ n, threshold: t, bits: BITS, length: LENGTH });
      const peers = server.ids.slice(1, t); // c0's whole view
      const others = (id: string) => server.ids.filter((v) => v !== id);
      await server.shareKeys();
      await server.maskedInputs((id) => (id === 'c0' ? peers : others(id)), inputOf);
      expect(server.masked.get('c0')!.maskedWith).toEqual(peers);
      const sets = new Map([...inconsistentDrops(n, t)!].map(([id, dropped]) => [id, server.ids.filter((v) => !dropped.includes(v))]));
      const answers = await server.consistency(sets, others);
      for (const [id, answer] of answers) {
        // every set holds c0 and a client c0 never masked with: c0's signed statement gives the server away
        expect(outcome(answer), id).toMatch(/^E_PROTOCOL: "c0" did not mask with "c\d+", also in the survivor set/);
      }
      const responses = await server.unmask(new Map([...sets.keys()].map((id) => [id, [...sets.keys()]])));
      for (const [id, response] of responses) expect(outcome(response), id).toMatch(/^E_PROTOCOL: this client expects a 'consistency-check' message/);
      const seeds = rebuild(responses.values(), 'selfMaskShares', t);
      const keys = rebuild(responses.values(), 'keyShares', t);
      await expect(stripMasks(server, ['c0'], peers, seeds, keys)).rejects.toThrow(/self-mask seed of c0 was not revealed/);
    });
  }

  it("the partial view with one consistent set {c0} + c0's peers: all of it signs and reveals, yet nothing unmasks (the others' keys have fewer than t holders in the set)", async () => {
    const n = 7;
    const t = 4;
    const server = await MaliciousServer.create({ n, threshold: t, bits: BITS, length: LENGTH });
    const group = server.ids.slice(0, t);
    const peers = group.slice(1);
    const others = (id: string) => server.ids.filter((v) => v !== id);
    await server.shareKeys();
    await server.maskedInputs((id) => (id === 'c0' ? peers : others(id)), inputOf);
    const answers = await server.consistency(new Map(group.map((id) => [id, group])), others);
    expect([...answers.values()].map(outcome)).toEqual(group.map(() => 'answered'));
    const responses = await server.unmask(new Map(group.map((id) => [id, group])));
    expect([...responses.values()].map(outcome)).toEqual(group.map(() => 'answered'));
    const seeds = rebuild(responses.values(), 'selfMaskShares', t);
    const keys = rebuild(responses.values(), 'keyShares', t);
    expect([...seeds.keys()].sort()).toEqual(group);
    expect(keys.size).toBe(0); // c4..c6's key shares come from c1..c3 only: t - 1 of them
    await expect(stripMasks(server, ['c0'], peers, seeds, keys)).rejects.toThrow(/masking key of c1 was not revealed/);
    await expect(stripMasks(server, group, server.ids.slice(t), seeds, keys)).rejects.toThrow(/masking key of c4 was not revealed/);
  });

  it('control: the same script against an honest view and one survivor set unmasks the sum of the whole set, and nothing smaller', async () => {
    const n = 5;
    const server = await MaliciousServer.create({ n, threshold: 3, bits: BITS, length: LENGTH });
    const others = (id: string) => server.ids.filter((v) => v !== id);
    await server.shareKeys();
    await server.maskedInputs(others, inputOf);
    await server.consistency(new Map(server.ids.map((id) => [id, server.ids])), others);
    const responses = await server.unmask(new Map(server.ids.map((id) => [id, server.ids])));
    const seeds = rebuild(responses.values(), 'selfMaskShares', 3);
    const keys = rebuild(responses.values(), 'keyShares', 3);
    expect(Array.from(await stripMasks(server, server.ids, [], seeds, keys))).toEqual(sumOf(server.ids));
    await expect(stripMasks(server, ['c0'], others('c0'), seeds, keys)).rejects.toThrow(/masking key of c1 was not revealed/);
  });

  it('inconsistent sets without the partial view: every client signs its own set, but no set gathers t signatures (E_THRESHOLD), and signatures on other sets do not verify (E_AUTH)', async () => {
    const n = 7;
    const t = 4;
    const server = await MaliciousServer.create({ n, threshold: t, bits: BITS, length: LENGTH });
    const others = (id: string) => server.ids.filter((v) => v !== id);
    await server.shareKeys();
    await server.maskedInputs(others, inputOf);
    const sets = new Map([...inconsistentDrops(n, t)!].map(([id, dropped]) => [id, server.ids.filter((v) => !dropped.includes(v))]));
    const distinct = new Set([...sets.values()].map((s) => s.join(',')));
    expect(distinct.size).toBeGreaterThan(2);
    const answers = await server.consistency(sets, others);
    expect([...answers.values()].map(outcome)).toEqual([...sets.keys()].map(() => 'answered'));
    // each client gets the signatures made on its own set (too few), or those of every member of its set
    const sameSet = new Map([...sets].map(([id, set]) => [id, [...sets].filter(([, s]) => s.join(',') === set.join(',')).map(([v]) => v)]));
    for (const [id, response] of await server.unmask(sameSet)) expect(outcome(response), id).toMatch(/^E_THRESHOLD: \d signatures on the survivor set/);
    const members = new Map([...sets].map(([id, set]) => [id, set.filter((v) => sets.has(v))]));
    for (const [id, response] of await server.unmask(members)) expect(outcome(response), id).toMatch(/^E_AUTH: the signatures of .* do not verify/);
  });
});

describe('a deviating server: too few participants, and Sybils', () => {
  it("new SecAggServer({ clients: ['victim'], threshold: 1 }): the victim (minParticipants 3) refuses to take part", async () => {
    const server = new SecAggServer({ clients: ['victim'], threshold: 1, bits: BITS, length: LENGTH });
    const victim = new SecAggClient('victim', { minParticipants: 3 });
    const error = await rejects(victim.advertiseKeys(await server.setup()), 'E_THRESHOLD');
    expect(error.message).toMatch(/registers 1 clients; this client takes part only with at least minParticipants = 3/);
    expect(victim.state).toBe('setup');
  });

  it('with the expected participants and their keys, a server that plays the other two itself is caught: their keys are rejected and named, the victim refuses', async () => {
    const [victimKey, ...appKeys] = await Promise.all([0, 1, 2].map(() => generateSigningKeyPair()));
    const expectedParticipants = ['victim', 'c1', 'c2'].map((id, i) => ({ id, signingPublicKey: [victimKey!, ...appKeys][i]!.publicKey }));
    const victim = new SecAggClient('victim', { minParticipants: 3, signingKey: victimKey!, expectedParticipants });
    const setup = { ...(await new SecAggServer({ clients: ['victim', 'c1', 'c2'], threshold: 2, bits: BITS, length: LENGTH }).setup()) };
    const own = await victim.advertiseKeys(setup);
    // the server's Sybils: clients it runs with key pairs of its own
    const sybils = await Promise.all(['c1', 'c2'].map((id) => new SecAggClient(id, { minParticipants: 1 }).advertiseKeys(setup)));
    const keys = [own, ...sybils].map(({ sender, cPublicKey, sPublicKey, signingPublicKey, signature }) => ({ id: sender, cPublicKey, sPublicKey, signingPublicKey, signature }));
    const error = await rejects(victim.shareKeys({ type: 'public-keys', roundId: setup.roundId, recipient: 'victim', keys }), 'E_THRESHOLD');
    expect(error.message).toMatch(/keys rejected: "c1", "c2"/);
  });

  it('without a list of expected keys the server CAN stand in for the others (Sybils): out of the model, as the README says', async () => {
    const server = new SecAggServer({ clients: ['victim', 's1', 's2'], threshold: 2, bits: BITS, length: LENGTH });
    const round = [new SecAggClient('victim', { minParticipants: 3 }), new SecAggClient('s1', { minParticipants: 1 }), new SecAggClient('s2', { minParticipants: 1 })];
    const sybilInput = Uint32Array.from({ length: LENGTH }, (_, j) => j);
    const input = (c: SecAggClient) => (c.id === 'victim' ? Uint32Array.from(VICTIM_INPUT) : sybilInput);
    const setup = await server.setup();
    for (const c of round) await server.receive(await c.advertiseKeys(setup));
    const keys = server.closeAdvertiseKeys();
    for (const c of round) await server.receive(await c.shareKeys(keys.get(c.id)!));
    const shares = server.closeShareKeys();
    for (const c of round) await server.receive(await c.maskedInput(shares.get(c.id)!, input(c)));
    const checks = server.closeMaskedInput();
    for (const c of round) await server.receive(await c.consistencyCheck(checks.get(c.id)!));
    const requests = server.closeConsistencyCheck();
    for (const c of round) await server.receive(await c.unmask(requests.get(c.id)!));
    const { sum } = await server.closeUnmasking();
    expect(Array.from(sum, (v, j) => (v - 2 * sybilInput[j]!) & 0xffff)).toEqual(VICTIM_INPUT);
  });
});

describe('a deviating server: SecAgg+ partial sums (12 clients, 4 neighbours, t = 3)', () => {
  /** The ring of H_{4,12} from the seed the attacker uses: ring neighbours at distance 1 share two common neighbours, at distance 2 one. */
  function ringOrder(graph: number[][]): number[] {
    const common = (u: number, v: number) => graph[u]!.filter((w) => graph[v]!.includes(w)).length;
    const ring = [0];
    while (ring.length < graph.length) {
      const here = ring[ring.length - 1]!;
      ring.push(graph[here]!.find((v) => !ring.includes(v) && common(here, v) === 2)!);
    }
    return ring;
  }

  async function setupAttack() {
    const n = 12;
    const server = await MaliciousServer.create({ n, threshold: 3, bits: BITS, length: LENGTH, neighbours: 4 });
    const graph = communicationGraph(n, 4, new Uint8Array(32).fill(7));
    const neighbours = (id: string) => graph[Number(id.slice(1))]!.map((v) => `c${v}`);
    const ring = ringOrder(graph);
    const at = (k: number) => `c${ring[(k + n) % n]}`;
    // positions p, p+1, p+2 form the group, p-2, p-1, p+3, p+4 the cut (live clients the server calls dropped)
    const group = [at(0), at(1), at(2)];
    const cut = [at(-2), at(-1), at(3), at(4)];
    const rest = server.ids.filter((id) => !group.includes(id) && !cut.includes(id));
    for (const u of group) expect(neighbours(u).every((v) => group.includes(v) || cut.includes(v))).toBe(true);
    await server.shareKeys((id) => [id, ...neighbours(id)]);
    await server.maskedInputs(neighbours, inputOf);
    return { server, neighbours, group, cut, rest };
  }

  it('the semi-honest attack: one survivor set without the four: every client it is shown to refuses, the graph splits', async () => {
    const { server, neighbours, group, cut, rest } = await setupAttack();
    const survivors = server.ids.filter((id) => !cut.includes(id));
    const answers = await server.consistency(new Map([...group, ...rest].map((id) => [id, survivors])), neighbours);
    for (const [id, answer] of answers) expect(outcome(answer), id).toMatch(/^E_THRESHOLD: the survivor set splits into 2 groups \((3 \+ 5|5 \+ 3) clients\)/);
  });

  it('a set per group: the 3-client group signs its own, but no member reveals: the cut clients\' neighbourhoods hold too few signatures', async () => {
    const { server, neighbours, group, cut, rest } = await setupAttack();
    const sets = new Map([...group.map((id) => [id, group] as const), ...rest.map((id) => [id, rest] as const)]);
    const answers = await server.consistency(new Map([...sets].map(([id, set]) => [id, [...set].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))])), neighbours);
    for (const id of group) expect(outcome(answers.get(id)), id).toBe('answered');
    const responses = await server.unmask(new Map(group.map((id) => [id, group])));
    for (const [id, response] of responses) expect(outcome(response), id).toMatch(/^E_THRESHOLD: \d signatures on the survivor set from the neighbourhood of/);
    const seeds = rebuild(responses.values(), 'selfMaskShares', 3);
    const keys = rebuild(responses.values(), 'keyShares', 3);
    await expect(stripMasks(server, group, cut, seeds, keys)).rejects.toThrow(/was not revealed/);
  });
});

describe('the network: messages are signed', () => {
  it("a masked input for c0 altered on the way (every word + 5) is refused (E_AUTH), the genuine one accepted, the sum exact", async () => {
    const round = await TestRound.create({ n: 3, bits: BITS, length: LENGTH, input: inputOf });
    await round.until('masked-input');
    const [genuine, ...others] = (await round.maskedInput()) as MaskedInputMessage[];
    const spoofed = { ...genuine!, maskedInput: genuine!.maskedInput.map((w) => (w + 5) & 0xffff) };
    expect((await rejects(round.server.receive(spoofed), 'E_AUTH')).message).toMatch(/"c0" does not verify/);
    await round.deliver([genuine!, ...others]);
    round.checks = round.server.closeMaskedInput();
    const result = await round.finish();
    expect(Array.from(result.sum)).toEqual(sumOf(['c0', 'c1', 'c2']));
  });
});

describe('malicious clients', () => {
  it('a small-order X25519 key: the server refuses it and names the sender; relayed anyway, the honest clients reject and name it, and the round completes without it', async () => {
    const round = await TestRound.create({ n: 5, threshold: 3, bits: BITS, length: LENGTH, input: inputOf });
    const advertised = (await round.advertise()) as AdvertiseKeysMessage[];
    const evil = await round.resigned(advertised[4]!, { cPublicKey: new Uint8Array(32) }); // u = 0: order 2, signed by c4 itself
    const error = await rejects(round.server.receive(evil), 'E_PROTOCOL');
    expect(error.message).toMatch(/cPublicKey of "c4" is not a valid X25519 public key: a point of small order/);
    await round.deliver(advertised);
    round.keys = round.server.closeAdvertiseKeys();
    // a deviating server relays c4's small-order key to the others
    for (const id of ['c0', 'c1', 'c2', 'c3']) {
      const m = round.keys.get(id)!;
      round.keys.set(id, { ...m, keys: m.keys.map((k) => (k.id === 'c4' ? { ...k, cPublicKey: evil.cPublicKey, signature: evil.signature } : k)) });
    }
    const shared = (await round.shareKeys()) as ShareKeysMessage[];
    for (const m of shared.slice(0, 4)) expect(m.rejected, m.sender).toEqual(['c4']);
    await round.deliver(shared);
    round.shares = round.server.closeShareKeys();
    expect(round.shares.has('c4')).toBe(false); // nobody shared with it: it can not mask
    const result = await round.finish();
    expect(result.included).toEqual(['c0', 'c1', 'c2', 'c3']);
  });

  it('an off-curve P-256 key: the server refuses it and names the sender', async () => {
    const round = await TestRound.create({ n: 4, threshold: 3, curve: 'P-256' });
    const advertised = (await round.advertise()) as AdvertiseKeysMessage[];
    const offCurve = advertised[3]!.sPublicKey.map((b, i) => (i === 64 ? b ^ 1 : b));
    const evil = await round.resigned(advertised[3]!, { sPublicKey: offCurve });
    expect((await rejects(round.server.receive(evil), 'E_PROTOCOL')).message).toMatch(/sPublicKey of "c3" is not a valid P-256 public key: not on the curve/);
    await round.deliver(advertised);
    round.keys = round.server.closeAdvertiseKeys();
    await round.finish();
  });

  /** A round of c0..c5 (t = 4) in which c5 is a MaliciousDealer that shares its keys, then drops: its masking key is rebuilt. */
  async function dealerRound(deal: (holder: string) => 'other-polynomial' | 'garbage' | 'not-a-field-element' | undefined) {
    const round = await TestRound.create({ n: 6, threshold: 4, bits: BITS, length: LENGTH, input: inputOf });
    const dealer = new MaliciousDealer('c5', round.signingKeys.get('c5')!);
    const honest = round.clients.slice(0, 5);
    const setup = await round.server.setup();
    await round.deliver([...(await round.advertise(honest)), await dealer.advertiseKeys(setup)]);
    round.keys = round.server.closeAdvertiseKeys();
    await round.deliver([...(await round.shareKeys(honest)), await dealer.shareKeys(setup, round.keys.get('c5')!, deal)]);
    round.shares = round.server.closeShareKeys();
    round.shares.delete('c5'); // the dealer drops out
    return round;
  }

  it('a dealer that gives one holder a share of another polynomial: convicted by its own signed ciphertexts, the holder not blamed, the sum exact', async () => {
    const round = await dealerRound((holder) => (holder === 'c1' ? 'other-polynomial' : undefined));
    const result = await round.finish();
    expect(result.included).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(result.convicted).toEqual(['c5']);
  });

  it('a dealer that gives two holders bad shares: convicted, the round can not be unmasked, no holder blamed', async () => {
    const round = await dealerRound((holder) => (holder === 'c1' || holder === 'c3' ? 'other-polynomial' : undefined));
    await round.deliver(await round.maskedInput());
    round.checks = round.server.closeMaskedInput();
    await round.deliver(await round.consistency());
    round.requests = round.server.closeConsistencyCheck();
    await round.deliver(await round.unmask());
    const error = await rejects(round.server.closeUnmasking(), 'E_AUTH');
    expect(error.message).toMatch(/^E_AUTH: "c5" dealt inconsistent shares, as its own signed ciphertexts show \(convicted\)/);
    expect(round.server.convicted).toEqual(['c5']);
    expect(round.server.receivedFrom).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
  });

  it('a dealer that sends a holder a ciphertext that does not open: that holder rejects and names it, and the round completes', async () => {
    const round = await dealerRound((holder) => (holder === 'c2' ? 'garbage' : undefined));
    const masked = (await round.maskedInput()) as MaskedInputMessage[];
    expect(masked.find((m) => m.sender === 'c2')!.rejected).toEqual(['c5']);
    await round.deliver(masked);
    round.checks = round.server.closeMaskedInput();
    const result = await round.finish();
    expect(result.included).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(result.convicted).toEqual([]);
  });

  it('a dealer that sends a holder a share that opens but is not a field element (>= 2^521 - 1): that holder rejects and names it (kept, its reveal would get its whole Unmasking refused), and the round completes', async () => {
    const round = await dealerRound((holder) => (holder === 'c2' ? 'not-a-field-element' : undefined));
    const masked = (await round.maskedInput()) as MaskedInputMessage[];
    expect(masked.find((m) => m.sender === 'c2')!.rejected).toEqual(['c5']);
    await round.deliver(masked);
    round.checks = round.server.closeMaskedInput();
    const result = await round.finish();
    expect(result.included).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(result.convicted).toEqual([]);
  });
});

describe('resource limits', () => {
  it('a client of a 60,000-client SecAgg+ setup keeps only the ring: its heap grows by less than 32 MiB', async () => {
    const ids = Array.from({ length: 60_000 }, (_, i) => `c${i}`);
    const setup = await new SecAggServer({ clients: ids, threshold: 9, neighbours: 16, bits: BITS, length: LENGTH }).setup();
    const client = new SecAggClient('c123', { minParticipants: 100 });
    const before = process.memoryUsage().heapUsed;
    const advertised = await client.advertiseKeys(setup);
    const grown = process.memoryUsage().heapUsed - before;
    expect(advertised.sender).toBe('c123');
    expect(grown).toBeLessThan(32 * 2 ** 20);
    const graph = new CommunicationGraph(60_000, 16, setup.graphSeed);
    expect(graph.neighbours(123)).toHaveLength(16);
  });

  it('counts are capped with coded errors: 65,537 clients, shamirSplit(.., 2^31), 5,000-point Lagrange coefficients', async () => {
    const setup = await new SecAggServer({ clients: ['a', 'b', 'c'], threshold: 2, bits: BITS, length: LENGTH }).setup();
    const many = { ...setup, clients: Array.from({ length: 65_537 }, (_, i) => `c${i}`), neighbours: 16, threshold: 9 };
    expect((await rejects(new SecAggClient('c0', { minParticipants: 2 }).advertiseKeys(many), 'E_PROTOCOL')).message).toMatch(/65537 entries, at most 65536/);
    expectPrivkitError(() => shamirSplit(1n, 2, 2 ** 31), 'E_ARG', 'count');
    expectPrivkitError(() => shamirSplit(1n, 5000, 5000), 'E_ARG', 'threshold');
    expectPrivkitError(() => shamirSplit(1n, 4096, 4097), 'E_ARG', 'count'); // 4096 x 4097 field multiplications
    expectPrivkitError(() => lagrangeAtZero(Array.from({ length: 5000 }, (_, i) => i + 1)), 'E_ARG', 'xs');
    expectPrivkitError(() => communicationGraph(2 ** 31, 16, setup.graphSeed), 'E_ARG', 'count');
  });
});

