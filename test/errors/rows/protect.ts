// Sweep rows of privkit/protect: data desensitization (pseudonyms, masking, generalization, the
// column policy, the anonymity report and the DP releases), then the cryptographic half (containers
// sealed and opened whole and as streams, recipient and signing keys, and Fernet tokens). Keys are
// fresh per call (X25519 or P-256: cheap); sealing is random (fresh content key and nonces), so its
// variants need only succeed.
import * as protect from 'privkit/protect';
import { arrayOf, big, bool, instance, int, num, obj, oneOf, opaque, positive, probability, rngField, str, typed, union, type Domain, type Row, type SweepRow } from '../sweep-harness.js';
import { seeded } from './fixtures.js';

const entry = 'privkit/protect';
const key = () => new Uint8Array(32).fill(5);
const pseudonymizer = () => protect.createPseudonymizer({ key: key(), tokenBytes: 8 });
const cell = (...of: Domain[]): Domain => ({ ...union(of), optional: true, nullable: true });
const dateValue = () => union([str(), num(), instance('Date')]);
const units = ['year', 'month', 'day', 'hour'];

const desensitization: Row[] = [
  {
    entry,
    export: 'createPseudonymizer',
    params: [{ name: 'opts', domain: obj({ key: typed('Uint8Array'), tokenBytes: int(4, 32, { optional: true }) }) }],
    args: () => [{ key: key(), tokenBytes: 8 }],
    call: ([o]) => protect.createPseudonymizer(o),
    observe: (p: protect.Pseudonymizer) => p.tokenBytes,
  },
  {
    entry,
    export: 'createPseudonymizer',
    label: 'Pseudonymizer#token',
    setup: pseudonymizer,
    params: [{ name: 'value', domain: union([str(), num(), big()]) }],
    args: () => ['alice'],
    call: ([v], p: protect.Pseudonymizer) => p.token(v),
  },
  {
    entry,
    export: 'createPseudonymizer',
    label: 'Pseudonymizer#tokens',
    setup: pseudonymizer,
    params: [{ name: 'values', domain: arrayOf(union([str(), num(), big()])) }],
    args: () => [['a', 'b', 'a']],
    call: ([v], p: protect.Pseudonymizer) => p.tokens(v),
  },
  {
    entry,
    export: 'pseudonymCollisionProbability',
    params: [
      { name: 'distinctValues', domain: int() },
      { name: 'tokenBits', domain: int(1, 256) },
    ],
    args: () => [100_000, 40],
    call: ([n, b]) => protect.pseudonymCollisionProbability(n, b),
  },
  {
    entry,
    export: 'maskString',
    params: [
      { name: 'value', domain: str() },
      { name: 'opts', domain: obj({ keepFirst: int(0, 2 ** 20, { optional: true }), keepLast: int(0, 2 ** 20, { optional: true }), maskChar: str(1, { optional: true }) }, { optional: true }) },
    ],
    args: () => ['secret value', { keepFirst: 1, keepLast: 2, maskChar: '#' }],
    call: ([v, o]) => protect.maskString(v, o),
  },
  {
    entry,
    export: 'maskEmail',
    params: [
      { name: 'value', domain: str() },
      { name: 'opts', domain: obj({ keepFirst: int(0, 64, { optional: true }) }, { optional: true }) },
    ],
    args: () => ['jane.doe@example.com', { keepFirst: 2 }],
    call: ([v, o]) => protect.maskEmail(v, o),
  },
  {
    entry,
    export: 'maskPhone',
    params: [
      { name: 'value', domain: str() },
      { name: 'opts', domain: obj({ keepLast: int(0, 8, { optional: true }) }, { optional: true }) },
    ],
    args: () => ['+1 (555) 123-4567', { keepLast: 3 }],
    call: ([v, o]) => protect.maskPhone(v, o),
  },
  {
    entry,
    export: 'truncateDate',
    params: [
      { name: 'value', domain: dateValue() },
      { name: 'unit', domain: oneOf(units) },
    ],
    args: () => ['1984-07-21T09:30:00Z', 'month'],
    call: ([v, u]) => protect.truncateDate(v, u),
  },
  {
    entry,
    export: 'bucketNumber',
    params: [
      { name: 'value', domain: num() },
      { name: 'opts', domain: obj({ width: positive(), origin: num({ optional: true }) }) },
    ],
    args: () => [37, { width: 10, origin: 5 }],
    call: ([v, o]) => protect.bucketNumber(v, o),
  },
  {
    entry,
    export: 'topCode',
    params: [
      { name: 'value', domain: num({ infinite: true }) },
      // no bound at all is refused ("give lower, upper or both"), so an empty or missing options object may be
      { name: 'opts', domain: obj({ lower: num({ optional: true }), upper: num({ optional: true }) }, { optional: true }) },
    ],
    args: () => [104, { lower: 0, upper: 90 }],
    call: ([v, o]) => protect.topCode(v, o),
  },
  {
    entry,
    export: 'desensitize',
    setup: pseudonymizer,
    params: [
      {
        name: 'records',
        domain: arrayOf(
          obj({
            id: cell(str(), num(), big()),
            email: cell(str()),
            age: cell(num()),
            born: cell(str(), num(), instance('Date')),
            note: { ...opaque('a suppressed column: any value'), optional: true },
          }),
        ),
      },
      {
        name: 'policy',
        domain: obj({
          id: obj({ kind: oneOf(['pseudonymize']), pseudonymizer: instance('Pseudonymizer') }),
          email: obj({ kind: oneOf(['email']), keepFirst: int(0, 64, { optional: true }) }),
          age: obj({ kind: oneOf(['bucket']), width: positive(), origin: num({ optional: true }) }),
          born: obj({ kind: oneOf(['date']), unit: oneOf(units) }),
          note: obj({ kind: oneOf(['suppress']) }),
        }),
      },
      { name: 'opts', domain: obj({ unknownColumns: oneOf(['refuse', 'drop', 'keep'], { optional: true }) }, { optional: true }) },
    ],
    args: (p: protect.Pseudonymizer) => [
      [
        { id: 'u-1', email: 'ann@example.org', age: 34, born: '1990-05-17', note: 'x' },
        { id: 7, email: null, age: 61, born: new Date(0), note: 1 },
      ],
      {
        id: { kind: 'pseudonymize', pseudonymizer: p },
        email: { kind: 'email', keepFirst: 1 },
        age: { kind: 'bucket', width: 10, origin: 0 },
        born: { kind: 'date', unit: 'year' },
        note: { kind: 'suppress' },
      },
      { unknownColumns: 'refuse' },
    ],
    call: ([r, p, o]) => protect.desensitize(r, p, o),
  },
  {
    entry,
    export: 'anonymityReport',
    params: [
      { name: 'records', domain: arrayOf(obj({ zip: cell(str(), num({ infinite: true }), bool(), big(), instance('Date')), disease: cell(str(), num({ infinite: true }), bool(), big(), instance('Date')) })) },
      {
        name: 'opts',
        domain: obj({ quasiIdentifiers: arrayOf(str()), k: int(1), sensitive: str(undefined, { optional: true }), l: int(1, Number.MAX_SAFE_INTEGER, { optional: true }) }),
      },
    ],
    args: () => [
      [
        { zip: '021**', disease: 'flu' },
        { zip: '021**', disease: 'asthma' },
        { zip: '100**', disease: 'flu' },
      ],
      { quasiIdentifiers: ['zip'], k: 2, sensitive: 'disease', l: 2 },
    ],
    call: ([r, o]) => protect.anonymityReport(r, o),
  },
];

