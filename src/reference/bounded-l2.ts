// Plain-TS reference of the Prio3BoundedL2VecSum encoding (src/prio/bounded-l2.ts), written from its
// description with JS numbers and strings rather than the circuit's bigint shifts: each coordinate q
// as the B binary digits of q + 2^(B-1), least significant first, then the slack bound - ||q||^2 in
// the Sum encoding (bitLength(bound) - 1 binary digits, and a last digit of weight
// bound - 2^(bitLength(bound) - 1) + 1). The oracle of the circuit's property test; not exported.

/** The encoded measurement as 0/1 numbers; coordinates and bound as the variant checks them (B <= 26, bound and norms below 2^53). */
export function encodeBoundedL2(q: readonly number[], bits: number, bound: number): number[] {
  const digits: number[] = [];
  for (const v of q) {
    const offset = (v + 2 ** (bits - 1)).toString(2).padStart(bits, '0');
    for (let l = bits - 1; l >= 0; l--) digits.push(Number(offset[l]));
  }
  const slack = bound - q.reduce((s, v) => s + v * v, 0);
  const slackBits = bound.toString(2).length;
  const restMax = 2 ** (slackBits - 1) - 1;
  const lastWeight = bound - restMax;
  const [rest, last] = slack <= restMax ? [slack, 0] : [slack - lastWeight, 1];
  const restDigits = rest.toString(2).padStart(slackBits - 1, '0');
  for (let l = slackBits - 2; l >= 0; l--) digits.push(Number(restDigits[l]));
  digits.push(last);
  return digits;
}
