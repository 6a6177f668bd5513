// Desensitization: pseudonyms checked against node:crypto's HMAC (an independent implementation), the
// birthday probability against the exact product, masking, generalization and the column policy.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import {
  bucketNumber,
  createPseudonymizer,
  desensitize,
  maskEmail,
  maskPhone,
  maskString,
  pseudonymCollisionProbability,
  topCode,
  truncateDate,
} from 'privkit/protect';
import { expectPrivkitError } from '../support/helpers.js';

/** mpmath values of the exact product at sizes no loop reaches (test/vectors/collision-vectors.py). */
const vectors = JSON.parse(readFileSync(new URL('../vectors/collision.json', import.meta.url), 'utf8')) as {
  cases: { distinctValues: number; tokenBits: number; probability: number }[];
};

const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);

async function rejection(promise: Promise<unknown>): Promise<PrivkitError> {
  const error = await promise.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PrivkitError);
  return error as PrivkitError;
}

describe('createPseudonymizer', () => {
  it('gives HMAC-SHA-256 truncated to tokenBytes, in hex (checked with node:crypto)', async () => {
    for (const tokenBytes of [4, 9, 16, 32]) {
      const ids = await createPseudonymizer({ key, tokenBytes });
      for (const value of ['alice', '', 'Zoë 🐳', 'x'.repeat(1000)]) {
        const want = createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 2 * tokenBytes);
        expect(await ids.token(value)).toBe(want);
      }
    }
  });

  it('is stable per key, differs between keys, and canonicalizes numbers and bigints with String()', async () => {
    const a = await createPseudonymizer({ key });
    const again = await createPseudonymizer({ key: key.slice() });
    const other = await createPseudonymizer({ key: key.map((b) => b ^ 1) });
    expect(await a.token('bob')).toBe(await again.token('bob'));
    expect(await a.token('bob')).not.toBe(await other.token('bob'));
    expect(await a.token(123)).toBe(await a.token('123'));
    expect(await a.token(123n)).toBe(await a.token('123'));
    expect((await a.token('bob')).length).toBe(32);
    const values = ['a', 'b', 'a', 'c', 'b'];
    const tokens = await a.tokens(values);
    expect(tokens).toEqual(await Promise.all(values.map((v) => a.token(v))));
    expect(a.tokenBytes).toBe(16);
  });

  it('does not keep a reference to the caller key', async () => {
    const k = key.slice();
    const ids = await createPseudonymizer({ key: k });
    const before = await ids.token('v');
    k.fill(0);
    expect(await ids.token('v')).toBe(before);
  });

  it('refuses bad keys, lengths and values', async () => {
    expect((await rejection(createPseudonymizer({ key: new Uint8Array(31) }))).argument).toBe('key');
    expect((await rejection(createPseudonymizer({ key: new Uint8Array(1025) }))).argument).toBe('key');
    expect((await rejection(createPseudonymizer({} as never))).argument).toBe('key');
    expect((await rejection(createPseudonymizer({ key, tokenBytes: 3 }))).argument).toBe('tokenBytes');
    expect((await rejection(createPseudonymizer({ key, tokenBytes: 33 }))).argument).toBe('tokenBytes');
    const ids = await createPseudonymizer({ key });
    expect((await rejection(ids.token(NaN))).argument).toBe('value');
    expect((await rejection(ids.token({} as never))).argument).toBe('value');
    const bad = await rejection(ids.tokens(['a', null as never]));
    expect([bad.argument, bad.index]).toEqual(['values', 1]);
  });
});

/** 1 - prod_{i<n} (1 - i/N) term by term with compensated summation of the logs (the reference). */
function exactCollision(n: number, bits: number): number {
  const N = 2 ** bits;
  let sum = 0;
  let carry = 0;
  for (let i = 1; i < n; i++) {
    const y = Math.log1p(-i / N) - carry;
    const t = sum + y;
    carry = t - sum - y;
    sum = t;
  }
  return -Math.expm1(sum);
}

