// Serves src/secagg/masks.ts.
// Secure-aggregation masks (Bonawitz et al. 2017): the ChaCha20 keystream of a full 32-byte seed,
// read as little-endian 32-bit words, added to or subtracted from a vector in Z_2^32. Reducing the
// result mod 2^b afterwards gives the same vector as masking in Z_2^b, because 2^b divides 2^32.
import { BUFFER, fourBlocks, generatorBytes } from '../dp/rng';

const GROUP_WORDS: i32 = 64; // one call of fourBlocks: 4 blocks of 16 words

/**
 * target[i] += (or -=) keystream word i of generator g, for i < n, continuing g's block counter.
 * Callers keep n a multiple of 64 except in the last call on a generator.
 */
function addKeystream(g: usize, target: usize, n: i32, subtract: bool): void {
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

/** Target words per block of addKeystreams (4 KiB): a block stays in L1 while every generator adds to it. */
const BLOCK_WORDS: i32 = 1024;

/**
 * addKeystream for `count` generators at once: generator j occupies generatorBytes() bytes at
 * gens + j * generatorBytes() and subtracts when the u32 at subtract + 4 j is nonzero. Blocked: each
 * block of BLOCK_WORDS target words gets the words of every generator before the next block, so
 * the target is read and written in cache instead of once per generator from memory. The result
 * equals calling addKeystream(generator j, target, n, subtract j) for j = 0, 1, ..., count - 1.
 * Callers keep n a multiple of 64 except in the last call on the generators.
 */
export function addKeystreams(gens: usize, subtract: usize, count: i32, target: usize, n: i32): void {
  const stride = generatorBytes();
  for (let start = 0; start < n; start += BLOCK_WORDS) {
    const words = min<i32>(BLOCK_WORDS, n - start);
    const out = target + (<usize>start << 2);
    for (let j = 0; j < count; j++) {
      addKeystream(gens + <usize>j * stride, out, words, load<u32>(subtract + (<usize>j << 2)) != 0);
    }
  }
}

/** acc[i] += x[i] mod 2^32 for i < n. */
export function addWords(acc: usize, x: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const a = acc + (<usize>i << 2);
    const b = x + (<usize>i << 2);
    v128.store(a, i32x4.add(v128.load(a), v128.load(b)));
    v128.store(a, i32x4.add(v128.load(a, 16), v128.load(b, 16)), 16);
    v128.store(a, i32x4.add(v128.load(a, 32), v128.load(b, 32)), 32);
    v128.store(a, i32x4.add(v128.load(a, 48), v128.load(b, 48)), 48);
  }
  for (; i < n; i++) {
    const p = acc + (<usize>i << 2);
    store<u32>(p, load<u32>(p) + load<u32>(x + (<usize>i << 2)));
  }
}
