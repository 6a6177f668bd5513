// Scripted attacks on secure aggregation (issue 11): each test plays the attacker (a deviating
// server, a malicious client or the network) against real clients and servers through the message
// API. Against the semi-honest protocol these attacks succeed; the assertions record what they get.
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError, ready } from 'privkit';
import {
  SecAggClient,
  SecAggServer,
  communicationGraph,
  type ClientMessage,
  type MaskedInputMessage,
  type UnmaskMessage,
} from 'privkit/secagg';
import { MaliciousServer, rebuild, stripMasks } from './malicious-server.js';

beforeAll(ready);

const VICTIM_INPUT = [1234, 42, 7, 65535, 0, 31337];
const BITS = 16;
const LENGTH = VICTIM_INPUT.length;

/** c0's input is VICTIM_INPUT; the others' are arbitrary. */
const inputOf = (id: string) =>
  id === 'c0' ? Uint32Array.from(VICTIM_INPUT) : Uint32Array.from({ length: LENGTH }, (_, j) => (Number(id.slice(1)) * 977 + j * 131) & 0xffff);

/**
 * Who is told whom dropped, so that every key share of c1..c{t-1} (c0's only peers) reaches t
 * holders while each holder's request stays plausible on its own (never itself dropped, at least
 * t survivors): greedy, each holder taking at most n - t "dropped" clients. Undefined when counting
 * forbids it.
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

describe('a deviating server: inconsistent unmask requests (complete graph)', () => {
  it('counting allows the attack at the minimum majority threshold for odd n >= 5 and even n >= 8 only', () => {
    const feasible = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12].filter((n) => inconsistentDrops(n, Math.floor(n / 2) + 1) !== undefined);
    expect(feasible).toEqual([5, 7, 8, 9, 10, 11, 12]);
  });

  for (const n of [5, 7, 8, 10]) {
    it(`n = ${n}, t = ${Math.floor(n / 2) + 1}: c0 gets shares from t - 1 peers only; per-client requests rebuild c0's input`, async () => {
      const t = Math.floor(n / 2) + 1;
      const server = new MaliciousServer({ n, threshold: t, bits: BITS, length: LENGTH });
      const peers = server.ids.slice(1, t); // c0's whole view
      await server.shareKeys();
      await server.maskedInputs((id) => (id === 'c0' ? peers : server.ids.filter((v) => v !== id)), inputOf);
      const drops = inconsistentDrops(n, t)!;
      const requests = new Map(
        [...drops].map(([id, dropped]) => [id, { survivors: server.ids.filter((v) => !dropped.includes(v)), dropped }]),
      );
      const responses = await server.unmask(requests);
      const seeds = rebuild(responses.values(), 'selfMaskShares', t);
      const keys = rebuild(responses.values(), 'keyShares', t);
      const recovered = await stripMasks(server, ['c0'], peers, seeds, keys, () => peers);
      expect(Array.from(recovered)).toEqual(VICTIM_INPUT);
    });
  }
});

describe('a deviating server: a round of one', () => {
  it("new SecAggServer({ clients: ['victim'], threshold: 1 }) returns the victim's input as the sum", async () => {
    const server = new SecAggServer({ clients: ['victim'], threshold: 1, bits: BITS, length: LENGTH });
    const victim = new SecAggClient('victim');
    server.receive(await victim.advertiseKeys(await server.setup()));
    server.receive(await victim.shareKeys(server.closeAdvertiseKeys().get('victim')!));
    server.receive(await victim.maskedInput(server.closeShareKeys().get('victim')!, Uint32Array.from(VICTIM_INPUT)));
    server.receive(await victim.unmask(server.closeMaskedInput().get('victim')!));
    expect(Array.from((await server.closeUnmasking()).sum)).toEqual(VICTIM_INPUT);
  });
});

describe('a deviating server: SecAgg+ partial sums', () => {
  it('12 clients, 4 neighbours, t = 3: four live clients claimed dropped cut off a 3-client group, whose sum is unmasked', async () => {
    const n = 12;
    const server = new MaliciousServer({ n, threshold: 3, bits: BITS, length: LENGTH, neighbours: 4 });
    const graph = communicationGraph(n, 4, new Uint8Array(32).fill(7));
    const neighbours = (id: string) => graph[Number(id.slice(1))]!.map((v) => `c${v}`);
    // Walk the ring of H_{4,12}: ring neighbours at distance 1 have two common neighbours, at distance 2 one.
    const common = (u: number, v: number) => graph[u]!.filter((w) => graph[v]!.includes(w)).length;
    const ring = [0];
    while (ring.length < n) {
      const here = ring[ring.length - 1]!;
      ring.push(graph[here]!.find((v) => !ring.includes(v) && common(here, v) === 2)!);
    }
    const at = (k: number) => `c${ring[(k + n) % n]}`;
    const group = [at(0), at(1), at(2)];
    const cut = [at(-2), at(-1), at(3), at(4)];
    for (const u of group) expect(neighbours(u).every((v) => group.includes(v) || cut.includes(v))).toBe(true);
    await server.shareKeys((id) => [id, ...neighbours(id)]);
    await server.maskedInputs(neighbours, inputOf);
    const requests = new Map(
      server.ids
        .filter((id) => !cut.includes(id))
        .map((id) => {
          const hood = [id, ...neighbours(id)];
          return [id, { survivors: hood.filter((v) => !cut.includes(v)), dropped: hood.filter((v) => cut.includes(v)) }];
        }),
    );
    const responses = await server.unmask(requests);
    expect([...responses.values()].every((r) => !(r instanceof Error))).toBe(true);
    const partial = await stripMasks(server, group, cut, rebuild(responses.values(), 'selfMaskShares', 3), rebuild(responses.values(), 'keyShares', 3), neighbours);
    const expected = VICTIM_INPUT.map((_, j) => group.reduce((s, id) => s + inputOf(id)[j]!, 0) & 0xffff);
    expect(Array.from(partial)).toEqual(expected);
  });
});

/** An honest server and clients c0..c{n-1} run to the masked-input round. */
async function honestRound(n: number) {
  const ids = Array.from({ length: n }, (_, i) => `c${i}`);
  const server = new SecAggServer({ clients: ids, threshold: Math.floor(n / 2) + 1, bits: BITS, length: LENGTH, roundId: 'r' });
  const clients = ids.map((id) => new SecAggClient(id));
  const setup = await server.setup();
  for (const c of clients) server.receive(await c.advertiseKeys(setup));
  const keys = server.closeAdvertiseKeys();
  for (const c of clients) server.receive(await c.shareKeys(keys.get(c.id)!));
  const shares = server.closeShareKeys();
  const masked = new Map<string, MaskedInputMessage>();
  for (const c of clients) masked.set(c.id, await c.maskedInput(shares.get(c.id)!, inputOf(c.id)));
  return { ids, server, clients, masked };
}

