// Sweep rows of privkit/paillier, on a 256-bit test key (allowInsecureTestKeys) so every call is fast.
import * as pl from 'privkit/paillier';
import {
  arrayOf,
  big,
  bool,
  fn,
  instance,
  int,
  num,
  obj,
  oneOf,
  opaque,
  positive,
  rngField,
  str,
  typed,
  union,
  type Row,
  type SweepRow,
} from '../sweep-harness.js';
import { seeded } from './fixtures.js';

const entry = 'privkit/paillier';

interface Env {
  publicKey: pl.PublicKey;
  privateKey: pl.PrivateKey;
}
let env: Env | undefined;
/** The shared 256-bit test key (made once, from a seeded generator). */
export async function paillierEnv(): Promise<Env> {
  env ??= await pl.generateKeyPair({ bits: 256, allowInsecureTestKeys: true, rng: seeded(3) });
  return env;
}
const keys = (): Env => {
  if (env === undefined) throw new Error('paillierEnv() not awaited');
  return env;
};

const testKeys = obj({ allowInsecureTestKeys: bool({ optional: true }) }, { optional: true });
const encryptOptions = obj({ rng: rngField() }, { optional: true });
const publicKey = { name: 'publicKey', domain: instance('PublicKey') };
const privateKey = { name: 'privateKey', domain: instance('PrivateKey') };
const ciphertextLike = union([instance('Ciphertext'), big(1n)]);
const layoutOptions = { scale: positive(), clip: positive(), maxAdditions: int(1) };
const packing = obj({ ...layoutOptions, rng: rngField() });
const encryptedVector = obj({
  publicKey: instance('PublicKey'),
  layout: opaque('the layout is compared field by field with the other vector or the key (E_ARG on any difference)'),
  length: int(0),
  count: int(1),
  ciphertexts: arrayOf(instance('Ciphertext')),
});
const vector = () => keys().publicKey.encryptVector(Float32Array.of(0.5, -1, 2), { scale: 16, clip: 4, maxAdditions: 4, rng: seeded() });
const plaintextOf = (c: pl.Ciphertext) => keys().privateKey.decrypt(c);

const constants: SweepRow[] = [
  'IMPORTED_PRIME_ROUNDS',
  'MAX_FACTOR_BITS_DIFFERENCE',
  'MAX_KEY_BITS',
  'MAX_PRECOMPUTE',
  'MIN_KEY_BITS',
  'MIN_TEST_KEY_BITS',
  'FIXED_POINT_BASE',
  'SERIALIZATION_VERSION',
  'MAX_EXPONENT_BITS',
  'MAX_MODULUS_BITS',
  'MAX_MILLER_RABIN_ROUNDS',
  'MAX_PRIME_BITS',
].map((name) => ({ entry, export: name, constant: true }));