const domainValues = (...values: unknown[]) => values;
const anyValue: Domain = { ...opaque('a value outside the domain is not counted'), optional: true };
const releases: Row[] = [
  {
    entry,
    export: 'dpContingencyTable',
    params: [
      { name: 'records', domain: arrayOf(obj({ sex: anyValue, smoker: anyValue })) },
      {
        name: 'opts',
        domain: obj({
          columns: arrayOf(str()),
          domains: obj({ sex: arrayOf(cell(str(), num({ infinite: true }), bool())), smoker: arrayOf(cell(str(), num({ infinite: true }), bool())) }),
          noise: oneOf(['laplace', 'gaussian'], { optional: true }),
          epsilon: positive({ optional: true }),
          rho: positive({ optional: true }),
          rng: rngField(),
        }),
      },
    ],
    args: () => [
      [
        { sex: 'f', smoker: true },
        { sex: 'm', smoker: false },
      ],
      { columns: ['sex', 'smoker'], domains: { sex: domainValues('f', 'm', null), smoker: domainValues(true, false) }, noise: 'laplace', epsilon: 1, rng: seeded() },
    ],
    call: ([r, o]) => protect.dpContingencyTable(r, o),
  },
  {
    entry,
    export: 'dpContingencyTable',
    label: 'dpContingencyTable gaussian (epsilon, delta)',
    aliases: { 'opts.noise': ['delta'] }, // without noise: Laplace, to which delta does not apply
    params: [
      { name: 'records', domain: arrayOf(obj({ sex: anyValue })) },
      {
        name: 'opts',
        domain: obj({
          columns: arrayOf(str()),
          domains: obj({ sex: arrayOf(cell(str(), num({ infinite: true }), bool())) }),
          noise: oneOf(['gaussian']),
          epsilon: positive(),
          delta: probability(),
          rng: rngField(),
        }),
      },
    ],
    args: () => [[{ sex: 'f' }, { sex: 'm' }], { columns: ['sex'], domains: { sex: domainValues('f', 'm') }, noise: 'gaussian', epsilon: 1, delta: 1e-5, rng: seeded() }],
    call: ([r, o]) => protect.dpContingencyTable(r, o),
  },
  {
    entry,
    export: 'dpContingencyTable',
    label: 'dpContingencyTable privacyUnit',
    params: [
      { name: 'records', domain: arrayOf(obj({ person: union([str(), num({ infinite: true }), bool()]), sex: anyValue })) },
      {
        name: 'opts',
        domain: obj({
          columns: arrayOf(str()),
          domains: obj({ sex: arrayOf(cell(str(), num({ infinite: true }), bool())) }),
          epsilon: positive(),
          privacyUnit: str(undefined, { optional: true }),
          maxRecordsPerUnit: int(1, 2 ** 20, { optional: true }),
          rng: rngField(),
        }),
      },
    ],
    args: () => [
      [
        { person: 'p1', sex: 'f' },
        { person: 'p1', sex: 'f' },
        { person: 2, sex: 'm' },
      ],
      { columns: ['sex'], domains: { sex: domainValues('f', 'm') }, epsilon: 1, privacyUnit: 'person', maxRecordsPerUnit: 2, rng: seeded() },
    ],
    call: ([r, o]) => protect.dpContingencyTable(r, o),
  },
  {
    entry,
    export: 'dpQuantiles',
    params: [
      { name: 'values', domain: arrayOf(num({ infinite: true }), { arrayLike: true }) },
      {
        name: 'opts',
        domain: obj({
          quantiles: arrayOf(num({ min: 0, max: 1 }), { arrayLike: true }),
          lower: num(),
          upper: num(),
          epsilon: positive(),
          steps: int(1, 2 ** 32, { optional: true }),
          rng: rngField(),
        }),
      },
    ],
    args: () => [[3, 1, 4, 1, 5, 9, 2, 6], { quantiles: [0.25, 0.5], lower: 0, upper: 10, epsilon: 1, steps: 100, rng: seeded() }],
    call: ([v, o]) => protect.dpQuantiles(v, o),
  },
];

