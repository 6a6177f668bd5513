// Prio3BoundedL2VecSum: honest vectors of several sizes and bit widths verify (two aggregators over
// ping-pong, three over the star exchange) and unshard to the exact sum; a client past the norm
// bound with valid bits, a non-bit coordinate, a non-bit that keeps the linear decoding, and a
// tampered slack are each rejected; the encoding matches the plain-TS reference (fast-check) and the
// circuit accepts exactly the vectors within the bound; bad parameters and measurements are E_ARG.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { Prio3, prio3BoundedL2VecSum } from 'privkit/prio';
import { BIT_SLICE_LENGTH, boundedL2Circuit, PRIO3_BOUNDED_L2_ID } from '../../dist/src/prio/bounded-l2.js';
import { Field128, Field64, FieldVec } from '../../dist/src/prio/field.js';
import { encodeRangeChecked } from '../../dist/src/prio/flp.js';
import { encodeBoundedL2 } from '../../dist/src/reference/bounded-l2.js';
import { expectPrivkitError, FC_SEED } from '../support/helpers.js';
import { prioRounds } from '../support/prio-rounds.js';

await ready();
fc.configureGlobal({ seed: FC_SEED, numRuns: 40, endOnFailure: true });
const rng = createRng({ seed: new Uint8Array(32).fill(16) });
const verifyKey = rng.bytes(32);
const p = Field128.modulus;

type Vdaf = Prio3<readonly number[], number[]>;
const { verifyStar, verifyPingPong, aggregate } = prioRounds(verifyKey, rng);

/** A random integer vector of `length` coordinates in the B-bit range with squared norm <= bound. */
function randomVector(length: number, bits: number, bound: number): number[] {
  const v = Array.from(rng.uniform(length), (u) => Math.floor(u * 2 ** bits) - 2 ** (bits - 1));
  const norm = v.reduce((s, x) => s + x * x, 0);
  const scale = norm > bound ? Math.sqrt(bound / norm) : 1;
  return v.map((x) => Math.trunc(x * scale));
}

describe('honest clients: vectors within the bound aggregate to the exact sum', () => {
  const cases: [number, number, number, number][] = [
    // length, bits, bound, aggregators
    [1, 2, 1, 2],
    [7, 4, 20, 2],
    [50, 8, 127 * 127, 2],
    [200, 12, 3000 ** 2, 2],
    [33, 6, 400, 3],
  ];
  it.each(cases)('length %i, bits %i, bound %i, %i aggregators', (length, bits, bound, shares) => {
    const vdaf = prio3BoundedL2VecSum({ length, bits, bound, shares });
    const vectors = Array.from({ length: 4 }, () => randomVector(length, bits, bound));
    // the extremes: the most negative coordinate (alone within the bound only when it is) and the zero vector
    if (2 ** (2 * bits - 2) <= bound) vectors.push([-(2 ** (bits - 1)), ...new Array<number>(length - 1).fill(0)]);
    vectors.push(new Array<number>(length).fill(0));
    const want = Array.from({ length }, (_, i) => vectors.reduce((s, v) => s + v[i]!, 0));
    expect(aggregate(vdaf, vectors)).toEqual(want);
  });

  it('a vector exactly on the bound is accepted (3^2 + 4^2 = 25)', () => {
    const vdaf = prio3BoundedL2VecSum({ length: 2, bits: 4, bound: 25 });
    expect(aggregate(vdaf, [[3, -4], [-3, 4], [3, 4]])).toEqual([3, 4]);
  });

  it('a non-default chunking verifies too', () => {
    const vdaf = prio3BoundedL2VecSum({ length: 40, bits: 5, bound: 1000, chunkLength: 7, normChunkLength: 3 });
    const vectors = [randomVector(40, 5, 1000), randomVector(40, 5, 1000)];
    expect(aggregate(vdaf, vectors)).toEqual(vectors[0]!.map((x, i) => x + vectors[1]![i]!));
  });
});

