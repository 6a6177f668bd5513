// The key checks and signatures of secure aggregation against WebCrypto itself: the X25519
// small-order list is exactly the set of keys WebCrypto's key agreement refuses among the
// candidates, P-256 points off the curve are refused by both, and a runtime without Ed25519 gets a
// coded error (test/secagg/no-ed25519.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { detectSigning, generateSigningKeyPair, publicKeyProblem, signMessage, signedBytes, type MaskedInputMessage } from 'privkit/secagg';

beforeAll(ready);

const P = (1n << 255n) - 19n;
const littleEndian = (v: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));

/** X25519 of a fresh private key with `raw`: the secret, or undefined when WebCrypto refuses. */
async function agree(raw: Uint8Array): Promise<Uint8Array | undefined> {
  const pair = (await crypto.subtle.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as CryptoKeyPair;
  try {
    const key = await crypto.subtle.importKey('raw', new Uint8Array(raw), { name: 'X25519' }, true, []);
    return new Uint8Array(await crypto.subtle.deriveBits({ name: 'X25519', public: key }, pair.privateKey, 256));
  } catch {
    return undefined;
  }
}

describe('X25519 public keys', () => {
  const smallOrder = [
    0n,
    1n,
    P - 1n,
    0x00b8495f16056286fdb1329ceb8d09da6ac49ff1fae35616aeb8413b7c7aebe0n,
    0x57119fd0dd4e22d8868e1c58c45c44045bef839c55b1d0b1248c50a3bc959c5fn,
  ];

  it('the five canonical small-order u are refused, and WebCrypto refuses to agree with each', async () => {
    for (const u of smallOrder) {
      expect(publicKeyProblem('X25519', littleEndian(u)), u.toString(16)).toBe('a point of small order');
      expect(await agree(littleEndian(u)), u.toString(16)).toBeUndefined();
    }
  });

  it('non-canonical encodings (u >= 2^255 - 19, top bit set) are refused; generated keys and arbitrary u below p pass', async () => {
    for (const u of [P, P + 1n, (1n << 256n) - 1n, (1n << 255n) + 9n]) {
      expect(publicKeyProblem('X25519', littleEndian(u)), u.toString(16)).toBe('not a canonical u-coordinate');
    }
    for (let i = 0; i < 50; i++) {
      const pair = (await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair;
      const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
      expect(publicKeyProblem('X25519', raw)).toBeUndefined();
    }
    // any other u below p (on the curve or its twist) gives a secret WebCrypto accepts
    for (const u of [2n, 9n, P - 2n, 12345678901234567890n]) {
      expect(publicKeyProblem('X25519', littleEndian(u))).toBeUndefined();
      expect(await agree(littleEndian(u))).toBeInstanceOf(Uint8Array);
    }
    expect(publicKeyProblem('X25519', new Uint8Array(31))).toMatch(/32 bytes/);
  });
});

describe('P-256 public keys', () => {
  it('generated points pass; a point off the curve, a coordinate >= p or a compressed point are refused, as WebCrypto refuses them', async () => {
    for (let i = 0; i < 20; i++) {
      const pair = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
      const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
      expect(publicKeyProblem('P-256', raw)).toBeUndefined();
      const offCurve = raw.map((b, j) => (j === 64 ? b ^ 1 : b));
      expect(publicKeyProblem('P-256', offCurve)).toBe('not on the curve');
      await expect(crypto.subtle.importKey('raw', offCurve, { name: 'ECDH', namedCurve: 'P-256' }, true, [])).rejects.toThrow();
      const compressed = raw.map((b, j) => (j === 0 ? 2 : b));
      expect(publicKeyProblem('P-256', compressed)).toBe('not an uncompressed point');
    }
    const big = new Uint8Array(65).fill(0xff);
    big[0] = 4;
    expect(publicKeyProblem('P-256', big)).toBe('a coordinate is not below p');
  });
});

describe('Ed25519 message signatures', () => {
  it('this runtime has Ed25519; a signed message verifies under its key only, and signs every field', async () => {
    await expect(detectSigning()).resolves.toBeUndefined();
    const [key, other] = await Promise.all([generateSigningKeyPair(), generateSigningKeyPair()]);
    const message = await signMessage<MaskedInputMessage>(
      { type: 'masked-input', roundId: 'r', sender: 'a', maskedInput: Uint32Array.of(1, 2), maskedWith: ['b'], rejected: [] },
      key.privateKey,
    );
    const verify = async (publicKey: Uint8Array, m: MaskedInputMessage) => {
      const k = await crypto.subtle.importKey('raw', new Uint8Array(publicKey), { name: 'Ed25519' }, false, ['verify']);
      return crypto.subtle.verify('Ed25519', k, new Uint8Array(m.signature), new Uint8Array(await signedBytes(m)));
    };
    expect(await verify(key.publicKey, message)).toBe(true);
    expect(await verify(other.publicKey, message)).toBe(false);
    for (const change of [{ roundId: 's' }, { sender: 'b' }, { maskedInput: Uint32Array.of(1, 3) }, { maskedWith: [] }, { rejected: ['b'] }, { maskedWith: ['b', ''] }]) {
      expect(await verify(key.publicKey, { ...message, ...change }), JSON.stringify(Object.keys(change))).toBe(false);
    }
    // the encoding is injective: moving an id from one list to the other changes the signed bytes
    const moved = await signedBytes({ ...message, maskedWith: [], rejected: ['b'] });
    expect(Buffer.from(moved).equals(Buffer.from(await signedBytes(message)))).toBe(false);
  });
});