const constants: SweepRow[] = ['DEFAULT_CHUNK_SIZE', 'MAX_PBKDF2_ITERATIONS', 'MAX_RECIPIENTS', 'MIN_PBKDF2_ITERATIONS'].map((name) => ({ entry, export: name, constant: true }));

const tensorArrays = typed(['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array']);
const optionalTensor = typed(['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array'], { optional: true });
const recipientKeys = opaque('a recipient key pair: kind, publicKey and privateKey are checked together (tested in test/protect/keys.test.ts)');
const sealOpts = obj({ recipients: arrayOf(recipientKeys), chunkSize: int(16, 2 ** 26, { optional: true }) });
const manifestDomain = arrayOf(obj({ name: str(1024), dtype: oneOf(['float32', 'float64', 'int32', 'uint8']), shape: arrayOf(int(0, 2 ** 40)) })); // a stream can carry a tensor of any size

interface Sealed {
  key: protect.RecipientKeyPair;
  container: Uint8Array;
}
const sealedSetup = async (): Promise<Sealed> => {
  const key = await protect.generateRecipientKeys('ecdh');
  return { key, container: await protect.sealTensors({ w: Float32Array.of(1, 2, 3) }, { recipients: [key], chunkSize: 16 }) };
};
const openedValues = (m: Map<string, protect.OpenedTensor>) => [...m].map(([name, t]) => [name, t.dtype, t.shape, Array.from(t.data)]);

