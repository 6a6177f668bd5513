// Sweep rows of privkit/protect (data desensitization): pseudonyms, masking, generalization, the
// column policy, the anonymity report and the DP releases.
import * as protect from 'privkit/protect';
import { arrayOf, big, bool, instance, int, num, obj, oneOf, opaque, positive, rngField, str, typed, union, type Domain, type Row, type SweepRow } from '../sweep-harness.js';
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

export const protectRows: SweepRow[] = [...desensitization, ...releases];
