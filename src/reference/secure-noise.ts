// Plain-TypeScript reference of the secure Laplace kernel (assembly/dp/secure.ts, secureLaplaceLattice)
// as a function of its keystream: the threshold table of Q computed exactly with BigInt rationals,
// and the two-sided geometric Z = +-(M Q + R) drawn word by word as the kernel draws it. The oracle
// of the kernel's branch-free count of Q and of its table.

import { PrivkitError } from '../errors.js';
import { checkNumber } from '../validate-arrays.js';
import { checkTypedArray } from '../wasm/boundary.js';
import { checkedSource, type KeystreamSource } from './source.js';

/** t and mBits as the kernel takes them: t a double in [1, 2^24], M = 2^mBits a power of two below t and at most 2^23. */
function checkTable(t: unknown, mBits: unknown): { t: number; mBits: number } {
  const tt = checkNumber('t', t, { min: 1, max: 2 ** 24 });
  const m = checkNumber('mBits', mBits, { integer: true, min: 0, max: 23 });
  if (!(2 ** m < tt)) throw new PrivkitError('E_ARG', `2^mBits (${2 ** m}) must be below t (${tt})`, { argument: 'mBits' });
  return { t: tt, mBits: m };
}

/** Q's table: floor(e^(-M k / t) 2^64) for k = 1..16, M = 2^mBits, exactly (t a double >= 1, M < t). */
export function secureLaplaceTable(t: number, mBits: number): bigint[] {
  const checked = checkTable(t, mBits);
  // t = m / 2^e exactly, so M k / t = 2^mBits k 2^e / m
  let e = 0;
  while (!Number.isInteger(checked.t * 2 ** e)) e++;
  const m = BigInt(checked.t * 2 ** e);
  return Array.from({ length: 16 }, (_, i) => floorExp64((1n << BigInt(checked.mBits + e)) * BigInt(i + 1), m));
}

/**
 * floor(e^(-a/b) 2^64) for positive BigInts a, b: the partial sums S_n of the alternating series of
 * e^(-x) bracket it once its terms decrease (n >= x), so the common floor of S_n and S_(n+1) is exact.
 * S_n = num / den with den = b^n n!: num_n = num_(n-1) b n + (-a)^n.
 */
function floorExp64(a: bigint, b: bigint): bigint {
  const x = Number(a) / Number(b);
  let num = 1n;
  let den = 1n;
  let power = 1n; // (-a)^n
  let previous: bigint | undefined;
  for (let n = 1; ; n++) {
    power *= -a;
    num = num * b * BigInt(n) + power;
    den *= b * BigInt(n);
    if (n < x) continue;
    const scaled = num << 64n;
    const floor = scaled / den - (scaled < 0n && scaled % den !== 0n ? 1n : 0n); // BigInt division truncates
    if (floor === previous) return floor;
    previous = floor;
  }
}

const SCRATCH_BYTES = 2048;
const TWO_52 = 2 ** 52;

/** Round half to even (wasm f64.nearest). */
function nearest(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * (nearest(v / r) + Z) r for each value, as one secureLaplaceLattice call with noise scale t (in
 * lattice units) and M = 2^mBits draws it from `source`: 32-bit words read from 2 KiB blocks (the
 * rest of the last block discarded); Z two-sided geometric with |Z| = M Q + R, R a uniform proposal
 * on [0, M) accepted with probability e^(-R/t) (8 bits of u first, squeezed), Q by inversion of
 * 64-bit uniforms U = hi 2^-32 + lo 2^-64 against the table (lo drawn at the first tie of high
 * words; 16 thresholds passed go on with a fresh U). Values must satisfy |v| <= 2^52 r.
 */
export function secureLaplaceFromKeystream(values: Float64Array, r: number, t: number, mBits: number, source: KeystreamSource): Float64Array {
  checkTypedArray('values', values, ['Float64Array']);
  checkNumber('r', r, { above: 0 });
  const bound = 2 ** 52 * r;
  values.forEach((v, i) => {
    if (!(Math.abs(v) <= bound)) throw new PrivkitError('E_ARG', `|values[${i}]| must be <= 2^52 r, got ${v}`, { argument: 'values', index: i });
  });
  const table = secureLaplaceTable(t, mBits);
  const keystream = checkedSource(source);
  let block: DataView = new DataView(new ArrayBuffer(0));
  let position = 0;
  const word = (): number => {
    if (position === block.byteLength) {
      const bytes = keystream.bytes(SCRATCH_BYTES);
      block = new DataView(bytes.buffer, bytes.byteOffset, SCRATCH_BYTES);
      position = 0;
    }
    position += 4;
    return block.getUint32(position - 4, true);
  };
  const blockCount = (): number => {
    for (let q = 0; ; q += 16) {
      const hi = BigInt(word());
      let lo: bigint | undefined;
      let k = 0;
      for (; k < 16; k++) {
        const threshold = table[k]!;
        if (hi !== threshold >> 32n) {
          if (hi < threshold >> 32n) continue;
          break;
        }
        lo ??= BigInt(word());
        if (lo >= (threshold & 0xffffffffn)) break;
      }
      if (k < 16) return q + k;
    }
  };
  const mMask = 2 ** mBits - 1;
  const invT = 1 / t;
  const geometric = (): number => {
    for (;;) {
      let w: number;
      let proposal: number;
      for (;;) {
        w = word();
        proposal = w & mMask;
        const x = proposal * invT;
        const lower = 1 - x;
        const top = ((w >>> 23) & 0xff) * 2 ** -8;
        if (top + 2 ** -8 <= lower) break;
        const upper = lower + 0.5 * x * x;
        if (top >= upper) continue;
        // u: the 8 bits of w, 32 of the next word and the top 13 of the one after
        const u = (((w >>> 23) & 0xff) * 2 ** 45 + word() * 2 ** 13 + (word() >>> 19)) * 2 ** -53;
        if (u < lower) break;
        if (u >= upper) continue;
        if (u < Math.exp(-x)) break;
      }
      const magnitude = blockCount() * 2 ** mBits + proposal;
      const negative = w >>> 31 === 1;
      if (negative && magnitude === 0) continue;
      if (magnitude >= TWO_52) continue;
      return negative ? -magnitude : magnitude;
    }
  };
  return values.map((v) => (nearest(v / r) + geometric()) * r);
}
