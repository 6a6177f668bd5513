// No secret left in wasm memory after a call (issue 11): after each kind of call that handles keys or
// keystream (the generator's own outputs, every sampler, quantization with noise, secure-aggregation
// masks, Paillier key generation, the thread's CSPRNG, keyed pseudonyms), the whole memory of every
// wasm module (kernels, rng, dp, paillier and protect: each has its own) is scanned for the generator's 32-byte key, for any 16 bytes of the keystream it produced (recomputed from the key
// and the generator's final block counter with the plain-TypeScript ChaCha20 reference), for mask
// seeds, for HMAC keys and any 16 bytes of their padded blocks and inner/outer states (from the
// plain-TypeScript HMAC reference) or of the pseudonymized values, and for the ChaCha20 constants
// that open every generator state; and each module's arena
// (memory above its static data, zeroed before the call) must be all zero again. Controls check that each
// scan finds what it looks for when it is there.
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import {
  addGaussianNoise,
  createRng,
  discreteGaussian,
  gaussianNoise,
  laplaceNoise,
  secureGaussian,
  secureLaplace,
  type Rng,
} from 'privkit/dp';
import { generateKeyPair } from 'privkit/paillier';
import { chachaBlock, hmacSha256KeyStates, sha256 } from 'privkit/reference';
import { createPseudonymizer, desensitize } from 'privkit/protect';
import { applyMasks, quantize } from 'privkit/secagg';
import { resolveRng } from '../../dist/src/dp/noise.js';
import { generatorState } from '../../dist/src/dp/rng.js';
import { maskedSum } from '../../dist/src/secagg/masks.js';
import * as runtime from '../../dist/src/wasm/runtime.js';

beforeAll(ready);

const SIGMA = new TextEncoder().encode('expand 32-byte k');
const key = (k: number) => Uint8Array.from({ length: 32 }, (_, i) => (0x3d * (i + 1) + 17 * k) & 0xff);

/** Every wasm module of the thread (the families imported here use all four). */
const modules = runtime.registeredModules;
/** A copy of the whole memory of a module. */
const wasmMemory = (module: runtime.WasmModule<runtime.ModuleExports>): Uint8Array =>
  runtime.withWasm(module, (kernels) => new Uint8Array(kernels.memory.buffer).slice());
const heapBase = (module: runtime.WasmModule<runtime.ModuleExports>): number => runtime.withWasm(module, (kernels) => kernels.heapBase());
/** The memory object of each module (an instance renewed meanwhile would have another). */
const memories = () => modules().map((module) => runtime.withWasm(module, (kernels) => kernels.memory));

/** Zeroes every arena, so that whatever is found there afterwards was left by the call under test. */
function clearArena(): void {
  for (const module of modules()) runtime.withWasm(module, (kernels) => new Uint8Array(kernels.memory.buffer, kernels.heapBase()).fill(0));
}

/** The first `blocks` 64-byte blocks of ChaCha20 with `key` and stream id `stream`, from the reference. */
function keystream(key: Uint8Array, stream: number, blocks: number): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setUint32(4, stream % 2 ** 32, true);
  new DataView(nonce.buffer).setUint32(8, Math.floor(stream / 2 ** 32), true);
  const out = new Uint8Array(64 * blocks);
  for (let b = 0; b < blocks; b++) out.set(chachaBlock(key, b, nonce), 64 * b);
  return out;
}

/** A generator's key and the keystream it has produced so far (its state is private to rng.ts; read here for the test). */
function produced(rng: Rng): { key: Uint8Array; stream: Uint8Array } {
  const state = (rng as unknown as { generator: Uint8Array }).generator;
  const words = new DataView(state.buffer, state.byteOffset);
  const blocks = words.getUint32(48, true) + 2 ** 32 * words.getUint32(52, true);
  const key = state.slice(16, 48);
  return { key, stream: keystream(key, words.getUint32(56, true) + 2 ** 32 * words.getUint32(60, true), blocks) };
}

/** Offsets where some `size` consecutive bytes of `needle` occur in `haystack` (anchored on 4-byte words, zero words skipped). */
function fragmentsIn(haystack: Uint8Array, needle: Uint8Array, size = 16): number[] {
  const starts = new Map<number, number[]>();
  const needleWords = new DataView(needle.buffer, needle.byteOffset, needle.byteLength);
  for (let i = 0; i + size <= needle.length; i++) {
    const word = needleWords.getUint32(i, true);
    if (word === 0) continue;
    const list = starts.get(word);
    if (list === undefined) starts.set(word, [i]);
    else list.push(i);
  }
  const found: number[] = [];
  const words = new DataView(haystack.buffer, haystack.byteOffset, haystack.byteLength);
  // a word at offset i lies within the aligned words at i & ~3 and the next: where both are zero, so is it
  const aligned = new Uint32Array(haystack.buffer, haystack.byteOffset, haystack.byteLength >>> 2);
  for (let i = 0; i + size <= haystack.length; i++) {
    const a = i >>> 2;
    if ((i & 3) === 0 && aligned[a] === 0 && (aligned[a + 1] ?? 0) === 0) {
      i += 3;
      continue;
    }
    const candidates = starts.get(words.getUint32(i, true));
    if (candidates === undefined) continue;
    if (candidates.some((j) => haystack.subarray(i, i + size).every((byte, k) => byte === needle[j + k]))) found.push(i);
  }
  return found;
}

