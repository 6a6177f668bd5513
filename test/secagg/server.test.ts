// SecAggServer's running sum: masked inputs are summed as they arrive (an input once it can no
// longer leave the survivor set S, the others at closeMaskedInput), not collected and summed at the
// end. Whatever the order of arrival, with clients the survivor set drops (a dealer whose share its
// neighbour rejected), clients that never send a masked input, a closeMaskedInput refused in the
// middle of the arrivals, and clients that drop after their upload, the result must be what the
// collect-then-sum path gave: the sum of the included clients' inputs mod 2^bits.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ready } from 'privkit';
import { communicationGraph, type ClientMessage, type MaskedInputMessage } from 'privkit/secagg';
import { expectPrivkitError } from '../support/helpers.js';
import { TestRound } from './round.js';

beforeAll(ready);

const N = 16;
const NEIGHBOURS = 12; // t = 7 of 13: a neighbourhood losing all five faulty clients still holds t
const LENGTH = 40;
const MIN_SURVIVORS = 8;

/** Client c<i>'s input: values spread over [0, 2^bits), so sums wrap around. */
const inputFor = (bits: number) => (id: string) => {
  const i = Number(id.slice(1));
  return Uint32Array.from({ length: LENGTH }, (_, j) => Number((BigInt(i + 1) * 2654435761n * BigInt(j + 7)) % 2n ** BigInt(bits)));
};

/** One round with the faults above, the masked inputs delivered in `order` (a permutation of their indices). */
async function roundInOrder(bits: number, order: readonly number[]) {
  const round = await TestRound.create({ n: N, neighbours: NEIGHBOURS, bits, length: LENGTH, minSurvivors: MIN_SURVIVORS, input: inputFor(bits) });
  await round.until('masked-input');
  // c0 rejects the share of its first dealer (a flipped ciphertext byte): that dealer leaves S
  const genuine = round.shares.get('c0')!;
  const [first, ...rest] = genuine.shares;
  const dealer = first!.peer;
  round.shares.set('c0', { ...genuine, shares: [{ ...first!, keyShare: first!.keyShare.map((b, i) => (i === 10 ? b ^ 1 : b)) }, ...rest] });
  // two clients outside the dealer's neighbourhood never send a masked input: every neighbour of the dealer
  // sends one, so a running sum that took the dealer in early (once all its neighbours arrived) would show
  const ids = round.clients.map((c) => c.id);
  const dealerNeighbours = communicationGraph(N, NEIGHBOURS, round.server.setupMessage!.graphSeed)[ids.indexOf(dealer)]!.map((v) => ids[v]!);
  const silent = ids.filter((id) => id !== 'c0' && id !== dealer && !dealerNeighbours.includes(id)).slice(0, 2);
  expect(silent).toHaveLength(2);
  const masked = (await round.maskedInput(round.clients.filter((c) => !silent.includes(c.id)))) as MaskedInputMessage[];
  expect(masked.find((m) => m.sender === 'c0')!.rejected).toEqual([dealer]);
  const arriving: ClientMessage[] = order.filter((k) => k < masked.length).map((k) => masked[k]!);
  // a close before minSurvivors inputs arrived is refused and changes nothing; the rest then arrive
  await round.deliver(arriving.slice(0, MIN_SURVIVORS - 2));
  expectPrivkitError(() => round.server.closeMaskedInput(), 'E_THRESHOLD');
  expect(round.server.receivedCount).toBe(MIN_SURVIVORS - 2);
  expect(round.server.receivedFrom).toEqual([...new Set(arriving.slice(0, MIN_SURVIVORS - 2).map((m) => m.sender))].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
  await round.deliver(arriving.slice(MIN_SURVIVORS - 2));
  round.checks = round.server.closeMaskedInput();
  const survivors = [...round.checks.keys()];
  expect(survivors).not.toContain(dealer);
  expect(survivors).toContain('c0');
  // one survivor drops after its upload (no consistency signature), another at unmasking: their inputs stay in the sum
  const [unsigned, unanswering] = survivors.filter((id) => id !== 'c0').slice(0, 2);
  await round.deliver(await round.consistency(round.clients.filter((c) => round.checks.has(c.id) && c.id !== unsigned)));
  round.requests = round.server.closeConsistencyCheck();
  await round.deliver(await round.unmask(round.clients.filter((c) => round.requests.has(c.id) && c.id !== unanswering)));
  expect(round.server.receivedCount).toBe(round.requests.size - 1);
  const result = await round.server.closeUnmasking();
  expect(round.server.receivedCount).toBe(0); // 'done': no round collects messages
  expect(result.included).toEqual(survivors);
  expect(result.dropped).toEqual(round.clients.map((c) => c.id).filter((id) => !survivors.includes(id)));
  const expected = Array.from({ length: LENGTH }, (_, j) => Number(survivors.reduce((s, id) => s + BigInt(round.input(id)[j]!), 0n) % 2n ** BigInt(bits)));
  expect(Array.from(result.sum)).toEqual(expected);
  return result;
}

describe('the running sum of masked inputs equals the collect-then-sum result', () => {
  for (const bits of [16, 32]) {
    it(`any order of arrival, with a rejected dealer, silent clients, a refused close and dropouts after upload (${bits} bits)`, async () => {
      const indices = Array.from({ length: N }, (_, k) => k);
      await fc.assert(
        fc.asyncProperty(fc.shuffledSubarray(indices, { minLength: N, maxLength: N }), async (order) => {
          await roundInOrder(bits, order);
        }),
        // and the order in which c0 (its rejection) arrives before the dealer
        { seed: 15, numRuns: 3, examples: [[indices]] },
      );
    }, 30_000);
  }
});