const keyRows: Row[] = [
  { entry, export: 'ready', params: [], args: () => [], call: () => pl.ready() },
  {
    entry,
    export: 'generateKeyPair',
    params: [
      {
        name: 'options',
        domain: obj(
          {
            bits: int(128, 6144, { optional: true }),
            allowInsecureTestKeys: bool({ optional: true }),
            rng: rngField(),
            pool: instance('Pool', { optional: true }),
            signal: instance('AbortSignal', { optional: true }),
            onProgress: fn({ optional: true }),
          },
          { optional: true },
        ),
      },
    ],
    args: () => [{ bits: 128, allowInsecureTestKeys: true, rng: seeded(1), signal: new AbortController().signal, onProgress: () => undefined }],
    call: ([o]) => pl.generateKeyPair(o),
    observe: (k: pl.KeyPair) => k.publicKey.n,
    notApplicable: {
      'options=null': 'no options: a 3072-bit key (seconds of prime search)',
      'options=undefined': 'no options: a 3072-bit key (seconds of prime search)',
      'options=empty': 'no options: a 3072-bit key (seconds of prime search)',
      'options.bits=missing': 'the default: a 3072-bit key (seconds of prime search)',
      'options.bits=undefined': 'the default: a 3072-bit key (seconds of prime search)',
    },
  },
  {
    entry,
    export: 'PublicKey',
    label: 'new PublicKey',
    params: [{ name: 'n', domain: big(3n) }, { name: 'opts', domain: testKeys }],
    args: () => [keys().publicKey.n, { allowInsecureTestKeys: true }],
    call: ([n, o]) => new pl.PublicKey(n, o),
    observe: (k: pl.PublicKey) => k.n,
  },
  {
    entry,
    export: 'PrivateKey',
    label: 'new PrivateKey',
    params: [{ name: 'p', domain: big(3n) }, { name: 'q', domain: big(3n) }, { name: 'opts', domain: testKeys }],
    args: () => [keys().privateKey.p, keys().privateKey.q, { allowInsecureTestKeys: true }],
    call: ([p, q, o]) => new pl.PrivateKey(p, q, o),
    observe: (k: pl.PrivateKey) => k.publicKey.n,
  },
  {
    entry,
    export: 'Ciphertext',
    label: 'new Ciphertext',
    params: [publicKey, { name: 'value', domain: big(1n) }],
    args: () => [keys().publicKey, keys().publicKey.encrypt(5n, { rng: seeded() }).value],
    call: ([k, v]) => new pl.Ciphertext(k, v),
    observe: plaintextOf,
  },
];

const ciphertext = () => keys().publicKey.encrypt(7n, { rng: seeded(2) });
const pk = () => keys().publicKey;
const message = (name: string) => ({ name, domain: big() });
const publicKeyMethods: Row[] = [
  { label: 'encrypt', params: [message('m'), { name: 'opts', domain: encryptOptions }], args: () => [5n, { rng: seeded() }], call: ([m, o]: any[]) => pk().encrypt(m, o) },
  { label: 'rerandomize', params: [{ name: 'c', domain: ciphertextLike }, { name: 'opts', domain: encryptOptions }], args: () => [ciphertext(), { rng: seeded() }], call: ([c, o]: any[]) => pk().rerandomize(c, o) },
  { label: 'add', params: [{ name: 'c1', domain: ciphertextLike }, { name: 'c2', domain: ciphertextLike }], args: () => [ciphertext(), ciphertext()], call: ([a, b]: any[]) => pk().add(a, b) },
  { label: 'subtract', params: [{ name: 'c1', domain: ciphertextLike }, { name: 'c2', domain: ciphertextLike }], args: () => [ciphertext(), ciphertext()], call: ([a, b]: any[]) => pk().subtract(a, b) },
  { label: 'addPlain', params: [{ name: 'c', domain: ciphertextLike }, message('m')], args: () => [ciphertext(), 3n], call: ([c, m]: any[]) => pk().addPlain(c, m) },
  { label: 'multiplyPlain', params: [{ name: 'c', domain: ciphertextLike }, message('k')], args: () => [ciphertext(), -3n], call: ([c, k]: any[]) => pk().multiplyPlain(c, k) },
  { label: 'negate', params: [{ name: 'c', domain: ciphertextLike }], args: () => [ciphertext()], call: ([c]: any[]) => pk().negate(c) },
  { label: 'ciphertext', params: [{ name: 'value', domain: big(1n) }], args: () => [ciphertext().value], call: ([v]: any[]) => pk().ciphertext(v) },
].map((row): Row => ({ entry, export: 'PublicKey', ...row, label: `PublicKey#${row.label}`, observe: plaintextOf }));