const FERNET_KEY = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const FERNET_TOKEN = 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==';

const containers: Row[] = [
  { entry, export: 'availableRecipientKinds', params: [], args: () => [], call: () => protect.availableRecipientKinds() },
  {
    entry,
    export: 'generateRecipientKeys',
    params: [
      { name: 'kind', domain: oneOf(['ecdh', 'x25519', 'p-256'], { optional: true }) },
      { name: 'opts', domain: obj({ extractable: bool({ optional: true }) }, { optional: true }) },
    ],
    args: () => ['p-256', { extractable: false }],
    call: ([k, o]) => protect.generateRecipientKeys(k, o),
    random: 'fresh key pairs',
  },
  {
    entry,
    export: 'generateSigningKeys',
    params: [{ name: 'opts', domain: obj({ extractable: bool({ optional: true }) }, { optional: true }) }],
    args: () => [{ extractable: false }],
    call: ([o]) => protect.generateSigningKeys(o),
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
    setup: () => protect.generateRecipientKeys('ecdh'),
    args: (key) => [{ w: Float32Array.of(1, 2), b: { data: Uint8Array.of(1, 2, 3, 4), shape: [2, 2] } }, { recipients: [key], chunkSize: 32 }],
    call: ([t, o]) => protect.sealTensors(t, o),
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
    call: ([c, o]) => protect.openTensors(c, o),
    observe: openedValues,
  },
  {
    entry,
    export: 'createSealStream',
    params: [
      { name: 'manifest', domain: manifestDomain },
      { name: 'opts', domain: sealOpts },
    ],
    setup: () => protect.generateRecipientKeys('ecdh'),
    args: (key) => [[{ name: 'x', dtype: 'uint8', shape: [3] }], { recipients: [key] }],
    call: ([m, o]) => protect.createSealStream(m, o),
    random: 'a fresh content key and nonce base per container',
  },
  {
    entry,
    export: 'createOpenStream',
    params: [{ name: 'opts', domain: obj({ key: recipientKeys, verifyKey: typed('Uint8Array', { optional: true }), release: oneOf(['verified', 'chunk'], { optional: true }) }) }],
    setup: () => protect.generateRecipientKeys('ecdh'),
    args: (key) => [{ key, release: 'chunk' }],
    call: ([o]) => protect.createOpenStream(o),
    random: 'a stream pair (compared by identity)',
  },
  { entry, export: 'generateFernetKey', params: [], args: () => [], call: () => protect.generateFernetKey(), random: 'fresh keys' },
  {
    entry,
    export: 'fernetEncrypt',
    params: [
      { name: 'key', domain: str(44) },
      { name: 'message', domain: union([typed('Uint8Array'), str()]) },
      { name: 'opts', domain: obj({ now: int(0, Number.MAX_SAFE_INTEGER, { optional: true }), iv: typed('Uint8Array', { optional: true }) }, { optional: true }) },
    ],
    args: () => [FERNET_KEY, 'hello', { now: 499162800, iv: Uint8Array.from({ length: 16 }, (_, i) => i) }],
    call: ([k, m, o]) => protect.fernetEncrypt(k, m, o),
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
    call: ([k, t, o]) => protect.fernetDecrypt(k, t, o),
    observe: (m: Uint8Array) => Array.from(m),
  },
];

export const protectRows: SweepRow[] = [...desensitization, ...releases, ...constants, ...containers];
