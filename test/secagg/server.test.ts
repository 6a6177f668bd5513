// SecAggServer's running sum: masked inputs are summed as they arrive (an input once it can no
// longer leave the survivor set S, the others at closeMaskedInput), not collected and summed at the
// end. Whatever the order of arrival, with clients the survivor set drops (a dealer whose share its
// neighbour rejected), clients that never send a masked input, a closeMaskedInput refused in the
// middle of the arrivals, and clients that drop after their upload, the result must be what the
// collect-then-sum path gave: the sum of the included clients' inputs mod 2^bits.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ready } from 'privkit';
import type { ClientMessage, MaskedInputMessage } from 'privkit/secagg';
import { expectPrivkitError } from '../support/helpers.js';
import { TestRound } from './round.js';

beforeAll(ready);

const N = 16;
const NEIGHBOURS = 10; // t = 6 of 11: a neighbourhood losing all five faulty clients still holds t
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
  // two clients (not c0, not the dealer) never send a masked input
  const silent = round.clients.map((c) => c.id).filter((id) => id !== 'c0' && id !== dealer).slice(-2);
  const masked = (await round.maskedInput(round.clients.filter((c) => !silent.includes(c.id)))) as MaskedInputMessage[];
  expect(masked.find((m) => m.sender === 'c0')!.rejected).toEqual([dealer]);
  const arriving: ClientMessage[] = order.filter((k) => k < masked.length).map((k) => masked[k]!);
  // a close before minSurvivors inputs arrived is refused and changes nothing; the rest then arrive
  await round.deliver(arriving.slice(0, MIN_SURVIVORS - 2));
  expectPrivkitError(() => round.server.closeMaskedInput(), 'E_THRESHOLD');
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
  const result = await round.server.closeUnmasking();
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
        { seed: 15, numRuns: 3 },
      );
    }, 30_000);
  }
});