const keyMethods: Row[] = [
  ...publicKeyMethods,
  {
    entry,
    export: 'PublicKey',
    label: 'PublicKey#equals',
    params: [{ name: 'other', domain: opaque('any value: equals answers false for anything but a key with the same n') }],
    args: () => [pk()],
    call: ([o]) => pk().equals(o),
  },
  {
    entry,
    export: 'PublicKey',
    label: 'PublicKey#precompute',
    setup: () => new pl.PublicKey(keys().publicKey.n, { allowInsecureTestKeys: true }),
    params: [{ name: 'count', domain: int(0, pl.MAX_PRECOMPUTE) }, { name: 'opts', domain: encryptOptions }],
    args: () => [2, { rng: seeded() }],
    call: ([n, o], k: pl.PublicKey) => k.precompute(n, o),
  },
  {
    entry,
    export: 'PublicKey',
    label: 'PublicKey#encryptVector',
    params: [{ name: 'x', domain: typed('Float32Array') }, { name: 'opts', domain: packing }],
    args: () => [Float32Array.of(0.5, -1, 2), { scale: 16, clip: 4, maxAdditions: 4, rng: seeded() }],
    call: ([x, o]) => pk().encryptVector(x, o),
    observe: (v: pl.EncryptedVector) => keys().privateKey.decryptVector(v),
  },
  {
    entry,
    export: 'PublicKey',
    label: 'PublicKey#addVectors',
    params: [{ name: 'a', domain: encryptedVector }, { name: 'b', domain: encryptedVector }],
    args: () => [vector(), vector()],
    call: ([a, b]) => pk().addVectors(a, b),
    observe: (v: pl.EncryptedVector) => keys().privateKey.decryptVector(v),
  },
  {
    entry,
    export: 'PrivateKey',
    label: 'PrivateKey#encrypt',
    params: [message('m'), { name: 'opts', domain: encryptOptions }],
    args: () => [5n, { rng: seeded() }],
    call: ([m, o]) => keys().privateKey.encrypt(m, o),
    observe: plaintextOf,
  },
  {
    entry,
    export: 'PrivateKey',
    label: 'PrivateKey#decrypt',
    params: [{ name: 'c', domain: ciphertextLike }],
    args: () => [ciphertext()],
    call: ([c]) => keys().privateKey.decrypt(c),
  },
  {
    entry,
    export: 'PrivateKey',
    label: 'PrivateKey#decryptVector',
    params: [{ name: 'v', domain: encryptedVector }],
    args: () => [vector()],
    call: ([v]) => keys().privateKey.decryptVector(v),
  },
];

const encodingRows: Row[] = [
  { entry, export: 'maxSignedInt', params: [publicKey], args: () => [pk()], call: ([k]) => pl.maxSignedInt(k) },
  { entry, export: 'encodeSigned', params: [publicKey, { name: 'x', domain: big() }], args: () => [pk(), -5n], call: ([k, x]) => pl.encodeSigned(k, x) },
  { entry, export: 'decodeSigned', params: [publicKey, { name: 'm', domain: big(0n) }], args: () => [pk(), pk().n - 5n], call: ([k, m]) => pl.decodeSigned(k, m) },
  {
    entry,
    export: 'encodeFixed',
    params: [publicKey, { name: 'x', domain: num() }, { name: 'exponent', domain: int(-1024, 1024) }],
    args: () => [pk(), -2.75, -3],
    call: ([k, x, e]) => pl.encodeFixed(k, x, e),
  },
  {
    entry,
    export: 'decodeFixed',
    params: [publicKey, { name: 'm', domain: big(0n) }, { name: 'exponent', domain: int(-1024, 1024) }],
    args: () => [pk(), pk().n - 44n, -1],
    call: ([k, m, e]) => pl.decodeFixed(k, m, e),
  },
];

