// The wasm HMAC-SHA-256 kernel of keyed pseudonyms (assembly/protect/hmac.ts): the published SHA-256
// examples (FIPS 180-2 appendix B / NIST CSRC examples) and the RFC 4231 HMAC-SHA-256 test cases,
// one row each, through the kernel and the plain-TypeScript reference; then property tests of the
// batched kernel against the reference and node:crypto's createHmac (an independent implementation)
// over random keys (short, one block, longer than a block), random values (empty, around the 55/56/64
// byte padding edges, multi-byte UTF-8, lone surrogates) and every token length; and the path that
// streams a value longer than the staging window.
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import * as ref from 'privkit/reference';
import { hmacKeyStates, hmacTokens, sha256 } from '../../dist/src/protect/hmac.js';
import { protectWasm } from '../../dist/src/protect/wasm.js';
import { packStrings, WINDOW_BYTES } from '../../dist/src/wasm/boundary.js';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { FC_SEED } from '../support/helpers.js';

fc.configureGlobal({ seed: FC_SEED, numRuns: 60, endOnFailure: true });

beforeAll(async () => {
  await ready();
});

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const utf8 = (text: string) => new TextEncoder().encode(text);

/** HMAC-SHA-256 of raw byte messages by the wasm kernel directly (RFC 4231 has messages that are not UTF-8). */
function kernelTags(key: Uint8Array, messages: Uint8Array[], tokenBytes = 32): Uint8Array[] {
  const states = hmacKeyStates(key);
  return runtime.withWasm(protectWasm, (kernels, arena) => {
    const total = messages.reduce((sum, m) => sum + m.length, 0);
    const data = arena.allocSecret(Math.max(1, total));
    const offsets = arena.allocSecret(4 * (messages.length + 1));
    const statesAt = arena.allocSecret(64);
    const work = arena.allocSecret(kernels.hmacWorkBytes());
    const out = arena.allocSecret(messages.length * tokenBytes);
    arena.bytes(statesAt, 64).set(states);
    let end = 0;
    arena.u32(offsets, 1)[0] = 0;
    messages.forEach((m, i) => {
      arena.bytes(data + end, m.length).set(m);
      end += m.length;
      arena.u32(offsets, messages.length + 1)[i + 1] = end;
    });
    kernels.hmacTokens(statesAt, work, data, offsets, messages.length, out, tokenBytes);
    return messages.map((_, i) => arena.bytes(out + i * tokenBytes, tokenBytes).slice());
  });
}