/** The index of the first non-zero byte of `bytes` (-1 if none), skipping zero 4-byte words. */
function firstNonZero(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && (bytes.byteOffset + i) % 4 !== 0) {
    if (bytes[i] !== 0) return i;
    i++;
  }
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, (bytes.length - i) >>> 2);
  let w = 0;
  while (w < words.length && words[w] === 0) w++;
  for (i += 4 * w; i < bytes.length; i++) if (bytes[i] !== 0) return i;
  return -1;
}

const contains = (haystack: Uint8Array, needle: Uint8Array) => Buffer.from(haystack.buffer, haystack.byteOffset, haystack.length).indexOf(Buffer.from(needle)) >= 0;

/** What the scan of every module found: keys, keystream fragments, generator constants, non-zero arena bytes. */
function leftovers(secrets: { keys: Uint8Array[]; streams: Uint8Array[] }): string[] {
  const found: string[] = [];
  for (const module of modules()) {
    const memory = wasmMemory(module);
    const report = (what: string) => found.push(`${module.name}: ${what}`);
    secrets.keys.forEach((k, i) => contains(memory, k) && report(`key ${i}`));
    secrets.streams.forEach((s, i) => {
      const at = fragmentsIn(memory, s);
      if (at.length > 0) report(`keystream ${i} at ${at.length} offsets (first ${at[0]})`);
    });
    if (contains(memory, SIGMA)) report('a generator state (its ChaCha20 constants)');
    const arena = memory.subarray(heapBase(module));
    const dirty = firstNonZero(arena);
    if (dirty >= 0) report(`non-zero arena byte at heapBase + ${dirty}`);
  }
  return found;
}

const floats = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);

/** An HMAC key's secrets: the key (and the hash that replaces a long one), its blocks XOR ipad and XOR opad, its inner and outer states (as the kernel stores them: little-endian words). */
function hmacSecrets(key: Uint8Array): { keys: Uint8Array[]; streams: Uint8Array[] } {
  const padded = new Uint8Array(64);
  padded.set(key.length > 64 ? sha256(key) : key); // a key longer than the block is hashed first
  const states = new Uint8Array(hmacSha256KeyStates(key).buffer);
  return { keys: [key, padded.subarray(0, 32)], streams: [states, padded.map((b) => b ^ 0x36), padded.map((b) => b ^ 0x5c)] };
}

interface CaseResult {
  rngs: Rng[];
  masks?: { seed: Uint8Array; words: number }[];
  /** Other secrets: looked for whole (keys) or by any 16 bytes (streams). */
  other?: { keys: Uint8Array[]; streams: Uint8Array[] };
}

/**
 * Each case runs its calls and returns the generators it used (their keys and keystreams are looked
 * for), any extra keys (mask seeds) with the keystream each produced, and other secrets.
 */