describe('malicious clients: invalid encodings sent past the checks are rejected', () => {
  const length = 4;
  const bits = 4;
  const bound = 30;
  const circuit = boundedL2Circuit(Field128, { length, bits, bound, chunkLength: 5, normChunkLength: 2 });
  // A client that skips the API's checks: the same circuit with its own encoding.
  const cheat = (encoded: bigint[]): Vdaf => new Prio3('Prio3BoundedL2VecSum', PRIO3_BOUNDED_L2_ID, { ...circuit, encode: () => FieldVec.fromValues(Field128, encoded) } as never, 1, 2, (m: unknown) => m as never);
  const honest = (q: number[]): bigint[] => [...circuit.encode(q).vec];
  const slackStart = length * bits;

  const cases: [string, () => bigint[]][] = [
    ['norm 36 over the bound 30, valid bits, slack 0', () => {
      const coords = honest([0, 0, 0, 0]).slice(0, slackStart);
      coords.splice(0, 4, 0n, 1n, 1n, 1n); // x_0 = 6: offset 14 = 0b1110
      return [...coords, 0n, 0n, 0n, 0n, 0n];
    }],
    ['norm 64 over the bound: the most negative coordinate -8 and all slack bits set', () => {
      const coords = honest([0, 0, 0, 0]).slice(0, slackStart);
      coords.splice(4, 4, 0n, 0n, 0n, 0n); // -8 + 8 = 0
      return [...coords, ...new Array<bigint>(5).fill(1n)];
    }],
    ['a coordinate bit of 2 (non-bit)', () => {
      const e = honest([1, 2, 3, 4]);
      e[1] = 2n;
      return e;
    }],
    ['a coordinate bit of p - 1 with the norm equation repaired', () => {
      // bit 0 of coordinate 0 = -1: e_0 = 8 - 1 = 7, so x_0 = -1, x_0^2 = 1 and the slack 29 is right
      const e = honest([0, 0, 0, 0]);
      e[0] = p - 1n;
      const slack = honest([1, 0, 0, 0]).slice(slackStart);
      return [...e.slice(0, slackStart), ...slack];
    }],
    ['bits of 2 that keep the linear decoding: e = 2 * 1 instead of 0b10 (only the bit check catches it)', () => {
      // coordinate 0 = 2 - 8 = -6: offset 2 = 0b0010; sent as (2, 0, 0, 0), the same linear value
      const e = honest([-6, 0, 0, 0]);
      e.splice(0, 4, 2n, 0n, 0n, 0n);
      return e;
    }],
    ['a tampered slack bit', () => {
      const e = honest([1, 2, 3, 1]);
      e[slackStart] = e[slackStart] === 1n ? 0n : 1n;
      return e;
    }],
    ['a slack of -(norm - bound) as a field element in the first slack element', () => {
      const e = honest([5, 0, 0, 0]).slice(0, slackStart);
      // x = (5, 3, 0, 0): norm 34; slack = 30 - 34 = -4 = p - 4
      e.splice(4, 4, 1n, 1n, 0n, 1n); // 3 + 8 = 11 = 0b1011
      return [...e, p - 4n, 0n, 0n, 0n, 0n];
    }],
  ];
  it.each(cases)('%s', (_, encode) => {
    const vdaf = cheat(encode());
    for (let trial = 0; trial < 2; trial++) {
      const report = vdaf.shard([], { rng });
      expectPrivkitError(() => verifyPingPong(vdaf, report), 'E_AUTH');
      expectPrivkitError(() => verifyStar(vdaf, report), 'E_AUTH');
    }
  });

  it('several bit-check slices (over BIT_SLICE_LENGTH elements): a non-bit in the second slice or in the last slack bit is rejected', () => {
    // 2^15 + 1 coordinates of 16 bits and 10 slack bits: 524,314 elements, two slices of 262,157 (attacker review)
    const big = boundedL2Circuit(Field128, { length: 2 ** 15 + 1, bits: 16, bound: 1000, chunkLength: 700, normChunkLength: 181 });
    expect(big.gadgets).toHaveLength(3);
    expect(big.measLen).toBeGreaterThan(BIT_SLICE_LENGTH);
    const vdaf = (encoded: bigint[]): Vdaf => new Prio3('Prio3BoundedL2VecSum', PRIO3_BOUNDED_L2_ID, { ...big, encode: () => FieldVec.fromValues(Field128, encoded) } as never, 1, 2, (m: unknown) => m as never);
    const zero = [...big.encode(new Array<number>(2 ** 15 + 1).fill(0)).vec];
    const at = (index: number): bigint[] => {
      const e = zero.slice();
      e[index] = 2n;
      return e;
    };
    const check = (encoded: bigint[]): Uint8Array[] => {
      const cheat = vdaf(encoded);
      return verifyPingPong(cheat, cheat.shard([], { rng }));
    };
    for (const index of [Math.ceil(big.measLen / 2), big.measLen - 1]) expectPrivkitError(() => check(at(index)), 'E_AUTH');
    expect(check(zero)).toHaveLength(2);
  });

  it('the honest encoding through the same forged VDAF verifies (the rejections are the encodings)', () => {
    const vdaf = cheat(honest([1, -2, 3, 4]));
    expect(verifyPingPong(vdaf, vdaf.shard([], { rng }))).toHaveLength(2);
  });
});

