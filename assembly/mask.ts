// Secure-aggregation masks (Bonawitz et al. 2017): the ChaCha20 keystream of a full 32-byte seed,
// read as little-endian 32-bit words, added to or subtracted from a vector in Z_2^32. Reducing the
// result mod 2^b afterwards gives the same vector as masking in Z_2^b, because 2^b divides 2^32.
import { fourBlocks } from './chacha';

const BUFFER: usize = 64;
const GROUP_WORDS: i32 = 64; // one call of fourBlocks: 4 blocks of 16 words

/**
 * target[i] += (or -=) keystream word i of generator g, for i < n, continuing g's block counter.
 * Callers keep n a multiple of 64 except in the last call on a generator.
 */
export function addKeystream(g: usize, target: usize, n: i32, subtract: bool): void {
  const buffer = g + BUFFER;
  for (let done = 0; done < n; done += GROUP_WORDS) {
    fourBlocks(g, buffer);
    const out = target + (<usize>done << 2);
    const words = min<i32>(GROUP_WORDS, n - done);
    if (words == GROUP_WORDS) {
      for (let k: usize = 0; k < 256; k += 16) {
        const key = v128.load(buffer + k);
        const value = v128.load(out + k);
        v128.store(out + k, subtract ? i32x4.sub(value, key) : i32x4.add(value, key));
      }
    } else {
      for (let k: usize = 0; k < <usize>words << 2; k += 4) {
        const key = load<u32>(buffer + k);
        const value = load<u32>(out + k);
        store<u32>(out + k, subtract ? value - key : value + key);
      }
    }
  }
}

/** x[i] &= mask for i < n (reduction of Z_2^32 values mod 2^b). */
export function andWords(x: usize, n: i32, mask: u32): void {
  const m = i32x4.splat(mask);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2);
    v128.store(p, v128.and(v128.load(p), m));
  }
  for (; i < n; i++) {
    const p = x + (<usize>i << 2);
    store<u32>(p, load<u32>(p) & mask);
  }
}
