// ChaCha20 generator: RFC 8439 vectors, wasm == reference, stream splitting, seeds and streams,
// and the full-precision uniform doubles.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { createRng, gaussianNoise } from 'privkit/dp';
import { chachaBlock, uniformFromWords } from 'privkit/reference';
import { GENERATOR_BYTES } from '../../dist/src/dp/rng.js';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { rngWasm } from '../../dist/src/dp/wasm.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const fromHex = (text: string) => Uint8Array.from(Buffer.from(text.replace(/[\s:]/g, ''), 'hex'));
const key0to31 = Uint8Array.from({ length: 32 }, (_, i) => i);

beforeAll(ready);

describe('ChaCha20 (RFC 8439)', () => {
  it('reference block function: section 2.3.2 test vector', () => {
    const block = chachaBlock(key0to31, 1, fromHex('000000090000004a00000000'));
    expect(hex(block)).toBe(
      '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e' +
        'd2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e',
    );
  });

  it('keystream: appendix A.1 vectors #1 and #2 (zero key, zero nonce, counters 0 and 1)', () => {
    const stream = createRng({ seed: new Uint8Array(32) }).bytes(128);
    expect(hex(stream.subarray(0, 64))).toBe(
      '76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7' +
        'da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586',
    );
    expect(hex(stream.subarray(64))).toBe(hex(chachaBlock(new Uint8Array(32), 1, new Uint8Array(12))));
  });

  it('encryption: section 2.4.2 (nonce 000000000000004a00000000 is stream 0x4a000000, counter from 1)', () => {
    const rng = createRng({ seed: key0to31, stream: 0x4a000000 });
    rng.bytes(64); // block counter 0
    const plaintext = new TextEncoder().encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const keystream = rng.bytes(plaintext.length);
    expect(hex(plaintext.map((b, i) => b ^ keystream[i]!))).toBe(
      '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b' +
        'f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8' +
        '07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736' +
        '5af90bbf74a35be6b40b8eedf2785e42874d',
    );
  });

  it('wasm keystream equals the reference for random keys, streams and lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(), fc.integer({ min: 0, max: 1200 }), (seed, stream, n) => {
        const actual = createRng({ seed, stream }).bytes(n);
        const nonce = new Uint8Array(12);
        new DataView(nonce.buffer).setUint32(4, stream, true);
        const expected = new Uint8Array(Math.ceil(n / 64) * 64);
        for (let b = 0; b < expected.length / 64; b++) expected.set(chachaBlock(seed, b, nonce), 64 * b);
        expect(hex(actual)).toBe(hex(expected.subarray(0, n)));
      }),
      { seed: 8439, numRuns: 60 },
    );
  });

  it('any split of a stream into calls gives the same bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 700 }), { maxLength: 8 }), (sizes) => {
        const seed = new Uint8Array(32).fill(7);
        const whole = createRng({ seed }).bytes(sizes.reduce((a, b) => a + b, 0));
        const split = createRng({ seed });
        const parts = sizes.map((n) => split.bytes(n));
        expect(hex(Uint8Array.from(parts.flatMap((p) => Array.from(p))))).toBe(hex(whole));
      }),
      { seed: 1, numRuns: 50 },
    );
  });

  it('seeds and streams: same seed reproduces, other streams and unseeded generators differ', () => {
    const seed = new Uint8Array(32).fill(1);
    expect(hex(createRng({ seed }).bytes(64))).toBe(hex(createRng({ seed }).bytes(64)));
    expect(hex(createRng({ seed, stream: 1 }).bytes(64))).not.toBe(hex(createRng({ seed }).bytes(64)));
    expect(hex(createRng().bytes(32))).not.toBe(hex(createRng().bytes(32)));
    expect(createRng({ seed }).reproducible).toBe(true);
    expect(createRng().reproducible).toBe(false);
  });

  it('a seeded stream is the same in a Node worker thread', async () => {
    const { Worker } = await import('node:worker_threads');
    const seed = new Uint8Array(32).fill(42);
    const dp = new URL('../../dist/src/dp/index.js', import.meta.url).href;
    const root = new URL('../../dist/src/index.js', import.meta.url).href;
    const worker = new Worker(
      `import { parentPort, workerData } from 'node:worker_threads';
       const { ready } = await import(${JSON.stringify(root)});
       const { createRng, gaussianNoise } = await import(${JSON.stringify(dp)});
       await ready();
       const rng = createRng({ seed: workerData, stream: 7 });
       parentPort.postMessage({ bytes: rng.bytes(1000), noise: gaussianNoise(100, 1, { rng }) });`,
      { eval: true, workerData: seed },
    );
    const fromWorker = await new Promise<{ bytes: Uint8Array; noise: Float64Array }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    const rng = createRng({ seed, stream: 7 });
    expect(hex(fromWorker.bytes)).toBe(hex(rng.bytes(1000)));
    expect(fromWorker.noise).toEqual(gaussianNoise(100, 1, { rng }));
  });

  it('a generator state is as long in TypeScript as in the wasm that reads it (generatorBytes)', () => {
    expect(runtime.withWasm(rngWasm, (kernels) => kernels.generatorBytes())).toBe(GENERATOR_BYTES);
  });

  it('fill() writes keystream into an existing array', () => {
    const seed = new Uint8Array(32).fill(3);
    const words = createRng({ seed }).fill(new Uint32Array(50));
    expect(hex(new Uint8Array(words.buffer))).toBe(hex(createRng({ seed }).bytes(200)));
    expect(createRng({ seed }).uint32(50)).toEqual(words);
  });

  it('rejects bad seeds, streams and sizes', () => {
    expect(() => createRng({ seed: new Uint8Array(16) })).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'seed' }));
    expect(() => createRng({ stream: -1 })).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'stream' }));
    expect(() => createRng().bytes(1.5)).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'n' }));
    expect(() => createRng().fill(new Float32Array(2) as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'E_ARG', argument: 'out' }),
    );
  });
});

