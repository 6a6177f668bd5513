// The communication graph of secure aggregation. Original SecAgg (Bonawitz et al. 2017) uses the
// complete graph: every client masks with and secret-shares to every other. SecAgg+ (Bell et al.
// 2020) replaces it with a sparse random graph of degree k = O(log n), so a client's work and
// traffic grow with k instead of n. Here the graph is a randomly labelled Harary graph H_{k,n}:
// the clients are shuffled by a Fisher-Yates permutation driven by ChaCha20 keyed with the
// server's public 32-byte round seed, placed on a ring, and each is linked to the k/2 nearest
// clients on either side. Everybody computes the same graph from the setup message.
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
// dropped client's s_u^SK). So if the survivors' graph (the clients of U3, with the edges between
// neighbours both in U3) split into groups, the server could unmask each group's partial sum, not
// only the total. The server therefore checks it (breadth-first search, connectedComponents) when
// it closes MaskedInputCollection and refuses to unmask a split graph (E_THRESHOLD). H_{k,n} is
// k-connected, so fewer than k clients missing from U3 never split it; the complete graph never splits.
import { createRng } from '../dp/rng.js';

/**
 * For each client index, its neighbours' indices in increasing order (never itself). `neighbours`
 * undefined, or k >= count - 1, gives the complete graph; otherwise k is even and >= 2 (checked
 * with the other round parameters by checkRoundParameters).
 * Needs the wasm engine (`await ready()`) for the keyed permutation.
 */
export function communicationGraph(count: number, neighbours: number | undefined, seed: Uint8Array): number[][] {
  if (neighbours === undefined || neighbours >= count - 1) {
    return Array.from({ length: count }, (_, u) => Array.from({ length: count - 1 }, (_, j) => (j < u ? j : j + 1)));
  }
  const ring = keyedPermutation(count, seed);
  const adjacency = Array.from({ length: count }, () => [] as number[]);
  for (let p = 0; p < count; p++) {
    for (let d = 1; d <= neighbours / 2; d++) {
      const u = ring[p]!;
      const v = ring[(p + d) % count]!;
      adjacency[u]!.push(v);
      adjacency[v]!.push(u);
    }
  }
  return adjacency.map((list) => list.sort((a, b) => a - b));
}

/** A uniform permutation of 0..count-1: Fisher-Yates with unbiased draws (rejection) from the seeded ChaCha20 stream. */
function keyedPermutation(count: number, seed: Uint8Array): number[] {
  const rng = createRng({ seed });
  const order = Array.from({ length: count }, (_, i) => i);
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

/**
 * The connected components of the subgraph of `graph` (adjacency lists by index) induced by
 * `members`: breadth-first search over edges whose two ends are members. Each component is in
 * increasing order; components come in the order of their smallest member.
 */
export function connectedComponents(graph: readonly (readonly number[])[], members: Iterable<number>): number[][] {
  const inside = new Set(members);
  const seen = new Set<number>();
  const components: number[][] = [];
  for (const start of [...inside].sort((a, b) => a - b)) {
    if (seen.has(start)) continue;
    seen.add(start);
    const component = [start];
    for (let head = 0; head < component.length; head++) {
      for (const v of graph[component[head]!] ?? []) {
        if (inside.has(v) && !seen.has(v)) {
          seen.add(v);
          component.push(v);
        }
      }
    }
    components.push(component.sort((a, b) => a - b));
  }
  return components;
}
