// Sweep rows of privkit/protect (the cryptographic half): containers sealed and opened whole and
// as streams, recipient and signing keys, and Fernet tokens. Keys are fresh per call (X25519 or
// P-256: cheap); sealing is random (fresh content key and nonces), so its variants need only succeed.
import * as pr from 'privkit/protect';
import { arrayOf, bool, int, obj, oneOf, opaque, str, typed, union, type Row, type SweepRow } from '../sweep-harness.js';

const entry = 'privkit/protect';

const constants: SweepRow[] = ['DEFAULT_CHUNK_SIZE', 'MAX_PBKDF2_ITERATIONS', 'MAX_RECIPIENTS', 'MIN_PBKDF2_ITERATIONS'].map((name) => ({ entry, export: name, constant: true }));

const tensorArrays = typed(['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array']);
const optionalTensor = typed(['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array'], { optional: true });
const recipientKeys = opaque('a recipient key pair: kind, publicKey and privateKey are checked together (tested in test/protect/keys.test.ts)');
const sealOpts = obj({ recipients: arrayOf(recipientKeys), chunkSize: int(16, 2 ** 26, { optional: true }) });
const manifestDomain = arrayOf(obj({ name: str(1024), dtype: oneOf(['float32', 'float64', 'int32', 'uint8']), shape: arrayOf(int(0, 2 ** 40)) })); // a stream can carry a tensor of any size

interface Sealed {
  key: pr.RecipientKeyPair;
  container: Uint8Array;
}
const sealedSetup = async (): Promise<Sealed> => {
  const key = await pr.generateRecipientKeys('ecdh');
  return { key, container: await pr.sealTensors({ w: Float32Array.of(1, 2, 3) }, { recipients: [key], chunkSize: 16 }) };
};
const openedValues = (m: Map<string, pr.OpenedTensor>) => [...m].map(([name, t]) => [name, t.dtype, t.shape, Array.from(t.data)]);

const FERNET_KEY = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const FERNET_TOKEN = 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==';

const rows: Row[] = [
  { entry, export: 'availableRecipientKinds', params: [], args: () => [], call: () => pr.availableRecipientKinds() },
  {
    entry,
    export: 'generateRecipientKeys',
    params: [
      { name: 'kind', domain: oneOf(['ecdh', 'x25519', 'p-256'], { optional: true }) },
      { name: 'opts', domain: obj({ extractable: bool({ optional: true }) }, { optional: true }) },
    ],
    args: () => ['p-256', { extractable: false }],
    call: ([k, o]) => pr.generateRecipientKeys(k, o),
    random: 'fresh key pairs',
  },
  {
    entry,
    export: 'generateSigningKeys',
    params: [{ name: 'opts', domain: obj({ extractable: bool({ optional: true }) }, { optional: true }) }],
    args: () => [{ extractable: false }],
    call: ([o]) => pr.generateSigningKeys(o),
    random: 'fresh key pairs',
  },
  {
    entry,
    export: 'sealTensors',
    params: [
      { name: 'tensors', domain: obj({ w: optionalTensor, b: obj({ data: tensorArrays, shape: arrayOf(int(0, 64), { optional: true }) }, { optional: true }) }) }, // any subset of tensors is a valid call
      { name: 'opts', domain: sealOpts },
    ],
    aliases: { tensors: ['tensors.w', 'tensors.b', 'tensors.b.data', 'tensors.b.shape'] },
    setup: () => pr.generateRecipientKeys('ecdh'),
    args: (key) => [{ w: Float32Array.of(1, 2), b: { data: Uint8Array.of(1, 2, 3, 4), shape: [2, 2] } }, { recipients: [key], chunkSize: 32 }],
    call: ([t, o]) => pr.sealTensors(t, o),
    random: 'a fresh content key and nonce base per container',
  },
  {
    entry,
    export: 'openTensors',
    params: [
      { name: 'container', domain: typed('Uint8Array') },
      { name: 'opts', domain: obj({ key: recipientKeys, verifyKey: typed('Uint8Array', { optional: true }) }) },
    ],
    setup: sealedSetup,
    args: (s: Sealed) => [s.container, { key: s.key }],
    call: ([c, o]) => pr.openTensors(c, o),
    observe: openedValues,
  },
  {
    entry,
    export: 'createSealStream',
    params: [
      { name: 'manifest', domain: manifestDomain },
      { name: 'opts', domain: sealOpts },
    ],
    setup: () => pr.generateRecipientKeys('ecdh'),
    args: (key) => [[{ name: 'x', dtype: 'uint8', shape: [3] }], { recipients: [key] }],
    call: ([m, o]) => pr.createSealStream(m, o),
    random: 'a fresh content key and nonce base per container',
  },
  {
    entry,
    export: 'createOpenStream',
    params: [{ name: 'opts', domain: obj({ key: recipientKeys, verifyKey: typed('Uint8Array', { optional: true }), release: oneOf(['verified', 'chunk'], { optional: true }) }) }],
    setup: () => pr.generateRecipientKeys('ecdh'),
    args: (key) => [{ key, release: 'chunk' }],
    call: ([o]) => pr.createOpenStream(o),
    random: 'a stream pair (compared by identity)',
  },
  { entry, export: 'generateFernetKey', params: [], args: () => [], call: () => pr.generateFernetKey(), random: 'fresh keys' },
  {
    entry,
    export: 'fernetEncrypt',
    params: [
      { name: 'key', domain: str(44) },
      { name: 'message', domain: union([typed('Uint8Array'), str()]) },
      { name: 'opts', domain: obj({ now: int(0, Number.MAX_SAFE_INTEGER, { optional: true }), iv: typed('Uint8Array', { optional: true }) }, { optional: true }) },
    ],
    args: () => [FERNET_KEY, 'hello', { now: 499162800, iv: Uint8Array.from({ length: 16 }, (_, i) => i) }],
    call: ([k, m, o]) => pr.fernetEncrypt(k, m, o),
    random: 'a random IV when opts.iv is left out',
  },
  {
    entry,
    export: 'fernetDecrypt',
    params: [
      { name: 'key', domain: str(44) },
      { name: 'token', domain: str() },
      { name: 'opts', domain: obj({ ttl: int(0, Number.MAX_SAFE_INTEGER, { optional: true }), now: int(0, Number.MAX_SAFE_INTEGER, { optional: true }) }, { optional: true }) },
    ],
    args: () => [FERNET_KEY, FERNET_TOKEN, { ttl: 60, now: 499162801 }],
    call: ([k, t, o]) => pr.fernetDecrypt(k, t, o),
    observe: (m: Uint8Array) => Array.from(m),
  },
];

export const protectRows: SweepRow[] = [...constants, ...rows];
