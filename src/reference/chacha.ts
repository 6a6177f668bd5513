// Plain-TypeScript reference of the ChaCha20 block function (RFC 8439 section 2.3) and of the
// full-precision uniform double conversion: the oracle for the wasm generator.
import { PrivkitError } from '../errors.js';
import { assertBytes, checkNumber } from '../validate-arrays.js';
import { checkTypedArray } from '../wasm/boundary.js';

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];

function quarterRound(s: Uint32Array, a: number, b: number, c: number, d: number): void {
  const rotl = (v: number, n: number) => ((v << n) | (v >>> (32 - n))) >>> 0;
  s[a] = (s[a]! + s[b]!) >>> 0; s[d] = rotl(s[d]! ^ s[a]!, 16);
  s[c] = (s[c]! + s[d]!) >>> 0; s[b] = rotl(s[b]! ^ s[c]!, 12);
  s[a] = (s[a]! + s[b]!) >>> 0; s[d] = rotl(s[d]! ^ s[a]!, 8);
  s[c] = (s[c]! + s[d]!) >>> 0; s[b] = rotl(s[b]! ^ s[c]!, 7);
}

/** One 64-byte block for a 32-byte key, a 32-bit block counter and a 12-byte nonce. */
export function chachaBlock(key: Uint8Array, counter: number, nonce: Uint8Array): Uint8Array {
  assertBytes('key', key, 32);
  checkNumber('counter', counter, { integer: true, min: 0, max: 2 ** 32 - 1 });
  assertBytes('nonce', nonce, 12);
  const keyWords = new DataView(key.buffer, key.byteOffset, 32);
  const nonceWords = new DataView(nonce.buffer, nonce.byteOffset, 12);
  const initial = new Uint32Array(16);
  initial.set(SIGMA);
  for (let i = 0; i < 8; i++) initial[4 + i] = keyWords.getUint32(4 * i, true);
  initial[12] = counter >>> 0;
  for (let i = 0; i < 3; i++) initial[13 + i] = nonceWords.getUint32(4 * i, true);
  const s = initial.slice();
  for (let round = 0; round < 10; round++) {
    quarterRound(s, 0, 4, 8, 12); quarterRound(s, 1, 5, 9, 13); quarterRound(s, 2, 6, 10, 14); quarterRound(s, 3, 7, 11, 15);
    quarterRound(s, 0, 5, 10, 15); quarterRound(s, 1, 6, 11, 12); quarterRound(s, 2, 7, 8, 13); quarterRound(s, 3, 4, 9, 14);
  }
  const out = new Uint8Array(64);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 16; i++) view.setUint32(4 * i, (s[i]! + initial[i]!) >>> 0, true);
  return out;
}

/**
 * Doubles uniform in (0, 1) from 32-bit keystream words, as the wasm generator makes them: per
 * value a little-endian 64-bit word; bits 12..63 are the mantissa, the trailing zeros of bits 0..11
 * choose the binade, and when those 12 bits are all zero further 64-bit words extend the count.
 */
export function uniformFromWords(words: Uint32Array, n: number): Float64Array {
  checkTypedArray('words', words, ['Uint32Array']);
  const out = new Float64Array(checkNumber('n', n, { integer: true, min: 0, max: Math.floor(words.length / 2) }));
  let w = 0;
  const next64 = (): [number, number] => {
    if (w + 2 > words.length) throw new PrivkitError('E_SHAPE', `words ran out after ${w} words (a value needed more to choose its binade)`, { argument: 'words' });
    const pair: [number, number] = [words[w]!, words[w + 1]!];
    w += 2;
    return pair;
  };
  const trailingZeros = (lo: number, hi: number): number =>
    lo !== 0 ? 31 - Math.clz32(lo & -lo) : hi !== 0 ? 32 + 31 - Math.clz32(hi & -hi) : 64;
  for (let i = 0; i < n; i++) {
    const [lo, hi] = next64();
    const mantissa = hi * 2 ** 20 + (lo >>> 12); // 52 bits
    let k = trailingZeros((lo & 0xfff) | 0x1000, 0);
    if (k === 12) {
      let [mlo, mhi] = next64();
      while (mlo === 0 && mhi === 0 && k < 1022) {
        k += 64;
        [mlo, mhi] = next64();
      }
      k += trailingZeros(mlo, mhi);
    }
    out[i] = k > 1021 ? Number.MIN_VALUE : (1 + mantissa / 2 ** 52) * 2 ** -(k + 1);
  }
  return out;
}