const CASES: Record<string, () => Promise<CaseResult> | CaseResult> = {
  'createRng().bytes / uint32 / fill': () => {
    const rng = createRng({ seed: key(1) });
    rng.bytes(1000);
    rng.uint32(77);
    rng.fill(new Uint16Array(33));
    return { rngs: [rng] };
  },
  'createRng().uniform': () => {
    const rng = createRng({ seed: key(2) });
    rng.uniform(500);
    return { rngs: [rng] };
  },
  'gaussianNoise, float64 and float32': () => {
    const rng = createRng({ seed: key(3) });
    gaussianNoise(1000, 2, { rng });
    gaussianNoise(999, 0.5, { rng, dtype: 'float32' });
    return { rngs: [rng] };
  },
  'laplaceNoise and addGaussianNoise': () => {
    const rng = createRng({ seed: key(4) });
    laplaceNoise(1000, 2, { rng });
    addGaussianNoise(floats(500), 1, { rng });
    return { rngs: [rng] };
  },
  'discreteGaussian, exact and wasm': () => {
    const rng = createRng({ seed: key(5) });
    discreteGaussian(300, 4, { rng });
    discreteGaussian(3000, 40, { rng, method: 'wasm' });
    return { rngs: [rng] };
  },
  'secureGaussian and secureLaplace': () => {
    const rng = createRng({ seed: key(6) });
    secureGaussian(Float64Array.from(floats(700)), 1.5, { rng });
    secureLaplace(Float64Array.from(floats(700)), 1.5, { rng });
    return { rngs: [rng] };
  },
  'quantize with noise, stochastic and conditional rounding': () => {
    const rng = createRng({ seed: key(7) });
    quantize(floats(2000), { scale: 50, bits: 20, noiseSigma: 3, rng });
    quantize(floats(2000), { scale: 50, bits: 20, noiseSigma: 3, rounding: 'conditional', conditionalBound: 1e9, rng });
    return { rngs: [rng] };
  },
  'applyMasks and maskedSum': () => {
    const words = 5000;
    const [a, b, c] = [key(8), key(9), key(10)];
    const target = Uint32Array.from({ length: words }, (_, i) => i & 0xffff);
    applyMasks(target, [{ seed: a.slice() }, { seed: b.slice(), subtract: true }], 20);
    maskedSum([target, target.slice()], [{ seed: c.slice() }], 20);
    return { rngs: [], masks: [a, b, c].map((seed) => ({ seed, words })) };
  },
  'Paillier key generation': async () => {
    const rng = createRng({ seed: key(11) });
    await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, rng });
    return { rngs: [rng] };
  },
  'createPseudonymizer, token, tokens and desensitize (short and long keys)': async () => {
    const [short, long] = [key(15), Uint8Array.from({ length: 100 }, (_, i) => (i * 29 + 3) & 0xff)];
    const values = Array.from({ length: 300 }, (_, i) => `customer-${i}@pseudonymized.example.com`); // looked for as one stream (one scan)
    for (const k of [short, long]) {
      const ids = await createPseudonymizer({ key: k.slice(), tokenBytes: 12 });
      await ids.token(values[0]!);
      await ids.tokens(values);
      await desensitize(values.map((id) => ({ id })), { id: { kind: 'pseudonymize', pseudonymizer: ids } });
    }
    const [a, b] = [hmacSecrets(short), hmacSecrets(long)];
    return { rngs: [], other: { keys: [...a.keys, ...b.keys], streams: [...a.streams, ...b.streams, new TextEncoder().encode(values.join(''))] } };
  },
  "the thread's CSPRNG": () => {
    gaussianNoise(1000, 1);
    discreteGaussian(1000, 10, { method: 'wasm' });
    return { rngs: [resolveRng(undefined) as unknown as Rng] };
  },
};

describe('no key, keystream or mask seed in wasm memory after a call', () => {
  for (const [name, run] of Object.entries(CASES)) {
    it(name, async () => {
      clearArena();
      const before = memories();
      const { rngs, masks = [], other = { keys: [], streams: [] } } = await run();
      memories().forEach((memory, i) => expect(memory, 'the same instances were scanned').toBe(before[i]));
      const generators = rngs.map(produced);
      for (const { stream } of generators) expect(stream.length).toBeGreaterThan(0);
      const secrets = {
        keys: [...generators.map((g) => g.key), ...masks.map((m) => m.seed), ...other.keys],
        streams: [...generators.map((g) => g.stream), ...masks.map((m) => keystream(m.seed, 0, Math.ceil(m.words / 16))), ...other.streams],
      };
      expect(leftovers(secrets)).toEqual([]);
    });
  }
});

describe('the scans find what they look for (controls)', () => {
  it('every module is scanned', () => {
    expect(modules().map((module) => module.name).sort()).toEqual(['dp', 'kernels', 'paillier', 'protect', 'rng']);
  });

  it('a key, a keystream fragment, a generator state and a stray byte, in each module', () => {
    const seed = key(12);
    const stream = keystream(seed, 0, 8);
    for (const module of modules()) {
      /** Writes `bytes` at an unaligned address of the module's arena, outside any secret region (left there after the call). */
      const plant = (bytes: Uint8Array) =>
        runtime.withWasm(module, (_kernels, arena) => {
          const ptr = arena.alloc(bytes.length + 16) + 5;
          arena.bytes(ptr, bytes.length).set(bytes);
        });
      const where = `${module.name}: `;
      clearArena();
      expect(leftovers({ keys: [seed], streams: [stream] })).toEqual([]);
      plant(seed);
      expect(leftovers({ keys: [seed], streams: [] })).toEqual([`${where}key 0`, expect.stringMatching(`^${where}non-zero arena byte`)]);
      clearArena();
      plant(stream.subarray(200, 216));
      expect(leftovers({ keys: [], streams: [stream] })).toEqual([expect.stringMatching(`^${where}keystream 0 at 1 offsets`), expect.stringMatching(`^${where}non-zero`)]);
      clearArena();
      plant(generatorState(key(13), 0));
      expect(leftovers({ keys: [], streams: [] })).toEqual([`${where}a generator state (its ChaCha20 constants)`, expect.stringMatching(`^${where}non-zero`)]);
      clearArena();
    }
  });

  it('the keystream recomputed from a generator is the keystream it produced', () => {
    const rng = createRng({ seed: key(14) });
    const out = rng.bytes(1000);
    const { key: k, stream } = produced(rng);
    expect(k).toEqual(key(14));
    expect(stream.length).toBe(1024); // 16 blocks: four at a time
    expect(stream.subarray(0, 1000)).toEqual(out);
  });
});