describe('uniform doubles', () => {
  it('wasm equals the reference conversion of the same keystream, across buffer boundaries', () => {
    for (const skipWords of [0, 1, 63, 62, 64]) {
      const seed = new Uint8Array(32).fill(skipWords + 1);
      const words = createRng({ seed }).uint32(skipWords + 40_000);
      const rng = createRng({ seed });
      rng.uint32(skipWords);
      expect(rng.uniform(10_000)).toEqual(uniformFromWords(words.subarray(skipWords), 10_000));
    }
  });

  it('reference: crafted words reach binades far below 2^-60 with full mantissas', () => {
    // low 12 bits zero -> continue; next word pair zero -> +64; then 5 trailing zeros
    const words = Uint32Array.from([0xfffff000, 0xffffffff, 0, 0, 0x20, 0]);
    const [u] = uniformFromWords(words, 1);
    expect(u).toBe((2 - 2 ** -52) * 2 ** -(12 + 64 + 5 + 1));
    expect(u!).toBeLessThan(2 ** -60);
  });

  it('lies in (0, 1) and fills binades with probability 2^-(k+1) (chi-square, alpha 1e-6)', () => {
    const n = 1_000_000;
    const u = createRng({ seed: new Uint8Array(32).fill(9) }).uniform(n);
    const counts = new Array<number>(16).fill(0);
    let outside = 0;
    for (const v of u) {
      if (!(v > 0 && v < 1)) outside++;
      counts[Math.min(15, Math.floor(-Math.log2(v)))]!++;
    }
    expect(outside).toBe(0);
    let chi2 = 0;
    for (let k = 0; k < 16; k++) {
      const p = k < 15 ? 2 ** -(k + 1) : 2 ** -15;
      chi2 += (counts[k]! - n * p) ** 2 / (n * p);
    }
    expect(chi2).toBeLessThan(56.49); // chi-square with 15 degrees of freedom: upper 1e-6 quantile
    // values in the deepest binades still carry full 52-bit mantissas
    const small = Array.from(u).filter((v) => v < 2 ** -12);
    expect(small.length).toBeGreaterThan(150);
    expect(small.some((v) => (v / 2 ** Math.floor(Math.log2(v))) % 2 ** -40 !== 0)).toBe(true);
  });
});
