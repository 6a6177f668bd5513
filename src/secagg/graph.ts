// The communication graph of secure aggregation. Original SecAgg (Bonawitz et al. 2017) uses the
// complete graph: every client masks with and secret-shares to every other. SecAgg+ (Bell et al.
// 2020) replaces it with a sparse random graph of degree k = O(log n), so a client's work and
// traffic grow with k instead of n. Here the graph is a randomly labelled Harary graph H_{k,n}:
// the clients are shuffled by a Fisher-Yates permutation driven by ChaCha20 keyed with the
// server's public 32-byte round seed, placed on a ring, and each is linked to the k/2 nearest
// clients on either side. Every party computes the same graph from the setup message; it keeps
// only the ring (O(n) memory) and derives any client's neighbours from it on demand.
//
// Security meaning of the per-neighbourhood threshold t: a client's secrets are shared t-of-(k+1)
// among its neighbourhood (its k neighbours and itself), so the server learns them only with t
// shares from that neighbourhood, and reconstruction needs t survivors in it. Privacy relies, as in
// Bell et al., on the random labelling: with k large enough (logarithmic in n) no neighbourhood
// holds t colluders and the graph of honest survivors stays connected, except with small
// probability.
//
// Connectivity of the survivors: the pairwise masks of two survivors cancel only in a sum that
// holds both, and the server can remove every other mask (it rebuilds each survivor's b_u and each
// dropped client's s_u^SK). So if the survivors' graph (the survivor set S with the edges between
// neighbours both in S) split into groups, the server could unmask each group's partial sum, not
// only the total. Every client checks it on the signed survivor set before it signs (client.ts),
// and the honest server before it asks (server.ts). H_{k,n} is k-connected, so fewer than k clients
// missing from S never split it; the complete graph never splits.
import { PrivkitError } from '../errors.js';
import { createRng } from '../dp/rng.js';
import { assertInteger, describe } from '../validate.js';
import { assertBytes } from '../validate-arrays.js';
import { MAX_CLIENTS } from './limits.js';

/** Most adjacency entries communicationGraph returns as lists (count x degree). */
const MAX_ADJACENCY_ENTRIES = 2 ** 24;

/**
 * The graph of a round: `complete` (every pair linked) or H_{k,n} on a keyed ring. Clients are
 * their registration indices 0..size-1.
 */
export class CommunicationGraph {
  /** The number of clients. */
  readonly size: number;
  /** Neighbours of each client: k, or size - 1 for the complete graph. */
  readonly degree: number;
  /** True for the complete graph (original SecAgg, or k >= size - 1). */
  readonly complete: boolean;
  /** Ring position -> client, and client -> ring position (SecAgg+ only). */
  readonly #ring: Uint32Array;
  readonly #position: Uint32Array;