describe('the encoding and the circuit against the plain-TS reference', () => {
  /** The circuit's outputs on a whole measurement (one share), gadgets evaluated directly. */
  const outputs = (c: ReturnType<typeof boundedL2Circuit>, meas: bigint[]): bigint[] =>
    c.eval(FieldVec.fromValues(Field128, meas), Array.from({ length: c.jointRandLen }, (_, i) => BigInt(i + 2)), 1, c.gadgets.map((g) => (inp: readonly bigint[]) => g.eval(Field128, inp)));

  it('encode is the reference encoding; truncate and decode give the vector back; valid vectors give zero outputs', () => {
    const params = fc
      .record({ length: fc.integer({ min: 1, max: 12 }), bits: fc.integer({ min: 2, max: 12 }) })
      .chain(({ length, bits }) =>
        fc.record({
          length: fc.constant(length),
          bits: fc.constant(bits),
          q: fc.array(fc.integer({ min: -(2 ** (bits - 1)), max: 2 ** (bits - 1) - 1 }), { minLength: length, maxLength: length }),
          extra: fc.integer({ min: 0, max: 1000 }),
        }),
      );
    fc.assert(
      fc.property(params, ({ length, bits, q, extra }) => {
        const bound = q.reduce((s, v) => s + v * v, 0) + extra || 1;
        const c = boundedL2Circuit(Field128, { length, bits, bound, chunkLength: 3, normChunkLength: 2 });
        const encoded = [...c.encode(q).vec];
        expect(encoded.map(Number)).toEqual(encodeBoundedL2(q, bits, bound));
        expect(c.decode(c.truncate(FieldVec.fromValues(Field128, encoded)).vec, 1)).toEqual(q);
        expect(outputs(c, encoded)).toEqual([0n, 0n]);
      }),
    );
  });

  it('a vector over the bound with honest bits and any slack in [0, bound] gives a non-zero norm output', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -8, max: 7 }), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 1000 }), (q, slackSeed) => {
        const norm = q.reduce((s, v) => s + v * v, 0);
        fc.pre(norm > 1);
        const bound = norm - 1;
        const c = boundedL2Circuit(Field128, { length: 3, bits: 4, bound, chunkLength: 4, normChunkLength: 2 });
        const coords = encodeBoundedL2(q.map(() => 0), 4, bound).slice(0, 12).map(() => 0n);
        encodeBoundedL2(q, 4, norm).slice(0, 12).forEach((bit, i) => (coords[i] = BigInt(bit)));
        const slack = encodeRangeChecked(slackSeed % (bound + 1), bound);
        const out = outputs(c, [...coords, ...slack]);
        expect(out[0]).toBe(0n);
        expect(out[1]).not.toBe(0n);
      }),
    );
  });
});

describe('bad parameters and measurements', () => {
  it('refuses a measurement over the bound or out of the bit range before sharding', () => {
    const vdaf = prio3BoundedL2VecSum({ length: 2, bits: 4, bound: 25 });
    expectPrivkitError(() => vdaf.shard([4, 4]), 'E_ARG', 'measurement');
    expectPrivkitError(() => vdaf.shard([8, 0]), 'E_ARG', 'measurement');
    expectPrivkitError(() => vdaf.shard([1.5, 0]), 'E_ARG', 'measurement');
    expectPrivkitError(() => vdaf.shard([1]), 'E_ARG', 'measurement');
  });
  it('refuses parameters whose squared norm could wrap around the field', () => {
    // Field128 holds every admissible size (n 2^(2B-2) + bound <= 2^85); Field64 shows the check
    expectPrivkitError(() => boundedL2Circuit(Field64, { length: 4, bits: 32, bound: 1, chunkLength: 8, normChunkLength: 1 }), 'E_ARG', 'bits'); // 4 x 2^62 + 1 >= p
    expect(boundedL2Circuit(Field64, { length: 3, bits: 32, bound: 1, chunkLength: 8, normChunkLength: 1 }).measLen).toBe(97); // 3 x 2^62 + 1 < p
    expect(prio3BoundedL2VecSum({ length: 2, bits: 32, bound: 1 }).circuit.measLen).toBe(65);
    expectPrivkitError(() => prio3BoundedL2VecSum({ length: 2, bits: 33, bound: 1 }), 'E_ARG', 'bits');
    expectPrivkitError(() => prio3BoundedL2VecSum({ length: 2, bits: 4, bound: 0 }), 'E_ARG', 'bound');
    expectPrivkitError(() => prio3BoundedL2VecSum({ length: 2, bits: 4, bound: 2, chunkLength: 0 }), 'E_ARG', 'chunkLength');
  });
});
