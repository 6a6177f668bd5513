// Paillier JSON serialization: keys and ciphertexts round trip (also through JSON text), integers
// match Node's base64url, and malformed, mistyped, wrong-version or inconsistent input is rejected;
// the byte forms likewise (layout, round trips, truncated, wrong version or type, trailing bytes,
// non-minimal or out-of-range integers).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from 'privkit/dp';
import {
  ciphertextFromBytes,
  ciphertextFromJSON,
  ciphertextToBytes,
  ciphertextToJSON,
  generateKeyPair,
  privateKeyFromBytes,
  privateKeyFromJSON,
  privateKeyToBytes,
  privateKeyToJSON,
  publicKeyFromBytes,
  publicKeyFromJSON,
  publicKeyToBytes,
  publicKeyToJSON,
  ready,
  type KeyPair,
} from 'privkit/paillier';
import { errorCode } from '../support/helpers.js';

const opts = { allowInsecureTestKeys: true };
let keys: KeyPair;

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

/** The byte form of integers under a version and type byte, built independently of the library. */
const bytesOf = (version: number, type: number, ...xs: bigint[]) => {
  const parts = xs.map((x) => {
    let hex = x.toString(16);
    if (hex.length % 2 === 1) hex = '0' + hex;
    const body = Buffer.from(hex, 'hex');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    return Buffer.concat([length, body]);
  });
  return new Uint8Array(Buffer.concat([Buffer.from([version, type]), ...parts]));
};

describe('byte serialization', () => {
  it('has the documented layout and round trips keys and ciphertexts', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const c = pk.encrypt(-987654321n);
    expect(publicKeyToBytes(pk)).toEqual(bytesOf(1, 1, pk.n));
    expect(privateKeyToBytes(sk)).toEqual(bytesOf(1, 2, sk.p, sk.q));
    expect(ciphertextToBytes(c)).toEqual(bytesOf(1, 3, c.value));
    const pk2 = publicKeyFromBytes(publicKeyToBytes(pk), opts);
    const sk2 = privateKeyFromBytes(privateKeyToBytes(sk), opts);
    expect(pk2.n).toBe(pk.n);
    expect([sk2.p, sk2.q]).toEqual([sk.p, sk.q]);
    const c2 = ciphertextFromBytes(pk2, ciphertextToBytes(c));
    expect(c2.value).toBe(c.value);
    expect(sk2.decrypt(c2)).toBe(pk.n - 987654321n);
    // a view into a larger buffer parses the same
    const padded = new Uint8Array(publicKeyToBytes(pk).length + 5);
    padded.set(publicKeyToBytes(pk), 3);
    expect(publicKeyFromBytes(padded.subarray(3, padded.length - 2), opts).n).toBe(pk.n);
  });

  it('round trips random ciphertexts', () => {
    const { publicKey: pk } = keys;
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: pk.n - 1n }), (m) => {
        const c = pk.encrypt(m);
        expect(ciphertextFromBytes(pk, ciphertextToBytes(c)).value).toBe(c.value);
      }),
      { seed: 4, numRuns: 20 },
    );
  });

  it('rejects truncated, wrong-version, wrong-type, trailing and out-of-range input', () => {
    const { publicKey: pk, privateKey: sk } = keys;
    const good = publicKeyToBytes(pk);
    const withLength = (length: number) => {
      const b = good.slice();
      new DataView(b.buffer).setUint32(2, length);
      return b;
    };
    const bad: unknown[] = [
      new Uint8Array(0),
      Uint8Array.of(1),
      good.subarray(0, 2),
      good.subarray(0, 5),
      good.subarray(0, good.length - 1),
      Uint8Array.of(2, ...good.subarray(1)),
      Uint8Array.of(0, ...good.subarray(1)),
      Uint8Array.of(1, 3, ...good.subarray(2)),
      Uint8Array.of(...good, 0),
      withLength(0),
      withLength(good.length),
      withLength(0xffffffff),
      bytesOf(1, 1, pk.n).map((v, i) => (i === 6 ? 0 : v)), // leading zero byte
      bytesOf(1, 1, 1n << 20000n), // longer than any key
      bytesOf(1, 1, pk.n + 1n), // even n
      Array.from(good),
      'AQE',
      null,
    ];
    for (const [i, bytes] of bad.entries()) expect(errorCode(() => publicKeyFromBytes(bytes as Uint8Array, opts)), `case ${i}`).toBe('E_ARG');
    expect(errorCode(() => publicKeyFromBytes(good))).toBe('E_ARG'); // 512 bits without allowInsecureTestKeys
    const sb = privateKeyToBytes(sk);
    expect(errorCode(() => privateKeyFromBytes(sb.subarray(0, sb.length - 3), opts))).toBe('E_ARG');
    expect(errorCode(() => privateKeyFromBytes(bytesOf(1, 2, sk.p), opts))).toBe('E_ARG');
    expect(errorCode(() => privateKeyFromBytes(bytesOf(1, 2, sk.p, sk.p), opts))).toBe('E_ARG');
    expect(errorCode(() => privateKeyFromBytes(bytesOf(1, 2, sk.p, sk.q + 2n), opts))).toBe('E_ARG');
    expect(errorCode(() => privateKeyFromBytes(good, opts))).toBe('E_ARG');
    const cb = ciphertextToBytes(pk.encrypt(1n));
    expect(errorCode(() => ciphertextFromBytes(pk, Uint8Array.of(...cb, 1)))).toBe('E_ARG');
    expect(errorCode(() => ciphertextFromBytes(pk, bytesOf(1, 3, pk.nSquared)))).toBe('E_ARG');
    expect(errorCode(() => ciphertextFromBytes(pk, bytesOf(1, 3, pk.nSquared + 1n)))).toBe('E_ARG');
    expect(errorCode(() => ciphertextFromBytes(pk, bytesOf(1, 3, sk.p)))).toBe('E_ARG');
    expect(errorCode(() => ciphertextFromBytes(pk, bytesOf(1, 3, 0n)))).toBe('E_ARG');
    expect(errorCode(() => ciphertextFromBytes(null as never, cb))).toBe('E_ARG');
    expect(errorCode(() => ciphertextToBytes({ value: 1n } as never))).toBe('E_ARG');
    expect(errorCode(() => publicKeyToBytes({ n: 1n } as never))).toBe('E_ARG');
    expect(errorCode(() => privateKeyToBytes(pk as never))).toBe('E_ARG');
  });
});