  /**
   * `neighbours` undefined, or k >= count - 1, gives the complete graph; otherwise k is even and >= 2.
   * Needs the wasm engine (`await ready()`) for the keyed permutation.
   *
   * @param count - the clients, 1 to 65,536.
   * @param neighbours - the SecAgg+ degree k (even, >= 2), or undefined for the complete graph.
   * @param seed - the round's public 32-byte graph seed.
   * @throws {PrivkitError} E_ARG when count, neighbours or seed is out of range.
   * @throws {PrivkitError} E_NOT_READY before `await ready()` (SecAgg+ graphs only).
   */
  constructor(count: number, neighbours: number | undefined, seed: Uint8Array) {
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_CLIENTS) {
      throw new PrivkitError('E_ARG', `count must be an integer in [1, ${MAX_CLIENTS}], got ${describe(count)}`, { argument: 'count' });
    }
    if (neighbours !== undefined && (!Number.isSafeInteger(neighbours) || neighbours < 2 || neighbours % 2 !== 0)) {
      throw new PrivkitError('E_ARG', `neighbours must be undefined or an even integer >= 2, got ${describe(neighbours)}`, { argument: 'neighbours' });
    }
    assertBytes('seed', seed, 32);
    this.size = count;
    this.complete = neighbours === undefined || neighbours >= count - 1;
    this.degree = this.complete ? count - 1 : neighbours!;
    this.#ring = this.complete ? new Uint32Array(0) : keyedPermutation(count, seed);
    this.#position = new Uint32Array(this.#ring.length);
    this.#ring.forEach((client, p) => (this.#position[client] = p));
  }

  /** Client u's neighbours in increasing order (never u itself). */
  neighbours(u: number): number[] {
    const out: number[] = [];
    this.#forEachWithin(this.#client('u', u), 1, (v) => v !== u && out.push(v));
    return out.sort((a, b) => a - b);
  }

  /** True when u and v are distinct neighbours. */
  linked(u: number, v: number): boolean {
    this.#client('u', u);
    this.#client('v', v);
    if (u === v) return false;
    return this.complete || this.#ringDistance(u, v) <= this.degree / 2;
  }

  /** The clients at most `hops` edges from u, u included, in increasing order. */
  within(u: number, hops: number): number[] {
    const out: number[] = [];
    this.#forEachWithin(this.#client('u', u), assertInteger('hops', hops), (v) => out.push(v));
    return out.sort((a, b) => a - b);
  }

  /** The clients at most `hops` edges from u, nearest first on the ring (u, then distance 1 either side, then 2, ...). */
  nearest(u: number, hops: number): number[] {
    this.#client('u', u);
    assertInteger('hops', hops);
    const reach = (hops * this.degree) / 2;
    if (this.complete || 2 * reach + 1 >= this.size) return this.within(u, hops);
    const p = this.#position[u]!;
    const out = [u];
    for (let d = 1; d <= reach; d++) out.push(this.#ring[(p + d) % this.size]!, this.#ring[(p - d + this.size) % this.size]!);
    return out;
  }

  /** |members ∩ N[u]|: how many of `members` are u or its neighbours. */
  countAround(u: number, members: ReadonlySet<number>): number {
    this.#client('u', u);
    if (!isSet(members)) throw new PrivkitError('E_ARG', `members must be a Set of client indices, got ${describe(members)}`, { argument: 'members' });
    if (this.complete) return members.size;
    let count = 0;
    this.#forEachWithin(u, 1, (v) => (count += members.has(v) ? 1 : 0));
    return count;
  }

  /**
   * The connected components of the subgraph induced by `members`: breadth-first search over
   * edges whose two ends are members. Each component is in increasing order; components come in
   * the order of their smallest member. O(|members| k).
   */
  components(members: Iterable<number>): number[][] {
    if (!(Array.isArray(members) || isSet(members))) {
      throw new PrivkitError('E_ARG', `members must be an array or a Set of client indices, got ${describe(members)}`, { argument: 'members' });
    }
    const inside = new Set(Array.from(members, (u: unknown, i) => this.#client(`members[${i}]`, u, 'members')));
    if (this.complete) return inside.size === 0 ? [] : [[...inside].sort((a, b) => a - b)];
    const seen = new Set<number>();
    const components: number[][] = [];
    for (const start of [...inside].sort((a, b) => a - b)) {
      if (seen.has(start)) continue;
      seen.add(start);
      const component = [start];
      for (let head = 0; head < component.length; head++) {
        this.#forEachWithin(component[head]!, 1, (v) => {
          if (inside.has(v) && !seen.has(v)) {
            seen.add(v);
            component.push(v);
          }
        });
      }
      components.push(component.sort((a, b) => a - b));
    }
    return components;
  }

  /** A client index of this graph: an integer in [0, size). */
  #client(name: string, u: unknown, argument = name): number {
    if (typeof u !== 'number' || !Number.isSafeInteger(u) || u < 0 || u >= this.size) {
      throw new PrivkitError('E_ARG', `${name} must be a client index in [0, ${this.size}), got ${describe(u)}`, { argument });
    }
    return u;
  }

  /** Calls `visit` on each client at most `hops` edges from u (u included), in ring order. */
  #forEachWithin(u: number, hops: number, visit: (v: number) => unknown): void {
    const reach = (hops * this.degree) / 2;
    if (this.complete || 2 * reach + 1 >= this.size) {
      for (let v = 0; v < this.size; v++) visit(v);
      return;
    }
    const p = this.#position[u]!;
    for (let d = -reach; d <= reach; d++) visit(this.#ring[(p + d + this.size) % this.size]!);
  }

  #ringDistance(u: number, v: number): number {
    const d = Math.abs(this.#position[u]! - this.#position[v]!);
    return Math.min(d, this.size - d);
  }
}

/** Whether `value` is a real Set (Set.prototype.has throws on anything else, a look-alike made from the prototype included). */
function isSet(value: unknown): value is ReadonlySet<unknown> {
  try {
    Set.prototype.has.call(value, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * For each client index, its neighbours' indices in increasing order (never itself), as lists:
 * at most MAX_ADJACENCY_ENTRIES entries in all (E_ARG beyond; CommunicationGraph answers per client).
 * Needs the wasm engine (`await ready()`) for the keyed permutation.
 *
 * @throws {PrivkitError} E_ARG when count, neighbours or seed is out of range, or the lists would exceed MAX_ADJACENCY_ENTRIES entries.
 * @throws {PrivkitError} E_NOT_READY before `await ready()` (SecAgg+ graphs only).
 */
export function communicationGraph(count: number, neighbours: number | undefined, seed: Uint8Array): number[][] {
  const graph = new CommunicationGraph(count, neighbours, seed);
  if (graph.size * graph.degree > MAX_ADJACENCY_ENTRIES) {
    throw new PrivkitError(
      'E_ARG',
      `${count} clients x ${graph.degree} neighbours exceed ${MAX_ADJACENCY_ENTRIES} adjacency entries; use CommunicationGraph`,
      { argument: 'count' },
    );
  }
  return Array.from({ length: graph.size }, (_, u) => graph.neighbours(u));
}

/** A uniform permutation of 0..count-1: Fisher-Yates with unbiased draws (rejection) from the seeded ChaCha20 stream. */
function keyedPermutation(count: number, seed: Uint8Array): Uint32Array {
  const rng = createRng({ seed });
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  let words = rng.uint32(2 * count);
  let next = 0;
  for (let i = count - 1; i > 0; i--) {
    const range = i + 1;
    const limit = 2 ** 32 - (2 ** 32 % range); // largest multiple of range not above 2^32
    let r: number;
    do {
      if (next === words.length) {
        words = rng.uint32(count);
        next = 0;
      }
      r = words[next++]!;
    } while (r >= limit);
    const j = r % range;
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
