// Interop with paillier-bigint 3.4.3 (g = n + 1, its "simple variant"): keys converted both ways,
// ciphertexts made by either library decrypt in the other, and homomorphic identities hold across
// the two (sums, scalar products, negatives).
import fc from 'fast-check';
import * as pb from 'paillier-bigint';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from 'privkit/dp';
import { generateKeyPair, PrivateKey, PublicKey, ready, type KeyPair } from 'privkit/paillier';

const SEED = 77;
let ours: KeyPair;
let oursAsTheirs: pb.KeyPair;
let theirs: pb.KeyPair;
let theirsAsOurs: KeyPair;

/** modular inverse by extended Euclid (test helper). */
function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const t = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - t * r1, s1, s0 - t * s1];
  }
  return ((s0 % m) + m) % m;
}

/** A privkit key pair as paillier-bigint keys: g = n + 1, lambda = phi(n), mu = phi^-1 mod n. */
function toPaillierBigint({ publicKey, privateKey }: KeyPair): pb.KeyPair {
  const { p, q } = privateKey;
  const n = publicKey.n;
  const phi = (p - 1n) * (q - 1n);
  const pub = new pb.PublicKey(n, n + 1n);
  return { publicKey: pub, privateKey: new pb.PrivateKey(phi, inverse(phi, n), pub, p, q) };
}

/** A paillier-bigint simple-variant key pair as privkit keys, from its prime factors. */
function fromPaillierBigint(keys: pb.KeyPair): KeyPair {
  const { _p: p, _q: q } = keys.privateKey as unknown as { _p: bigint; _q: bigint };
  const privateKey = new PrivateKey(p, q, { allowInsecureTestKeys: true });
  return { publicKey: privateKey.publicKey, privateKey };
}

beforeAll(async () => {
  await ready();
  ours = await generateKeyPair({ bits: 768, allowInsecureTestKeys: true, rng: createRng({ seed: new Uint8Array(32).fill(11) }) });
  oursAsTheirs = toPaillierBigint(ours);
  theirs = pb.generateRandomKeysSync(768, true);
  theirsAsOurs = fromPaillierBigint(theirs);
});

describe('interop with paillier-bigint', () => {
  it('converted keys describe the same n and g', () => {
    expect(oursAsTheirs.publicKey.n).toBe(ours.publicKey.n);
    expect(theirsAsOurs.publicKey.n).toBe(theirs.publicKey.n);
    expect(theirs.publicKey.g).toBe(theirsAsOurs.publicKey.g);
  });

  it('privkit ciphertexts decrypt in paillier-bigint and the reverse, under both key pairs', () => {
    for (const [a, b] of [
      [ours, oursAsTheirs],
      [theirsAsOurs, theirs],
    ] as const) {
      const n = a.publicKey.n;
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: n - 1n }), (m) => {
          expect(b.privateKey.decrypt(a.publicKey.encrypt(m).value)).toBe(m);
          expect(a.privateKey.decrypt(b.publicKey.encrypt(m))).toBe(m);
        }),
        { seed: SEED, numRuns: 15 },
      );
    }
  });

  it('privkit private-key (CRT) ciphertexts decrypt in paillier-bigint, under both key pairs', () => {
    for (const [a, b] of [
      [ours, oursAsTheirs],
      [theirsAsOurs, theirs],
    ] as const) {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: a.publicKey.n - 1n }), (m) => {
          expect(b.privateKey.decrypt(a.privateKey.encrypt(m).value)).toBe(m);
        }),
        { seed: SEED, numRuns: 15 },
      );
    }
  });

  it('a paillier-bigint public key imported by n encrypts for the paillier-bigint private key', () => {
    const imported = new PublicKey(theirs.publicKey.n, { allowInsecureTestKeys: true });
    expect(theirs.privateKey.decrypt(imported.encrypt(31337n).value)).toBe(31337n);
  });

  it('homomorphic identities across the libraries: sums, scalar products, negatives', () => {
    const { publicKey: pk, privateKey: sk } = theirsAsOurs;
    const { publicKey: tpk, privateKey: tsk } = theirs;
    const n = pk.n;
    const mod = (x: bigint) => ((x % n) + n) % n;
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: n - 1n }), fc.bigInt({ min: 0n, max: n - 1n }), fc.bigInt({ min: 1n, max: 1n << 80n }), (a, b, k) => {
        const mine = pk.encrypt(a);
        const yours = tpk.encrypt(b);
        // Dec(Enc(a) + Enc(b)) = a + b, each library decrypting the other's sum
        expect(tsk.decrypt(pk.add(mine, yours).value)).toBe(mod(a + b));
        expect(sk.decrypt(tpk.addition(mine.value, yours))).toBe(mod(a + b));
        // Dec(k * Enc(a)) = k a
        expect(tsk.decrypt(pk.multiplyPlain(yours, k).value)).toBe(mod(k * b));
        expect(sk.decrypt(tpk.multiply(mine.value, k))).toBe(mod(k * a));
        // negatives: Enc(-a), Enc(b - a), and a negative scalar
        expect(tsk.decrypt(pk.negate(mine).value)).toBe(mod(-a));
        expect(tsk.decrypt(pk.subtract(yours, mine).value)).toBe(mod(b - a));
        expect(tsk.decrypt(pk.multiplyPlain(yours, -k).value)).toBe(mod(-k * b));
        expect(sk.decrypt(tpk.plaintextAddition(mine.value, n - 1n))).toBe(mod(a - 1n));
      }),
      { seed: SEED, numRuns: 8 },
    );
  });
});
