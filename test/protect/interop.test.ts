// Interop with docs/FORMAT.md alone: Node's own node:crypto (createDecipheriv, diffieHellman,
// hkdfSync, pbkdf2Sync, verify) opens a privkit container, and a container built with node:crypto
// by the same text opens in privkit. Nothing here imports privkit's internals.
import * as nc from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateRecipientKeys, generateSigningKeys, openTensors, sealTensors } from 'privkit/protect';

const ascii = (s: string) => Buffer.from(s, 'ascii');
const b64 = (s: string) => Buffer.from(s, 'base64url');
const u64 = (i: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(i));
  return b;
};
const hkdf = (ikm: Uint8Array, salt: Uint8Array, info: string) => Buffer.from(nc.hkdfSync('sha256', ikm, salt, ascii(info), 32));
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

function gcmOpen(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Buffer {
  const d = nc.createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
}

function gcmSeal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array): Buffer {
  const c = nc.createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

const nonceOf = (base: Buffer, i: number) => {
  const n = Buffer.from(base);
  const c = u64(i);
  for (let k = 0; k < 8; k++) n[4 + k]! ^= c[k]!;
  return n;
};
const aadOf = (headerHash: Buffer, i: number, final: boolean) => Buffer.concat([headerHash, u64(i), Buffer.of(final ? 1 : 0)]);

/** Reads a container by docs/FORMAT.md, given a function that unwraps the CEK from the header's recipient entries. */
function readContainer(bytes: Uint8Array, unwrap: (entries: Record<string, unknown>[]) => Buffer, verifyKey?: Uint8Array) {
  const buf = Buffer.from(bytes);
  expect(buf.subarray(0, 9)).toEqual(Buffer.from('89504b430d0a1a0a01', 'hex'));
  const headerEnd = 13 + buf.readUInt32BE(9);
  const header = JSON.parse(buf.subarray(13, headerEnd).toString('utf8'));
  const headerHash = nc.createHash('sha256').update(buf.subarray(0, headerEnd)).digest();
  const cek = unwrap(header.recipients);
  expect(hkdf(cek, Buffer.alloc(0), 'privkit/protect/v1 key commitment')).toEqual(b64(header.keyCommitment));
  const chunkKey = hkdf(cek, Buffer.alloc(0), 'privkit/protect/v1 chunk key');
  const end = buf.length - (header.signer === null ? 0 : 64);
  const plain: Buffer[] = [];
  let chain = headerHash;
  for (let at = headerEnd, i = 0; at < end; at += header.chunkSize + 16, i++) {
    const chunk = buf.subarray(at, Math.min(end, at + header.chunkSize + 16));
    const final = at + chunk.length === end;
    plain.push(gcmOpen(chunkKey, nonceOf(b64(header.nonceBase), i), aadOf(headerHash, i, final), chunk));
    chain = nc.createHash('sha256').update(Buffer.concat([chain, nc.createHash('sha256').update(chunk).digest()])).digest();
  }
  if (verifyKey !== undefined) {
    const key = nc.createPublicKey({ key: Buffer.concat([ED25519_SPKI, verifyKey]), format: 'der', type: 'spki' });
    expect(nc.verify(null, Buffer.concat([ascii('privkit/protect/v1 signature'), chain]), key, buf.subarray(end))).toBe(true);
  }
  const p = Buffer.concat(plain);
  const manifestEnd = 4 + p.readUInt32BE(0);
  const { tensors } = JSON.parse(p.subarray(4, manifestEnd).toString('utf8')) as { tensors: { name: string; dtype: string; shape: number[] }[] };
  const out = new Map<string, Buffer>();
  let at = manifestEnd;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1) * { float32: 4, float64: 8, int32: 4, uint8: 1 }[t.dtype]!;
    out.set(t.name, p.subarray(at, at + size));
    at += size;
  }
  expect(at).toBe(p.length);
  return { tensors, data: out };
}

