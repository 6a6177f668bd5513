// Recipient kinds: detection, the RSA modulus floor, P-256 beside X25519, and the hybrid
// ML-KEM-768 + X25519 kind where WebCrypto has ML-KEM (skipped cleanly elsewhere, e.g. Node 20).
import { describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import { availableRecipientKinds, generateRecipientKeys, openTensors, sealTensors } from 'privkit/protect';

const mlKem = (await availableRecipientKinds()).includes('ml-kem-768-x25519');
const x25519 = (await availableRecipientKinds()).includes('x25519');

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (e instanceof PrivkitError ? e.code : `not a PrivkitError: ${String(e)}`),
  );
}

describe('recipient keys', () => {
  it('lists RSA-OAEP and P-256 always, X25519 where the runtime has it, and picks the best curve for "ecdh"', async () => {
    const kinds = await availableRecipientKinds();
    expect(kinds.slice(0, 2)).toEqual(['rsa-oaep', 'p-256']);
    const ecdh = await generateRecipientKeys();
    expect(ecdh.kind).toBe(x25519 ? 'x25519' : 'p-256');
    expect(ecdh.publicKey.length).toBe(x25519 ? 32 : 65);
  });

  it('makes 3,072-bit RSA keys and refuses sealing to an RSA key under 3,072 bits', async () => {
    const rsa = await generateRecipientKeys('rsa-oaep');
    expect(rsa.privateKey.algorithm).toMatchObject({ name: 'RSA-OAEP', modulusLength: 3072 });
    const small = await crypto.subtle.generateKey({ name: 'RSA-OAEP', hash: 'SHA-256', modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1) }, true, ['encrypt', 'decrypt']);
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', small.publicKey));
    expect(await code(sealTensors({ a: new Uint8Array(1) }, { recipients: [{ kind: 'rsa-oaep', publicKey: spki }] }))).toBe('E_ARG');
  });

  it('refuses an opening key whose private key is of another algorithm, and keys that are not points', async () => {
    const p256 = await generateRecipientKeys('p-256');
    const rsa = await generateRecipientKeys('rsa-oaep');
    const sealed = await sealTensors({ a: new Uint8Array(1) }, { recipients: [p256] });
    expect(await code(openTensors(sealed, { key: { ...p256, privateKey: rsa.privateKey } }))).toBe('E_ARG');
    const offCurve = p256.publicKey.slice();
    offCurve[64]! ^= 1;
    expect(await code(sealTensors({ a: new Uint8Array(1) }, { recipients: [{ kind: 'p-256', publicKey: offCurve }] }))).toBe('E_ARG');
  });

  it.skipIf(mlKem)('refuses the hybrid ML-KEM-768 + X25519 kind with E_ARG where WebCrypto has no ML-KEM', async () => {
    expect(await code(generateRecipientKeys('ml-kem-768-x25519'))).toBe('E_ARG');
    expect(await code(sealTensors({ a: new Uint8Array(1) }, { recipients: [{ kind: 'ml-kem-768-x25519', publicKey: new Uint8Array(1216) }] }))).toBe('E_ARG');
  });

  it.runIf(mlKem)('seals to and opens with a hybrid ML-KEM-768 + X25519 key where WebCrypto has ML-KEM', async () => {
    const pq = await generateRecipientKeys('ml-kem-768-x25519');
    expect(pq.publicKey.length).toBe(1184 + 32);
    const sealed = await sealTensors({ a: Float32Array.of(1, 2, 3) }, { recipients: [pq] });
    expect((await openTensors(sealed, { key: pq })).get('a')!.data).toEqual(Float32Array.of(1, 2, 3));
    const other = await generateRecipientKeys('ml-kem-768-x25519');
    expect(await code(openTensors(sealed, { key: other }))).toBe('E_AUTH');
  });

  it('refuses to seal to more passphrases than an opener tries (a fifth passphrase could never open its container)', async () => {
    const recipients = ['one', 'two', 'three', 'four', 'five'].map((passphrase) => ({ passphrase }));
    const e = await sealTensors({ a: new Uint8Array(1) }, { recipients }).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(PrivkitError);
    expect((e as PrivkitError).code).toBe('E_ARG');
    expect((e as PrivkitError).argument).toBe('opts.recipients[4]');
  });
});