describe('SHA-256: the NIST examples', () => {
  const EXAMPLES: [string, Uint8Array, string][] = [
    ['empty message', new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['"abc" (one block)', utf8('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['448 bits (two blocks: the length spills over)', utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    [
      '896 bits',
      utf8('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'),
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
    ['one million "a"', new Uint8Array(1_000_000).fill(0x61), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
  ];
  for (const [name, message, digest] of EXAMPLES) {
    it(name, () => {
      expect(hex(sha256(message)), 'wasm').toBe(digest);
      expect(hex(ref.sha256(message)), 'reference').toBe(digest);
    });
  }
});

describe('HMAC-SHA-256: the RFC 4231 test cases', () => {
  const CASES: { name: string; key: Uint8Array; data: Uint8Array; tag: string }[] = [
    { name: 'case 1', key: new Uint8Array(20).fill(0x0b), data: utf8('Hi There'), tag: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
    { name: 'case 2: a key shorter than the output', key: utf8('Jefe'), data: utf8('what do ya want for nothing?'), tag: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' },
    { name: 'case 3: 50 bytes of 0xdd', key: new Uint8Array(20).fill(0xaa), data: new Uint8Array(50).fill(0xdd), tag: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe' },
    {
      name: 'case 4: a 25-byte key',
      key: Uint8Array.from({ length: 25 }, (_, i) => i + 1),
      data: new Uint8Array(50).fill(0xcd),
      tag: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    },
    { name: 'case 5: truncated to 128 bits', key: new Uint8Array(20).fill(0x0c), data: utf8('Test With Truncation'), tag: 'a3b6167473100ee06e0c796c2955552b' },
    {
      name: 'case 6: a key longer than the block (hashed first)',
      key: new Uint8Array(131).fill(0xaa),
      data: utf8('Test Using Larger Than Block-Size Key - Hash Key First'),
      tag: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    },
    {
      name: 'case 7: key and data longer than the block',
      key: new Uint8Array(131).fill(0xaa),
      data: utf8('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
      tag: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    },
  ];
  for (const c of CASES) {
    it(c.name, () => {
      const tokenBytes = c.tag.length / 2;
      expect(hex(kernelTags(c.key, [c.data], tokenBytes)[0]!), 'wasm').toBe(c.tag);
      expect(hex(ref.hmacSha256(c.key, c.data)).slice(0, c.tag.length), 'reference').toBe(c.tag);
    });
  }

  it('all seven in one batched call, each tag in its place', () => {
    const key = new Uint8Array(131).fill(0xaa);
    const messages = [CASES[5]!.data, new Uint8Array(0), CASES[6]!.data, CASES[0]!.data];
    const want = messages.map((m) => createHmac('sha256', key).update(m).digest('hex'));
    expect(kernelTags(key, messages).map(hex)).toEqual(want);
  });
});

/** Keys of 1 to 300 bytes: below, at and above the 64-byte block. */
const keys = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 80 }), fc.uint8Array({ minLength: 60, maxLength: 300 }));
/** Values of every UTF-8 width, around the padding edges (55, 56, 63, 64, 119, 120 bytes) and with lone surrogates. */
const values = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 70 }),
  fc.integer({ min: 50, max: 130 }).map((n) => 'v'.repeat(n)),
  fc.constantFrom('', '\ud800', 'a\udc00b', 'Zoë 🐳'),
);

describe('the batched kernel = the reference = node:crypto', () => {
  it('for random keys, values and token lengths', () => {
    fc.assert(
      fc.property(keys, fc.array(values, { maxLength: 40 }), fc.integer({ min: 1, max: 32 }), (key, texts, tokenBytes) => {
        const tags = hmacTokens(hmacKeyStates(key), texts, tokenBytes);
        expect(tags.length).toBe(texts.length * tokenBytes);
        texts.forEach((text, i) => {
          const got = hex(tags.subarray(i * tokenBytes, (i + 1) * tokenBytes));
          expect(got, 'node:crypto').toBe(createHmac('sha256', key).update(text, 'utf8').digest('hex').slice(0, 2 * tokenBytes));
          expect(got, 'reference').toBe(hex(ref.hmacSha256(key, utf8(text))).slice(0, 2 * tokenBytes));
        });
      }),
    );
  });

  it('for raw byte messages of every length up to three blocks', () => {
    fc.assert(
      fc.property(keys, fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 20 }), (key, messages) => {
        expect(kernelTags(key, messages).map(hex)).toEqual(messages.map((m) => createHmac('sha256', key).update(m).digest('hex')));
      }),
    );
  });

  it('the key states are those of the reference', () => {
    fc.assert(
      fc.property(keys, (key) => {
        const words = ref.hmacSha256KeyStates(key);
        expect(hmacKeyStates(key)).toEqual(new Uint8Array(words.buffer));
      }),
      { numRuns: 30 },
    );
  });

  it('SHA-256 of random messages, through both', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (message) => {
        const want = createHash('sha256').update(message).digest('hex');
        expect(hex(sha256(message))).toBe(want);
        expect(hex(ref.sha256(message))).toBe(want);
      }),
    );
  });
});

describe('values longer than the staging window', () => {
  it('are streamed through it, between short values packed around them', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => 3 * i + 1);
    const long = 'x'.repeat(WINDOW_BYTES + 100); // does not fit the window: streamed in blocks
    const wide = '€'.repeat(WINDOW_BYTES / 3 + 7); // 3 UTF-8 bytes each: does not fit either
    const texts = ['a', long, 'b', wide, 'c'.repeat(70)];
    const tags = hmacTokens(hmacKeyStates(key), texts, 32);
    texts.forEach((text, i) => {
      expect(hex(tags.subarray(32 * i, 32 * (i + 1))), `value ${i}`).toBe(createHmac('sha256', key).update(text, 'utf8').digest('hex'));
    });
  });

  it('packStrings stops before a value that does not fit whole, and at the offsets capacity', () => {
    const bytes = new Uint8Array(10);
    const offsets = new Uint32Array(5);
    expect(packStrings(['ab', '€€', 'cdef'], 0, bytes, offsets)).toBe(2); // 2 + 6 bytes; 'cdef' would need 4 more
    expect([...offsets.subarray(0, 3)]).toEqual([0, 2, 8]);
    expect(packStrings(['a', 'b', 'c', 'd', 'e', 'f'], 1, bytes, offsets)).toBe(4);
    expect([...offsets]).toEqual([0, 1, 2, 3, 4]);
    expect(packStrings(['x'.repeat(11)], 0, bytes, offsets)).toBe(0);
    expect(packStrings([], 0, bytes, offsets)).toBe(0);
  });
});