describe('pseudonymCollisionProbability', () => {
  it('matches small cases computed by hand', () => {
    expect(pseudonymCollisionProbability(0, 8)).toEqual({ probability: 0, bound: 0 });
    expect(pseudonymCollisionProbability(1, 8)).toEqual({ probability: 0, bound: 0 });
    expect(pseudonymCollisionProbability(2, 1).probability).toBe(0.5);
    expect(pseudonymCollisionProbability(3, 1)).toEqual({ probability: 1, bound: 1 });
    expect(pseudonymCollisionProbability(3, 2).probability).toBeCloseTo(5 / 8, 15); // 1 - 1 x 3/4 x 2/4
    expect(pseudonymCollisionProbability(3, 2).bound).toBe(0.75);
  });

  it('matches the exact product on both paths (term by term, and Euler-Maclaurin beyond 2^16 values)', () => {
    for (const [n, bits] of [
      [1000, 20],
      [65536, 32],
      [65537, 32],
      [100_000, 32],
      [300_000, 40],
      [2_000_000, 48],
      [2_000_000, 64],
      [70_000, 17], // t = n / N > 1/2 on the asymptotic path: 1
      [90_000, 33],
    ] as const) {
      const exact = exactCollision(n, bits);
      const got = pseudonymCollisionProbability(n, bits);
      expect(Math.abs(got.probability - exact), `n=${n} bits=${bits}: ${got.probability} vs ${exact}`).toBeLessThanOrEqual(1e-9 * exact + 1e-300);
      expect(got.bound).toBeGreaterThanOrEqual(got.probability);
    }
  });

  it('matches mpmath (120 digits, log-gamma) up to 2^52 values', () => {
    expect(vectors.cases.length).toBeGreaterThanOrEqual(10);
    for (const c of vectors.cases) {
      const got = pseudonymCollisionProbability(c.distinctValues, c.tokenBits).probability;
      expect(Math.abs(got - c.probability) / c.probability, `n=${c.distinctValues} bits=${c.tokenBits}: ${got} vs ${c.probability}`).toBeLessThan(1e-12);
    }
  });

  it('is close to the union bound while small, and finite for huge token spaces', () => {
    const { probability, bound } = pseudonymCollisionProbability(1_000_000, 64);
    expect(bound).toBeCloseTo((1e6 * (1e6 - 1)) / 2 ** 65, 20);
    expect(Math.abs(probability - bound) / bound).toBeLessThan(1e-6);
    const huge = pseudonymCollisionProbability(2 ** 40, 256);
    expect(huge.probability).toBeGreaterThan(0);
    expect(Math.abs(huge.probability - huge.bound) / huge.bound).toBeLessThan(1e-12);
  });

  it('refuses bad arguments', () => {
    expectPrivkitError(() => pseudonymCollisionProbability(-1, 8), 'E_ARG', 'distinctValues');
    expectPrivkitError(() => pseudonymCollisionProbability(1.5, 8), 'E_ARG', 'distinctValues');
    expectPrivkitError(() => pseudonymCollisionProbability(10, 0), 'E_ARG', 'tokenBits');
    expectPrivkitError(() => pseudonymCollisionProbability(10, 257), 'E_ARG', 'tokenBits');
  });
});

describe('masking and generalization', () => {
  it('masks strings by code points, whole when too short to keep anything hidden', () => {
    expect(maskString('4111111111111111', { keepLast: 4 })).toBe('************1111');
    expect(maskString('secret', { keepFirst: 1, keepLast: 1, maskChar: '#' })).toBe('s####t');
    expect(maskString('ab', { keepFirst: 1, keepLast: 1 })).toBe('**');
    expect(maskString('🐳🐳🐳x', { keepFirst: 1 })).toBe('🐳***');
    expect(maskString('')).toBe('');
    expectPrivkitError(() => maskString('x', { maskChar: '**' }), 'E_ARG', 'maskChar');
    expectPrivkitError(() => maskString(5 as never), 'E_ARG', 'value');
    expectPrivkitError(() => maskString('x', { keepFirst: -1 }), 'E_ARG', 'keepFirst');
  });

  it('masks emails and phone numbers', () => {
    expect(maskEmail('jane.doe@example.com')).toBe('j*******@example.com');
    expect(maskEmail('jd@example.com', { keepFirst: 0 })).toBe('**@example.com');
    expect(maskEmail('"a@b"@example.com')).toBe('"****@example.com');
    for (const bad of ['plain', '@example.com', 'jane@', 'ja ne@example.com']) expectPrivkitError(() => maskEmail(bad), 'E_ARG', 'value');
    expect(maskPhone('+1 (555) 123-4567')).toBe('+* (***) ***-4567');
    expect(maskPhone('0612345678', { keepLast: 2 })).toBe('********78');
    for (const bad of ['555-CALL-NOW', '1234', 'tel:1234567']) expectPrivkitError(() => maskPhone(bad), 'E_ARG', 'value');
  });

  it('generalizes numbers and dates, and top/bottom-codes', () => {
    expect(bucketNumber(37, { width: 10 })).toBe('[30, 40)');
    expect(bucketNumber(-1, { width: 5 })).toBe('[-5, 0)');
    expect(bucketNumber(17, { width: 5, origin: 3 })).toBe('[13, 18)');
    expect(topCode(104, { upper: 90 })).toBe(90);
    expect(topCode(-3, { lower: 0, upper: 90 })).toBe(0);
    expect(topCode(50, { lower: 0, upper: 90 })).toBe(50);
    expect(truncateDate('1984-07-21T09:30:00Z', 'year')).toBe('1984');
    expect(truncateDate(new Date(Date.UTC(2024, 2, 5, 14, 59)), 'hour')).toBe('2024-03-05T14');
    expect(truncateDate(0, 'day')).toBe('1970-01-01');
    expectPrivkitError(() => truncateDate('not a date', 'day'), 'E_ARG', 'value');
    expectPrivkitError(() => truncateDate(8.64e15, 'day'), 'E_ARG', 'value');
    expectPrivkitError(() => truncateDate(0, 'week' as never), 'E_ARG', 'unit');
    expectPrivkitError(() => bucketNumber(1, { width: 0 }), 'E_ARG', 'width');
    expectPrivkitError(() => bucketNumber(NaN, { width: 1 }), 'E_ARG', 'value');
    expectPrivkitError(() => topCode(1, {}), 'E_ARG', 'upper');
    expectPrivkitError(() => topCode(1, { lower: 2, upper: 1 }), 'E_ARG', 'upper');
    expectPrivkitError(() => topCode(NaN, { upper: 1 }), 'E_ARG', 'value');
  });
});