const packingRows: Row[] = [
  { entry, export: 'packingLayout', params: [publicKey, { name: 'opts', domain: obj(layoutOptions) }], args: () => [pk(), { scale: 16, clip: 4, maxAdditions: 4 }], call: ([k, o]) => pl.packingLayout(k, o) },
  {
    entry,
    export: 'encryptVector',
    params: [publicKey, { name: 'x', domain: typed('Float32Array') }, { name: 'opts', domain: packing }],
    args: () => [pk(), Float32Array.of(0.5, -1, 2), { scale: 16, clip: 4, maxAdditions: 4, rng: seeded() }],
    call: ([k, x, o]) => pl.encryptVector(k, x, o),
    observe: (v: pl.EncryptedVector) => keys().privateKey.decryptVector(v),
  },
  {
    entry,
    export: 'addVectors',
    params: [publicKey, { name: 'a', domain: encryptedVector }, { name: 'b', domain: encryptedVector }],
    args: () => [pk(), vector(), vector()],
    call: ([k, a, b]) => pl.addVectors(k, a, b),
    observe: (v: pl.EncryptedVector) => keys().privateKey.decryptVector(v),
  },
  { entry, export: 'decryptVector', params: [privateKey, { name: 'v', domain: encryptedVector }], args: () => [keys().privateKey, vector()], call: ([k, v]) => pl.decryptVector(k, v) },
];

const json = (type: string, fields: string[]) =>
  union([str(), obj({ type: oneOf([type]), version: oneOf([1]), ...Object.fromEntries(fields.map((f) => [f, str(8192)])) })]);
const serializationRows: Row[] = [
  { entry, export: 'publicKeyToJSON', params: [publicKey], args: () => [pk()], call: ([k]) => pl.publicKeyToJSON(k) },
  { entry, export: 'publicKeyToBytes', params: [publicKey], args: () => [pk()], call: ([k]) => pl.publicKeyToBytes(k) },
  { entry, export: 'privateKeyToJSON', params: [privateKey], args: () => [keys().privateKey], call: ([k]) => pl.privateKeyToJSON(k) },
  { entry, export: 'privateKeyToBytes', params: [privateKey], args: () => [keys().privateKey], call: ([k]) => pl.privateKeyToBytes(k) },
  { entry, export: 'ciphertextToJSON', params: [{ name: 'c', domain: instance('Ciphertext') }], args: () => [ciphertext()], call: ([c]) => pl.ciphertextToJSON(c) },
  { entry, export: 'ciphertextToBytes', params: [{ name: 'c', domain: instance('Ciphertext') }], args: () => [ciphertext()], call: ([c]) => pl.ciphertextToBytes(c) },
  {
    entry,
    export: 'publicKeyFromJSON',
    params: [{ name: 'json', domain: json('paillier-public-key', ['n']) }, { name: 'opts', domain: testKeys }],
    args: () => [pl.publicKeyToJSON(pk()), { allowInsecureTestKeys: true }],
    call: ([j, o]) => pl.publicKeyFromJSON(j, o),
    observe: (k: pl.PublicKey) => k.n,
  },
  {
    entry,
    export: 'privateKeyFromJSON',
    params: [{ name: 'json', domain: json('paillier-private-key', ['n', 'p', 'q']) }, { name: 'opts', domain: testKeys }],
    args: () => [pl.privateKeyToJSON(keys().privateKey), { allowInsecureTestKeys: true }],
    call: ([j, o]) => pl.privateKeyFromJSON(j, o),
    observe: (k: pl.PrivateKey) => k.publicKey.n,
  },
  {
    entry,
    export: 'ciphertextFromJSON',
    params: [publicKey, { name: 'json', domain: json('paillier-ciphertext', ['value']) }],
    args: () => [pk(), pl.ciphertextToJSON(ciphertext())],
    call: ([k, j]) => pl.ciphertextFromJSON(k, j),
    observe: plaintextOf,
  },
  {
    entry,
    export: 'publicKeyFromBytes',
    params: [{ name: 'bytes', domain: typed('Uint8Array') }, { name: 'opts', domain: testKeys }],
    args: () => [pl.publicKeyToBytes(pk()), { allowInsecureTestKeys: true }],
    call: ([b, o]) => pl.publicKeyFromBytes(b, o),
    observe: (k: pl.PublicKey) => k.n,
  },
  {
    entry,
    export: 'privateKeyFromBytes',
    params: [{ name: 'bytes', domain: typed('Uint8Array') }, { name: 'opts', domain: testKeys }],
    args: () => [pl.privateKeyToBytes(keys().privateKey), { allowInsecureTestKeys: true }],
    call: ([b, o]) => pl.privateKeyFromBytes(b, o),
    observe: (k: pl.PrivateKey) => k.publicKey.n,
  },
  {
    entry,
    export: 'ciphertextFromBytes',
    params: [publicKey, { name: 'bytes', domain: typed('Uint8Array') }],
    args: () => [pk(), pl.ciphertextToBytes(ciphertext())],
    call: ([k, b]) => pl.ciphertextFromBytes(k, b),
    observe: plaintextOf,
  },
];