const weights = Float32Array.from({ length: 1000 }, (_, i) => Math.cos(i) * 10);
const steps = Float64Array.from({ length: 7 }, (_, i) => i / 3);
const asBytes = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('docs/FORMAT.md interop with node:crypto', () => {
  it('node:crypto opens a signed privkit container through its X25519 entry and its passphrase entry', async () => {
    const alice = await generateRecipientKeys('x25519', { extractable: true });
    const signer = await generateSigningKeys();
    const passphrase = 'interop passphrase';
    const sealed = await sealTensors({ weights: { data: weights, shape: [10, 100] }, steps }, { recipients: [alice, { passphrase }], signer, chunkSize: 512 });
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', alice.privateKey));
    const privateKey = nc.createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    const viaX25519 = (entries: Record<string, unknown>[]) => {
      const e = entries.find((x) => x.type === 'x25519-hkdf-sha256')!;
      const ephemeral = b64(e.ephemeralKey as string);
      const shared = nc.diffieHellman({ privateKey, publicKey: nc.createPublicKey({ key: Buffer.concat([X25519_SPKI, ephemeral]), format: 'der', type: 'spki' }) });
      const kek = hkdf(shared, Buffer.concat([ephemeral, alice.publicKey]), 'privkit/protect/v1 x25519-hkdf-sha256');
      return gcmOpen(kek, Buffer.alloc(12), ascii('privkit/protect/v1 wrap'), b64(e.wrappedKey as string));
    };
    const viaPassphrase = (entries: Record<string, unknown>[]) => {
      const e = entries.find((x) => x.type === 'pbkdf2-sha256')!;
      const kek = nc.pbkdf2Sync(passphrase, b64(e.salt as string), e.iterations as number, 32, 'sha256');
      return gcmOpen(kek, Buffer.alloc(12), ascii('privkit/protect/v1 wrap'), b64(e.wrappedKey as string));
    };
    for (const unwrap of [viaX25519, viaPassphrase]) {
      const { tensors, data } = readContainer(sealed, unwrap, signer.publicKey);
      expect(tensors).toEqual([
        { name: 'weights', dtype: 'float32', shape: [10, 100] },
        { name: 'steps', dtype: 'float64', shape: [7] },
      ]);
      expect(data.get('weights')).toEqual(asBytes(weights));
      expect(data.get('steps')).toEqual(asBytes(steps));
    }
  });

  it('privkit opens a signed container that node:crypto sealed to an X25519 recipient', async () => {
    const bob = await generateRecipientKeys('x25519');
    const { publicKey: signPublic, privateKey: signPrivate } = nc.generateKeyPairSync('ed25519');
    const signRaw = signPublic.export({ format: 'der', type: 'spki' }).subarray(12);
    const cek = nc.randomBytes(32);
    const ephemeral = nc.generateKeyPairSync('x25519');
    const ephemeralRaw = ephemeral.publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
    const shared = nc.diffieHellman({ privateKey: ephemeral.privateKey, publicKey: nc.createPublicKey({ key: Buffer.concat([X25519_SPKI, bob.publicKey]), format: 'der', type: 'spki' }) });
    const kek = hkdf(shared, Buffer.concat([ephemeralRaw, bob.publicKey]), 'privkit/protect/v1 x25519-hkdf-sha256');
    const keyId = (raw: Uint8Array) => nc.createHash('sha256').update(raw).digest().subarray(0, 16).toString('base64url');
    const nonceBase = nc.randomBytes(12);
    const chunkSize = 300;
    const header = Buffer.from(
      JSON.stringify({
        aead: 'AES-256-GCM',
        chunkSize,
        nonceBase: nonceBase.toString('base64url'),
        keyCommitment: hkdf(cek, Buffer.alloc(0), 'privkit/protect/v1 key commitment').toString('base64url'),
        recipients: [
          {
            type: 'x25519-hkdf-sha256',
            keyId: keyId(bob.publicKey),
            ephemeralKey: ephemeralRaw.toString('base64url'),
            wrappedKey: gcmSeal(kek, Buffer.alloc(12), ascii('privkit/protect/v1 wrap'), cek).toString('base64url'),
          },
        ],
        signer: { alg: 'Ed25519', keyId: keyId(signRaw) },
      }),
    );
    const length = Buffer.alloc(4);
    length.writeUInt32BE(header.length);
    const headerBytes = Buffer.concat([Buffer.from('89504b430d0a1a0a01', 'hex'), length, header]);
    const headerHash = nc.createHash('sha256').update(headerBytes).digest();
    const manifest = Buffer.from(JSON.stringify({ tensors: [{ name: 'weights', dtype: 'float32', shape: [1000] }] }));
    const manifestLength = Buffer.alloc(4);
    manifestLength.writeUInt32BE(manifest.length);
    const plain = Buffer.concat([manifestLength, manifest, asBytes(weights)]);
    const chunkKey = hkdf(cek, Buffer.alloc(0), 'privkit/protect/v1 chunk key');
    const chunks: Buffer[] = [];
    let chain = headerHash;
    for (let at = 0, i = 0; at < plain.length; at += chunkSize, i++) {
      const final = at + chunkSize >= plain.length;
      const chunk = gcmSeal(chunkKey, nonceOf(nonceBase, i), aadOf(headerHash, i, final), plain.subarray(at, at + chunkSize));
      chain = nc.createHash('sha256').update(Buffer.concat([chain, nc.createHash('sha256').update(chunk).digest()])).digest();
      chunks.push(chunk);
    }
    const signature = nc.sign(null, Buffer.concat([ascii('privkit/protect/v1 signature'), chain]), signPrivate);
    const container = new Uint8Array(Buffer.concat([headerBytes, ...chunks, signature]));
    const opened = await openTensors(container, { key: bob, verifyKey: new Uint8Array(signRaw) });
    expect(opened.get('weights')).toEqual({ dtype: 'float32', shape: [1000], data: weights });
  });
});