describe('desensitize', () => {
  const records = [
    { id: 'u1', email: 'ann@example.org', phone: '555-0101', age: 34, born: '1990-05-17', income: 250_000, note: 'x' },
    { id: 'u2', email: 'bo@example.org', phone: '555-0102', age: 67, born: '1957-01-02', income: 40_000, note: null },
    { id: 'u1', email: null, phone: '555-0101', age: 35, born: '1990-05-17', income: -5, note: 'y' },
  ];

  it('applies each rule in the policy order, keeps missing values as null, and leaves the input alone', async () => {
    const ids = await createPseudonymizer({ key, tokenBytes: 6 });
    const frozen = structuredClone(records);
    const out = await desensitize(records, {
      id: { kind: 'pseudonymize', pseudonymizer: ids },
      email: { kind: 'email' },
      phone: { kind: 'phone', keepLast: 2 },
      age: { kind: 'bucket', width: 10 },
      born: { kind: 'date', unit: 'year' },
      income: { kind: 'topCode', lower: 0, upper: 150_000 },
      note: { kind: 'suppress' },
    });
    expect(records).toEqual(frozen);
    expect(out[0]).toEqual({
      id: await ids.token('u1'),
      email: 'a**@example.org',
      phone: '***-**01',
      age: '[30, 40)',
      born: '1990',
      income: 150_000,
    });
    expect(Object.keys(out[0]!)).toEqual(['id', 'email', 'phone', 'age', 'born', 'income']);
    expect(out[2]!.id).toBe(out[0]!.id);
    expect(out[1]!.id).not.toBe(out[0]!.id);
    expect(out[2]!.email).toBeNull();
    expect(out[2]!.income).toBe(0);
  });

  it('refuses a column the policy does not name by default, and drops or keeps it when told', async () => {
    const policy = { a: { kind: 'keep' } } as const;
    const error = await rejection(desensitize([{ a: 1 }, { a: 2, secret: 's' }], policy));
    expect([error.code, error.argument, error.index]).toEqual(['E_ARG', 'records[1].secret', 1]);
    expect(await desensitize([{ a: 1, secret: 's' }], policy, { unknownColumns: 'drop' })).toEqual([{ a: 1 }]);
    expect(await desensitize([{ a: 1, secret: 's' }], policy, { unknownColumns: 'keep' })).toEqual([{ a: 1, secret: 's' }]);

  });

  it('copies a "__proto__" column of parsed records as data: it never becomes the prototype of an output record', async () => {
    const records = JSON.parse('[{"a": 1, "__proto__": {"email": "jane@example.com", "a": 2}}]') as object[];
    const [out] = await desensitize(records, { a: { kind: 'keep' } }, { unknownColumns: 'keep' });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect('email' in out!).toBe(false);
    expect(Object.keys(out!)).toEqual(['a', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ email: 'jane@example.com', a: 2 });
  });

  it('names the record and column of a value that does not fit its rule, and bad rules', async () => {
    const bad = await rejection(desensitize([{ e: 'a@b.c' }, { e: 'nope' }], { e: { kind: 'email' } }));
    expect([bad.argument, bad.index]).toEqual(['records[1].e', 1]);
    expect((await rejection(desensitize([{ x: 'text' }], { x: { kind: 'bucket', width: 5 } }))).argument).toBe('records[0].x');
    expect((await rejection(desensitize([], { x: { kind: 'blur' } as never }))).argument).toBe('policy.x.kind');
    expect((await rejection(desensitize([], { x: { kind: 'pseudonymize', pseudonymizer: { token: async () => '' } } as never }))).argument).toBe('policy.x.pseudonymizer');
    expect((await rejection(desensitize([], { x: { kind: 'date' } as never }))).argument).toBe('policy.x.unit');
    expect((await rejection(desensitize([], { x: { kind: 'bucket', width: -1 } }))).argument).toBe('width');
    expect((await rejection(desensitize([5 as never], { x: { kind: 'keep' } }))).argument).toBe('records');
    expect((await rejection(desensitize([], null as never))).argument).toBe('policy');
    expect((await rejection(desensitize([], {}, { unknownColumns: 'ignore' as never }))).argument).toBe('unknownColumns');
  });
});
