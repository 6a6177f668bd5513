// The Paillier family at 2048-bit keys: key generation, encryption and decryption by privkit
// (Montgomery arithmetic in WebAssembly; key generation also on the pool's workers) against
// paillier-bigint 3.4 (native BigInt) under the same key. paillier-bigint's asynchronous key
// generation starts its helper workers through `window`, which a Web Worker lacks, so its
// one-thread generateRandomKeysSync is timed. Every ciphertext is checked to decrypt to its message.
import * as pb from 'paillier-bigint';
import { generateKeyPair, type KeyPair } from 'privkit/paillier';
import type { BenchContext, Family, Group } from './family';
import { POOL_THREADS } from './protocol';

const KEY_BITS = 2048;
const OPS = { unit: 'ops/s', perCall: 1, scale: 1 };

interface Keys extends KeyPair {
  theirs: pb.KeyPair;
  /** A message below n and its encryptions by both libraries. */
  m: bigint;
  ours: bigint;
  their: bigint;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const t = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - t * r1, s1, s0 - t * s1];
  }
  return ((s0 % m) + m) % m;
}

/** One privkit key pair, the same key in paillier-bigint's form (its simple variant: g = n + 1, lambda = phi, mu = phi^-1 mod n), and a message. */
async function makeKeys(): Promise<Keys> {
  const pair = await generateKeyPair({ bits: KEY_BITS });
  const { n } = pair.publicKey;
  const { p, q } = pair.privateKey;
  const phi = (p - 1n) * (q - 1n);
  const publicKey = new pb.PublicKey(n, n + 1n);
  const theirs = { publicKey, privateKey: new pb.PrivateKey(phi, modInverse(phi, n), publicKey, p, q) };
  // A uniform 2,040-bit message (n has 2,048 bits).
  const m = BigInt(`0x${Array.from(crypto.getRandomValues(new Uint8Array(KEY_BITS / 8 - 1)), (b) => b.toString(16).padStart(2, '0')).join('')}`);
  return { ...pair, theirs, m, ours: pair.publicKey.encrypt(m).value, their: publicKey.encrypt(m) };
}

const keys = (ctx: BenchContext) => ctx.once('paillier/keys', makeKeys);
const SETUP = `import { generateKeyPair } from 'privkit/paillier';\nimport * as pb from 'paillier-bigint';\nconst { publicKey, privateKey } = await generateKeyPair({ bits: ${KEY_BITS} });\n// the same key as paillier-bigint's theirPublic, theirPrivate`;
const decryptsTo = (decrypted: bigint, m: bigint) => (decrypted === m ? 'decrypts to m' : 'WRONG: does not decrypt to m');

async function keygenGroup(ctx: BenchContext): Promise<Group> {
  await keys(ctx); // privkit's key generation code has run once
  const bitsOf = (n: bigint) => `n has ${n.toString(2).length} bits`;
  return {
    shape: `${KEY_BITS}-bit n (two random 1,024-bit primes; the time varies widely with where the primes fall)`,
    setup: "import { generateKeyPair } from 'privkit/paillier';\nimport * as pb from 'paillier-bigint';",
    baseline: 'paillier-bigint',
    // Each call is long and its time is random: no warm-up call, few samples.
    timing: { warmup: false, minSamples: ctx.mode === 'quick' ? 1 : 5, budgetMs: ctx.mode === 'quick' ? 0 : 5000 },
    tasks: [
      {
        id: 'privkit',
        label: 'privkit (1 thread)',
        kind: 'privkit',
        code: `await generateKeyPair({ bits: ${KEY_BITS} })`,
        run: () => generateKeyPair({ bits: KEY_BITS }),
        check: async () => bitsOf((await generateKeyPair({ bits: KEY_BITS })).publicKey.n),
      },
      {
        id: 'privkit-pool',
        label: `privkit on the pool (${POOL_THREADS} workers)`,
        kind: 'privkit',
        code: `await generateKeyPair({ bits: ${KEY_BITS}, pool })`,
        run: () => generateKeyPair({ bits: KEY_BITS, pool: ctx.pool }),
        check: async () => bitsOf((await generateKeyPair({ bits: KEY_BITS, pool: ctx.pool })).publicKey.n),
      },
      {
        id: 'paillier-bigint',
        label: 'paillier-bigint (1 thread)',
        kind: 'baseline',
        code: `pb.generateRandomKeysSync(${KEY_BITS}, true)`,
        run: () => pb.generateRandomKeysSync(KEY_BITS, true),
        check: () => bitsOf(pb.generateRandomKeysSync(KEY_BITS, true).publicKey.n),
      },
    ],
  };
}

async function encryptGroup(ctx: BenchContext): Promise<Group> {
  const { publicKey, privateKey, theirs, m } = await keys(ctx);
  return {
    shape: `${KEY_BITS}-bit key, a random message m < n, a fresh random r per call`,
    setup: SETUP,
    rate: OPS,
    baseline: 'paillier-bigint',
    tasks: [
      {
        id: 'privkit',
        label: 'privkit, public key',
        kind: 'privkit',
        code: 'publicKey.encrypt(m)',
        run: () => publicKey.encrypt(m),
        check: () => decryptsTo(privateKey.decrypt(publicKey.encrypt(m)), m),
      },
      {
        id: 'privkit-crt',
        label: "privkit, key owner's CRT",
        kind: 'privkit',
        code: 'privateKey.encrypt(m)',
        run: () => privateKey.encrypt(m),
        check: () => decryptsTo(privateKey.decrypt(privateKey.encrypt(m)), m),
      },
      {
        id: 'paillier-bigint',
        label: 'paillier-bigint, public key',
        kind: 'baseline',
        code: 'theirPublic.encrypt(m)',
        run: () => theirs.publicKey.encrypt(m),
        // privkit decrypts paillier-bigint's ciphertext: the two agree on the scheme.
        check: () => decryptsTo(privateKey.decrypt(theirs.publicKey.encrypt(m)), m),
      },
    ],
  };
}

async function decryptGroup(ctx: BenchContext): Promise<Group> {
  const { privateKey, theirs, m, ours, their } = await keys(ctx);
  return {
    shape: `${KEY_BITS}-bit key, the ciphertext of a random m < n`,
    setup: SETUP,
    rate: OPS,
    baseline: 'paillier-bigint',
    tasks: [
      { id: 'privkit', label: 'privkit (constant-time CRT, blinded)', kind: 'privkit', code: 'privateKey.decrypt(c)', run: () => privateKey.decrypt(ours), check: () => decryptsTo(privateKey.decrypt(ours), m) },
      {
        id: 'paillier-bigint',
        label: 'paillier-bigint',
        kind: 'baseline',
        code: 'theirPrivate.decrypt(c)',
        run: () => theirs.privateKey.decrypt(their),
        check: () => decryptsTo(theirs.privateKey.decrypt(their), m),
      },
    ],
  };
}

export const paillier: Family = {
  id: 'paillier',
  title: 'Paillier encryption',
  intro: `Additively homomorphic encryption for aggregation, at ${KEY_BITS}-bit keys: privkit against paillier-bigint, the most used JavaScript implementation.`,
  groups: [
    { id: 'keygen', title: 'Key generation', prepare: keygenGroup },
    { id: 'encrypt', title: 'Encrypt', prepare: encryptGroup },
    { id: 'decrypt', title: 'Decrypt', prepare: decryptGroup },
  ],
};