const plainSum = (ids: readonly string[]) => VICTIM_INPUT.map((_, j) => ids.reduce((s, id) => s + inputOf(id)[j]!, 0) & 0xffff);

describe('the network: unauthenticated senders', () => {
  it("a spoofed masked input for c0 (every word + 5) is summed and c0's genuine one rejected", async () => {
    const { ids, server, clients, masked } = await honestRound(3);
    const genuine = masked.get('c0')!;
    server.receive({ ...genuine, maskedInput: genuine.maskedInput.map((w) => (w + 5) & 0xffff) });
    expect(() => server.receive(genuine)).toThrow(PrivkitError);
    for (const id of ['c1', 'c2']) server.receive(masked.get(id)!);
    const requests = server.closeMaskedInput();
    for (const c of clients) server.receive(await c.unmask(requests.get(c.id)!));
    const sum = (await server.closeUnmasking()).sum;
    expect(Array.from(sum)).toEqual(plainSum(ids).map((v) => (v + 5) & 0xffff));
  });

  it('a bit flip in an honest client\'s Unmasking response gets that client blamed and discarded', async () => {
    const { server, clients, masked } = await honestRound(5);
    for (const m of masked.values()) server.receive(m);
    const requests = server.closeMaskedInput();
    const responses = await Promise.all(clients.map((c) => c.unmask(requests.get(c.id)!)));
    const flipped: UnmaskMessage = {
      ...responses[0]!,
      selfMaskShares: responses[0]!.selfMaskShares.map((r, i) => (i === 1 ? { ...r, share: r.share.map((b, k) => (k === 65 ? b ^ 1 : b)) } : r)),
    };
    server.receive(flipped);
    for (const r of responses.slice(1)) server.receive(r);
    const error = await server.closeUnmasking().catch((e: PrivkitError) => e);
    expect((error as PrivkitError).message).toContain('bad shares from "c0"');
  });
});

describe('malicious clients', () => {
  it('a small-order X25519 key is accepted by the server and makes every honest client fail without naming the culprit', async () => {
    const ids = ['c0', 'c1', 'c2', 'c3'];
    const server = new SecAggServer({ clients: ids, threshold: 3, bits: BITS, length: LENGTH });
    const clients = ids.map((id) => new SecAggClient(id));
    const setup = await server.setup();
    const advertised = await Promise.all(clients.map((c) => c.advertiseKeys(setup)));
    const evil = { ...advertised[3]!, cPublicKey: new Uint8Array(32) } as ClientMessage; // u = 0: order 2
    for (const m of [...advertised.slice(0, 3), evil]) server.receive(m);
    const keys = server.closeAdvertiseKeys();
    for (const c of clients.slice(0, 3)) {
      const error = await c.shareKeys(keys.get(c.id)!).catch((e: PrivkitError) => e);
      expect((error as PrivkitError).code).toBe('E_AUTH');
      expect((error as PrivkitError).message).not.toContain('c3');
    }
  });

  it('an off-curve P-256 key is accepted by the server and makes every honest client fail without naming the culprit', async () => {
    const ids = ['c0', 'c1', 'c2', 'c3'];
    const server = new SecAggServer({ clients: ids, threshold: 3, bits: BITS, length: LENGTH, curve: 'P-256' });
    const clients = ids.map((id) => new SecAggClient(id));
    const setup = await server.setup();
    const advertised = (await Promise.all(clients.map((c) => c.advertiseKeys(setup)))) as Extract<ClientMessage, { type: 'advertise-keys' }>[];
    const offCurve = advertised[3]!.sPublicKey.slice();
    offCurve[64] = offCurve[64]! ^ 1;
    for (const m of [...advertised.slice(0, 3), { ...advertised[3]!, sPublicKey: offCurve }]) server.receive(m);
    const keys = server.closeAdvertiseKeys();
    for (const c of clients.slice(0, 3)) {
      const error = await c.shareKeys(keys.get(c.id)!).catch((e: PrivkitError) => e);
      expect((error as PrivkitError).code).toBe('E_PROTOCOL');
      expect((error as PrivkitError).message).not.toContain('c3');
    }
  });
});
