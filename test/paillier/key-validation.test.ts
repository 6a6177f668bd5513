// Paillier key import validation: each bad key of the audit (a prime n, n = p^2, n = 3q,
// n = 2^2048 - 1, a private key with p = 5, a JSON n with leading zero bytes, an 8 MB base64 n, a
// composite factor built to pass Miller-Rabin rounds) and the other detectable defects (perfect
// powers, factors close enough for Fermat's method, unbalanced or too close factors, p | q - 1,
// non-canonical encodings, over-long text) are refused with a coded PrivkitError; valid keys of
// other libraries' shapes (factor sizes differing by a bit) are accepted.
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import { createRng } from 'privkit/dp';
import {
  ciphertextFromJSON,
  generateKeyPair,
  IMPORTED_PRIME_ROUNDS,
  MAX_FACTOR_BITS_DIFFERENCE,
  millerRabin,
  PrivateKey,
  privateKeyFromBytes,
  privateKeyFromJSON,
  privateKeyToJSON,
  PublicKey,
  publicKeyFromBytes,
  publicKeyFromJSON,
  publicKeyToJSON,
  randomPrime,
  ready,
  type KeyPair,
} from 'privkit/paillier';
import { errorCode } from '../support/helpers.js';

const insecure = { allowInsecureTestKeys: true };
const seededRng = (byte: number) => createRng({ seed: new Uint8Array(32).fill(byte) });
let keys: KeyPair; // 512-bit n

/** The PrivkitError code and message of fn's error ('no error' when it returns). */
function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PrivkitError);
    return { code: (error as PrivkitError).code, message: (error as PrivkitError).message };
  }
  return { code: 'no error', message: '' };
}

/** The least probable prime > x (64 Miller-Rabin rounds). */
function nextPrime(x: bigint, rng = seededRng(90)): bigint {
  let y = x + 1n + (x & 1n);
  while (!millerRabin(y, 64, rng)) y += 2n;
  return y;
}

const base64url = (x: bigint, leadingZeros = 0) => {
  let hex = x.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  return Buffer.concat([Buffer.alloc(leadingZeros), Buffer.from(hex, 'hex')]).toString('base64url');
};

beforeAll(async () => {
  await ready();
  keys = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, rng: seededRng(61) });
});

describe('public key validation', () => {
  it('refuses a prime n, n = p^2, n = 3q, n = 2^2048 - 1, perfect powers and Fermat-close factors', () => {
    const p = randomPrime(256, seededRng(62));
    const cases: Array<[string, bigint, RegExp, { allowInsecureTestKeys?: boolean }]> = [
      ['prime n', randomPrime(512, seededRng(63)), /probable prime/, insecure],
      ['n = p^2', p * p, /square/, insecure],
      ['n = 3q', 3n * randomPrime(510, seededRng(64)), /factor below 2000/, insecure],
      ['n = 2^2048 - 1', (1n << 2048n) - 1n, /factor below 2000/, {}],
      ['n = p^3', randomPrime(180, seededRng(65)) ** 3n, /perfect power/, insecure],
      ['n = p^5', randomPrime(110, seededRng(66)) ** 5n, /perfect power/, insecure],
      ['close factors', p * nextPrime(p + (1n << 40n)), /Fermat/, insecure],
    ];
    for (const [name, n, why, opts] of cases) {
      const { code, message } = refusal(() => new PublicKey(n, opts));
      expect(code, name).toBe('E_ARG');
      expect(message, name).toMatch(why);
      expect(errorCode(() => publicKeyFromJSON({ type: 'paillier-public-key', version: 1, n: base64url(n) }, opts)), name).toBe('E_ARG');
    }
  });

  it('refuses even, tiny, too small and too large n', () => {
    const n = keys.publicKey.n;
    for (const [bad, opts] of [
      [n + 1n, insecure],
      [1n, insecure],
      [-n, insecure],
      [n, {}], // 512 bits without allowInsecureTestKeys
      [(1n << 6145n) + 1n, {}],
    ] as const) {
      expect(errorCode(() => new PublicKey(bad, opts)), String(bad).slice(0, 20)).toBe('E_ARG');
    }
  });

  it('accepts valid moduli, also with factors of different sizes (paillier-bigint makes |p| = |q| + 1)', () => {
    expect(new PublicKey(keys.publicKey.n, insecure).n).toBe(keys.publicKey.n);
    const uneven = randomPrime(257, seededRng(67)) * randomPrime(256, seededRng(68));
    expect(new PublicKey(uneven, insecure).bits).toBe(513);
  });
});