const MOD = (1n << 127n) - 1n;
const arithmeticRows: Row[] = [
  { entry, export: 'bitLength', params: [{ name: 'x', domain: big(0n) }], args: () => [12345n], call: ([x]) => pl.bitLength(x) },
  {
    entry,
    export: 'Modulus',
    label: 'new Modulus',
    params: [{ name: 'm', domain: big(3n, 1n << 12288n) }],
    args: () => [MOD],
    call: ([m]) => new pl.Modulus(m).m,
  },
  {
    entry,
    export: 'Modulus',
    label: 'Modulus#pow',
    setup: () => new pl.Modulus(MOD),
    params: [{ name: 'base', domain: big() }, { name: 'exponent', domain: big(0n) }],
    args: () => [3n, 12345678901234567890n],
    call: ([b, e], m: pl.Modulus) => m.pow(b, e),
  },
  {
    entry,
    export: 'Modulus',
    label: 'Modulus#powSecret',
    setup: () => new pl.Modulus(MOD),
    params: [{ name: 'base', domain: big() }, { name: 'exponent', domain: big(0n, (1n << 80n) - 1n) }, { name: 'exponentBits', domain: int(1, pl.MAX_EXPONENT_BITS) }],
    args: () => [3n, 12345678901234567890n, 80],
    call: ([b, e, bits], m: pl.Modulus) => m.powSecret(b, e, bits),
  },
  {
    entry,
    export: 'modPow',
    params: [{ name: 'base', domain: big() }, { name: 'exponent', domain: big(0n) }, { name: 'm', domain: union([big(3n, 1n << 12288n), instance('Modulus')]) }],
    args: () => [3n, 12345678901234567890n, MOD],
    call: ([b, e, m]) => pl.modPow(b, e, m),
  },
  {
    entry,
    export: 'powBigInt',
    params: [{ name: 'base', domain: big() }, { name: 'exponent', domain: big(0n, 1n << 4096n) }, { name: 'm', domain: big(1n, 1n << 12288n) }],
    args: () => [3n, 12345678901234567890n, MOD],
    call: ([b, e, m]) => pl.powBigInt(b, e, m),
  },
  {
    entry,
    export: 'millerRabin',
    params: [{ name: 'w', domain: big(5n, 1n << 12288n) }, { name: 'rounds', domain: int(1, pl.MAX_MILLER_RABIN_ROUNDS) }, { name: 'rng', domain: instance('Rng') }],
    args: () => [MOD, 8, seeded()],
    call: ([w, r, g]) => pl.millerRabin(w, r, g),
  },
  { entry, export: 'millerRabinRounds', params: [{ name: 'bits', domain: int(1, pl.MAX_MODULUS_BITS) }], args: () => [1024], call: ([b]) => pl.millerRabinRounds(b) },
  {
    entry,
    export: 'randomPrime',
    params: [{ name: 'bits', domain: int(16, 512) }, { name: 'rng', domain: instance('Rng') }],
    args: () => [64, seeded()],
    call: ([b, g]) => pl.randomPrime(b, g),
  },
];

export const paillierRows: SweepRow[] = [
  ...constants,
  ...[...keyRows, ...keyMethods, ...encodingRows, ...packingRows, ...serializationRows, ...arithmeticRows],
];
