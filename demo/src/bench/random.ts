// The random-bytes family: privkit's CSPRNG, ChaCha20 (RFC 8439) in WebAssembly, filling a buffer
// with keystream, against the same cipher in plain JS (@noble/ciphers' chacha20 over zeros, which
// is its keystream) and the browser's crypto.getRandomValues (at most 64 KiB per call). The check
// first proves that both ChaCha20s compute the same keystream: a seeded privkit generator (stream 0)
// equals noble's keystream under that key with the zero nonce.
import { chacha20 } from '@noble/ciphers/chacha.js';
import { createRng } from 'privkit/dp';
import { bytes, type Family } from './family';

const SIZES = { quick: 256 << 10, full: 4 << 20 };
/** crypto.getRandomValues fills at most 65,536 bytes per call. */
const CRYPTO_CALL_BYTES = 65536;
const ZERO_NONCE = new Uint8Array(12);

/** The first 4 KiB of keystream from privkit and from noble under one fixed key. */
function sameKeystream(): string {
  const key = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 7) & 255);
  const ours = createRng({ seed: key }).fill(new Uint8Array(4096));
  const theirs = chacha20(key, ZERO_NONCE, new Uint8Array(4096));
  return ours.every((byte, i) => byte === theirs[i]) ? 'keystream = @noble/ciphers (checked on 4 KiB)' : 'keystream DIFFERS from @noble/ciphers';
}

export const random: Family = {
  id: 'random',
  title: 'Random bytes',
  intro:
    'Keystream of the ChaCha20 generator that feeds all of privkit\'s noise, against ChaCha20 in plain JavaScript and the browser\'s own CSPRNG.',
  groups: [
    {
      id: 'chacha20',
      title: 'ChaCha20 keystream into a buffer',
      prepare: (ctx) => {
        const length = SIZES[ctx.mode];
        const out = new Uint8Array(length);
        const zeros = new Uint8Array(length);
        const rng = createRng();
        const key = crypto.getRandomValues(new Uint8Array(32));
        const fillCrypto = () => {
          for (let i = 0; i < length; i += CRYPTO_CALL_BYTES) crypto.getRandomValues(out.subarray(i, i + CRYPTO_CALL_BYTES));
          return out;
        };
        const meanByte = (filled: Uint8Array) => `mean byte ${(filled.reduce((sum, b) => sum + b, 0) / filled.length).toFixed(2)} (uniform: 127.5)`;
        return {
          shape: `${bytes(length)} per call`,
          setup: "import { createRng } from 'privkit/dp';\nconst rng = createRng(); // keyed from crypto.getRandomValues\nconst out = new Uint8Array(n);",
          rate: { unit: 'GB/s', perCall: length, scale: 1e9 },
          baseline: 'noble',
          tasks: [
            { id: 'privkit', label: 'privkit ChaCha20 (wasm)', kind: 'privkit', code: 'rng.fill(out)', run: () => rng.fill(out), check: sameKeystream },
            {
              id: 'noble',
              label: '@noble/ciphers ChaCha20 (JS)',
              kind: 'baseline',
              code: 'chacha20(key, nonce, zeros, out)',
              run: () => chacha20(key, ZERO_NONCE, zeros, out),
              check: () => meanByte(chacha20(key, ZERO_NONCE, zeros, out)),
            },
            {
              id: 'crypto',
              label: 'crypto.getRandomValues',
              kind: 'baseline',
              code: 'crypto.getRandomValues(out.subarray(i, i + 65536)) // per 64 KiB',
              run: fillCrypto,
              check: () => meanByte(fillCrypto()),
            },
          ],
        };
      },
    },
  ],
};