describe('private key validation', () => {
  it('refuses p = 5, p = q, unbalanced, too close, even and composite factors, and p | q - 1', () => {
    const p = keys.privateKey.p;
    const q = keys.privateKey.q;
    // r = 2 t s + 1 prime for a prime s and t < 64 (sizes within 7 bits): s divides r - 1, so gcd(n, (s-1)(r-1)) = s
    let [s, r] = [0n, 0n];
    for (let seed = 100; r === 0n; seed++) {
      s = randomPrime(256, seededRng(seed));
      for (let t = 1n; t < 64n && r === 0n; t++) if (millerRabin(2n * t * s + 1n, 64, seededRng(69))) r = 2n * t * s + 1n;
    }
    const cases: Array<[string, bigint, bigint, RegExp]> = [
      ['p = 5', 5n, randomPrime(510, seededRng(70)), /may differ/],
      ['p = q', p, p, /distinct/],
      ['unbalanced', randomPrime(240, seededRng(71)), randomPrime(240 + MAX_FACTOR_BITS_DIFFERENCE + 2, seededRng(72)), /may differ/],
      ['too close', p, nextPrime(p + (1n << 100n)), /Fermat/],
      ['even', p, q + 1n, /odd prime/],
      ['small factor', p, q * 3n, /small factor|bits/],
      ['p | q - 1', s, r, /gcd/],
    ];
    for (const [name, a, b, why] of cases) {
      const { code, message } = refusal(() => new PrivateKey(a, b, insecure));
      expect(code, name).toBe('E_ARG');
      expect(message, name).toMatch(why);
    }
  });

  it('refuses a composite built to pass Miller-Rabin (w = (1 + 2k)(1 + 4k), strong liars near 1/4 of all bases)', () => {
    // Monier-Rabin: for odd k with 1 + 2k and 1 + 4k prime, about a quarter of all bases are strong liars of w
    const rng = seededRng(73);
    let k = (1n << 120n) + 1n;
    while (!(millerRabin(1n + 2n * k, 32, rng) && millerRabin(1n + 4n * k, 32, rng))) k += 2n;
    const w = (1n + 2n * k) * (1n + 4n * k);
    // one round passes it often (the audit's 2-round import check let 34 of 400 through)
    let passes = 0;
    for (let i = 0; i < 200; i++) if (millerRabin(w, 1, rng)) passes++;
    expect(passes).toBeGreaterThan(20);
    const partner = randomPrime(243, seededRng(74));
    const { code, message } = refusal(() => new PrivateKey(partner, w, insecure));
    expect(code).toBe('E_ARG');
    expect(message).toMatch(/q is not prime/);
    expect(IMPORTED_PRIME_ROUNDS).toBeGreaterThanOrEqual(64); // 4^-64 = 2^-128 for any composite
  });

  it('refuses inconsistent JSON and byte forms before testing primality', () => {
    const json = privateKeyToJSON(keys.privateKey);
    expect(errorCode(() => privateKeyFromJSON({ ...json, n: base64url(keys.publicKey.n + 2n) }, insecure))).toBe('E_ARG');
    expect(errorCode(() => privateKeyFromJSON({ ...json, p: base64url(5n) }, insecure))).toBe('E_ARG');
    expect(errorCode(() => privateKeyFromBytes(Uint8Array.of(1, 2, 0, 0, 0, 1, 5, 0, 0, 0, 1, 7), insecure))).toBe('E_ARG');
    expect(privateKeyFromJSON(json, insecure).publicKey.n).toBe(keys.publicKey.n);
  });
});

describe('encodings', () => {
  it('refuses non-canonical base64url: leading zero bytes and nonzero unused bits', () => {
    const n = keys.publicKey.n;
    const good = publicKeyToJSON(keys.publicKey);
    expect(publicKeyFromJSON({ ...good, n: base64url(n) }, insecure).n).toBe(n);
    for (const zeros of [1, 2, 3]) {
      const { code, message } = refusal(() => publicKeyFromJSON({ ...good, n: base64url(n, zeros) }, insecure));
      expect(code).toBe('E_ARG');
      expect(message).toMatch(/canonical/);
    }
    // 512-bit n: 64 bytes, 86 characters with 4 unused bits in the last one
    const last = good.n.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const flipped = good.n.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
    expect(errorCode(() => publicKeyFromJSON({ ...good, n: flipped }, insecure))).toBe('E_ARG');
    const c = keys.publicKey.encrypt(7n).value;
    expect(errorCode(() => ciphertextFromJSON(keys.publicKey, { type: 'paillier-ciphertext', version: 1, value: base64url(c, 1) }))).toBe('E_ARG');
  });

  it('refuses over-long fields and text by their length, before parsing them', () => {
    const good = publicKeyToJSON(keys.publicKey);
    const huge = 'A'.repeat(8 * 1024 * 1024);
    const field = refusal(() => publicKeyFromJSON({ ...good, n: huge }, insecure));
    expect(field.code).toBe('E_ARG');
    expect(field.message).toMatch(/longer than 1024 characters/);
    const text = refusal(() => publicKeyFromJSON(JSON.stringify({ ...good, n: huge }), insecure));
    expect(text.code).toBe('E_ARG');
    expect(text.message).toMatch(/longer than any valid form/);
    // a 6145-bit n fits the field limit only just not: 769 bytes
    expect(errorCode(() => publicKeyFromJSON({ ...good, n: base64url((1n << 6152n) - 1n) }))).toBe('E_ARG');
    const bytes = new Uint8Array(8 * 1024 * 1024);
    bytes.set([1, 1, 0x00, 0x7f, 0xff, 0xfa]);
    const big = refusal(() => publicKeyFromBytes(bytes, insecure));
    expect(big.code).toBe('E_ARG');
    expect(big.message).toMatch(/longer than any valid form/);
  });
});
