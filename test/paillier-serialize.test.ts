// Paillier JSON serialization: keys and ciphertexts round trip (also through JSON text), integers
// match Node's base64url, and malformed, mistyped, wrong-version or inconsistent input is rejected.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import { createRng } from 'privkit/dp';
import {
  ciphertextFromJSON,
  ciphertextToJSON,
  generateKeyPair,
  privateKeyFromJSON,
  privateKeyToJSON,
  publicKeyFromJSON,
  publicKeyToJSON,
  ready,
  type KeyPair,
} from 'privkit/paillier';

const opts = { allowInsecureTestKeys: true };
let keys: KeyPair;

function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(PrivkitError);
    return (error as PrivkitError).code;
  }
  return 'no error';
}

const base64url = (x: bigint) => {
  let hex = x.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  return Buffer.from(hex, 'hex').toString('base64url');
};

beforeAll(async () => {
  await ready();
  keys = await generateKeyPair({ bits: 512, allowInsecureTestKeys: true, rng: createRng({ seed: new Uint8Array(32).fill(41) }) });
});

describe('serialization', () => {
  it('integers are unpadded base64url of big-endian bytes (as Node encodes them)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 4100n) - 1n }), (x) => {
        const json = publicKeyToJSON(keys.publicKey);
        expect(json.n).toBe(base64url(keys.publicKey.n));
        const c = keys.publicKey.encrypt(x % keys.publicKey.n);
        expect(ciphertextToJSON(c).value).toBe(base64url(c.value));
      }),
      { seed: 3, numRuns: 10 },
    );
  });

  it('keys and ciphertexts round trip, also through JSON text', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const pk2 = publicKeyFromJSON(JSON.stringify(publicKeyToJSON(pk)), opts);
    expect(pk2.n).toBe(pk.n);
    const sk2 = privateKeyFromJSON(JSON.parse(JSON.stringify(privateKeyToJSON(sk))), opts);
    expect([sk2.p, sk2.q]).toEqual([sk.p, sk.q]);
    const c = pk.encrypt(123456789n);
    const c2 = ciphertextFromJSON(pk2, JSON.stringify(ciphertextToJSON(c)));
    expect(c2.value).toBe(c.value);
    expect(sk2.decrypt(c2)).toBe(123456789n);
    expect(publicKeyToJSON(pk)).toEqual({ type: 'paillier-public-key', version: 1, n: base64url(pk.n) });
  });

  it('rejects malformed, mistyped, wrong-version and inconsistent input', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const good = publicKeyToJSON(pk);
    const bad: unknown[] = [
      '{not json',
      'null',
      '[1]',
      { ...good, type: 'paillier-private-key' },
      { ...good, version: 2 },
      { ...good, n: 'a+b/' },
      { ...good, n: 'abcde' },
      { ...good, n: 5 },
      { type: 'paillier-public-key', version: 1 },
    ];
    for (const json of bad) expect(errorCode(() => publicKeyFromJSON(json as string, opts)), JSON.stringify(json)).toBe('E_ARG');
    expect(errorCode(() => publicKeyFromJSON(good))).toBe('E_ARG'); // 512 bits without allowInsecureTestKeys
    const sj = privateKeyToJSON(sk);
    expect(errorCode(() => privateKeyFromJSON({ ...sj, n: good.n.slice(1) }, opts))).toBe('E_ARG');
    expect(errorCode(() => privateKeyFromJSON({ ...sj, q: sj.p }, opts))).toBe('E_ARG');
    const cj = ciphertextToJSON(pk.encrypt(1n));
    expect(errorCode(() => ciphertextFromJSON(pk, { ...cj, value: base64url(pk.nSquared) }))).toBe('E_ARG');
    expect(errorCode(() => ciphertextFromJSON(pk, { ...cj, value: base64url(sk.p) }))).toBe('E_ARG');
    expect(errorCode(() => ciphertextFromJSON(pk, { ...cj, value: 'AA' }))).toBe('E_ARG');
    expect(errorCode(() => ciphertextToJSON({ value: 1n } as never))).toBe('E_ARG');
  });
});
