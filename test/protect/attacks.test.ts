// An attacker who can read and modify a container (at rest or in transit) plays every attack on a
// real signed container of 6 chunks sealed to two recipients: each byte flipped, each truncation,
// chunks dropped, reordered, duplicated and spliced from another container, header fields edited,
// recipient entries swapped (a key-commitment attack), bytes appended, the signature stripped or
// replaced. Each must end in a PrivkitError (E_AUTH; E_ARG for the magic and version bytes), and
// the streaming opener must release nothing by default. Then attacks with more power: anyone who
// seals to a public key (a manifest larger than its container), a recipient who holds the chunk key
// (rewriting a signed chunk while keeping its GCM tag), and a sealer who writes ambiguous JSON.
import * as nc from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import { createOpenStream, createSealStream, generateRecipientKeys, generateSigningKeys, openTensors, sealTensors, type ModelSigningKeys, type RecipientKeyPair } from 'privkit/protect';
import { join, split, withJson, type Layout } from './layout.js';

const tensors = () => ({
  w: { data: Float32Array.from({ length: 64 }, (_, i) => i - 32), shape: [8, 8] },
  b: Int32Array.from({ length: 16 }, (_, i) => i * 1000),
});

let alice: RecipientKeyPair;
let bob: RecipientKeyPair;
let signer: ModelSigningKeys;
let container: Uint8Array;
let layout: Layout;
let other: Layout; // another container to the same recipients, same tensors

async function opens(bytes: Uint8Array, key = alice): Promise<PrivkitError | undefined> {
  try {
    await openTensors(bytes, { key, verifyKey: signer.publicKey });
    return undefined;
  } catch (e) {
    if (!(e instanceof PrivkitError)) throw e;
    return e;
  }
}

async function expectRefused(bytes: Uint8Array, code = 'E_AUTH'): Promise<void> {
  const e = await opens(bytes);
  expect(e, 'the attack was not detected').toBeDefined();
  expect(e!.code).toBe(code);
}

beforeAll(async () => {
  [alice, bob, signer] = await Promise.all([generateRecipientKeys('ecdh'), generateRecipientKeys('ecdh'), generateSigningKeys()]);
  const opts = { recipients: [alice, bob], signer, chunkSize: 80 };
  container = await sealTensors(tensors(), opts);
  layout = split(container);
  other = split(await sealTensors(tensors(), opts));
  expect(layout.chunks.length).toBe(6);
});

describe('attacks on a container', () => {
  it('opens untouched (the baseline the attacks start from)', async () => {
    expect(await opens(container)).toBeUndefined();
    expect(await opens(container, bob)).toBeUndefined();
  });

  it('detects a flipped bit in every byte of the container', async () => {
    const undetected: number[] = [];
    for (let i = 0; i < container.length; i++) {
      const bytes = container.slice();
      bytes[i]! ^= 1 << (i % 8);
      const e = await opens(bytes);
      if (e === undefined) undetected.push(i);
      else expect(e.code).toBe(i < 9 ? 'E_ARG' : 'E_AUTH'); // the magic and version bytes say "not a container"
    }
    expect(undetected).toEqual([]);
  });

  it('refuses an oversized header length, an unknown version and foreign bytes before any work', async () => {
    const huge = container.slice();
    new DataView(huge.buffer).setUint32(9, 0xffffffff);
    const e = await opens(huge);
    expect([e?.code, e?.message]).toEqual(['E_AUTH', 'E_AUTH: container is malformed: header of 4294967295 bytes (at most 262144)']);
    const v2 = container.slice();
    v2[8] = 2;
    expect((await opens(v2))?.message).toMatch(/^E_ARG: container has format version 2/);
    expect((await opens(new TextEncoder().encode('{"not":"a container"}')))?.code).toBe('E_ARG');
  });

  it('detects every truncation', async () => {
    for (let n = 0; n < container.length; n++) await expectRefused(container.subarray(0, n));
  });

  it('detects bytes appended to the end', async () => {
    await expectRefused(join(container, [new Uint8Array(1)]));
    await expectRefused(join(container, [other.chunks[5]!]));
  });

  it('detects dropped chunks (first, middle, last), reordered and duplicated chunks', async () => {
    const c = layout.chunks;
    const s = layout.signature;
    await expectRefused(join(layout.header, c.slice(1), s));
    await expectRefused(join(layout.header, [...c.slice(0, 2), ...c.slice(3)], s));
    await expectRefused(join(layout.header, c.slice(0, 5), s)); // the last chunk dropped: chunk 4 was sealed as not final
    await expectRefused(join(layout.header, [c[0]!, c[2]!, c[1]!, ...c.slice(3)], s));
    await expectRefused(join(layout.header, [...c.slice(0, 5), c[4]!, c[5]!], s));
  });

  it('detects chunks spliced from another container of the same recipients and signer', async () => {
    for (let i = 0; i < 6; i++) {
      const chunks = layout.chunks.slice();
      chunks[i] = other.chunks[i]!;
      await expectRefused(join(layout.header, chunks, layout.signature));
    }
    await expectRefused(join(other.header, layout.chunks, layout.signature)); // a header from the other container
    await expectRefused(join(layout.header, layout.chunks, other.signature));
  });

  it('detects edited header fields that keep the header well-formed', async () => {
    const edits: ((j: Layout['json']) => void)[] = [
      (j) => (j.chunkSize = 96),
      (j) => (j.nonceBase = other.json.nonceBase),
      (j) => (j.keyCommitment = other.json.keyCommitment),
      (j) => (j.recipients = [j.recipients[1]!, j.recipients[0]!]),
      (j) => (j.recipients = [j.recipients[0]!]), // bob removed
      (j) => (j.signer = null), // the signature stripped with its header entry
    ];
    for (const edit of edits) {
      const json = structuredClone(layout.json);
      edit(json);
      const bytes = join(withJson(json), layout.chunks, json.signer === null ? undefined : layout.signature);
      await expectRefused(bytes);
      try {
        await openTensors(bytes, { key: alice }); // also without verifyKey
        expect.unreachable('an edited header opened');
      } catch (e) {
        expect((e as PrivkitError).code).toBe('E_AUTH');
      }
    }
  });

  it("detects a recipient entry swapped for another container's (different content keys per recipient: key commitment)", async () => {
    const json = structuredClone(layout.json);
    json.recipients[1] = other.json.recipients[1]!; // bob's entry now unwraps the other container's key
    const bytes = join(withJson(json), layout.chunks, layout.signature);
    const e = await opens(bytes, bob);
    expect(e?.code).toBe('E_AUTH');
    expect(e?.message).toMatch(/commitment|chunk 0/);
  });

  it('detects a re-signed container (the attacker signs with their own key)', async () => {
    const mallory = await generateSigningKeys();
    const resealed = await sealTensors(tensors(), { recipients: [alice], signer: mallory, chunkSize: 80 });
    await expectRefused(resealed);
  });

  it('refuses, before allocating, a manifest that declares more tensor bytes than the container holds (anyone can seal to a public key)', async () => {
    // Mallory seals to alice's public key a manifest of an 8 TiB tensor, keeps the authentic first
    // chunks (the manifest) and ends the container with junk: openTensors must not allocate the tensor.
    const seal = await createSealStream([{ name: 'x', dtype: 'float64', shape: [2 ** 40] }], { recipients: [alice], chunkSize: 4096 });
    const writer = seal.writable.getWriter();
    const reader = seal.readable.getReader();
    void writer.write(new Uint8Array(3 * 4096)).catch(() => undefined);
    const header = (await reader.read()).value!;
    const chunk0 = (await reader.read()).value!; // holds the manifest, sealed as not final
    void writer.abort().catch(() => undefined);
    expect(chunk0.length).toBe(4096 + 16);
    const forged = join(header, [chunk0, new Uint8Array(4096 + 16)]); // chunk 1 is junk: only its tag fails
    let error: unknown;
    try {
      await openTensors(forged, { key: alice });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PrivkitError);
    expect((error as PrivkitError).code).toBe('E_AUTH');
    expect((error as PrivkitError).message).toMatch(/manifest/);
  });

  it('releases nothing through the streaming opener (default release) from a tampered container', async () => {
    const bytes = container.slice();
    bytes[bytes.length - 70]! ^= 1; // the last chunk
    const open = await createOpenStream({ key: alice, verifyKey: signer.publicKey });
    const reader = new Blob([bytes]).stream().pipeThrough(open).getReader();
    const got: unknown[] = [];
    const error = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        got.push(value);
      }
    })().catch((e: unknown) => e);
    expect((error as PrivkitError).code).toBe('E_AUTH');
    expect(got).toEqual([]);
  });
});

// GF(2^128) of GCM (NIST SP 800-38D §6.3): blocks as big-endian 128-bit integers, bit-reflected.
const GCM_R = 0xe1n << 120n;
function gfMul(x: bigint, y: bigint): bigint {
  let z = 0n;
  let v = y;
  for (let i = 127n; i >= 0n; i--) {
    if ((x >> i) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ GCM_R : v >> 1n;
  }
  return z;
}
const toBlock = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex')}`);
const fromBlock = (x: bigint) => Buffer.from(x.toString(16).padStart(32, '0'), 'hex');

const hkdf = (ikm: Uint8Array, salt: Uint8Array, info: string) => Buffer.from(nc.hkdfSync('sha256', ikm, salt, Buffer.from(info), 32));

/** The chunk key of a container, by docs/FORMAT.md, from its X25519 recipient entry `entry` and that recipient's (extractable) key pair. */
async function chunkKeyOf(parts: Layout, entry: number, pair: RecipientKeyPair): Promise<Buffer> {
  const e = parts.json.recipients[entry]!;
  const ephemeral = Buffer.from(e.ephemeralKey as string, 'base64url');
  const privateKey = nc.createPrivateKey({ key: Buffer.from(await crypto.subtle.exportKey('pkcs8', pair.privateKey)), format: 'der', type: 'pkcs8' });
  const x25519Spki = Buffer.from('302a300506032b656e032100', 'hex');
  const shared = nc.diffieHellman({ privateKey, publicKey: nc.createPublicKey({ key: Buffer.concat([x25519Spki, ephemeral]), format: 'der', type: 'spki' }) });
  const kek = hkdf(shared, Buffer.concat([ephemeral, pair.publicKey]), 'privkit/protect/v1 x25519-hkdf-sha256');
  const wrapped = Buffer.from(e.wrappedKey as string, 'base64url');
  const unwrap = nc.createDecipheriv('aes-256-gcm', kek, Buffer.alloc(12));
  unwrap.setAAD(Buffer.from('privkit/protect/v1 wrap'));
  unwrap.setAuthTag(wrapped.subarray(32));
  const cek = Buffer.concat([unwrap.update(wrapped.subarray(0, 32)), unwrap.final()]);
  return hkdf(cek, Buffer.alloc(0), 'privkit/protect/v1 chunk key');
}

/** An unsigned container of the same plaintext under another header text (the sealer's power: it holds the chunk key). */
function resealUnder(parts: Layout, chunkKey: Buffer, headerText: string): Uint8Array {
  const json = Buffer.from(headerText);
  const header = Buffer.concat([Buffer.from('89504b430d0a1a0a01', 'hex'), Buffer.alloc(4), json]);
  header.writeUInt32BE(json.length, 9);
  const oldHash = nc.createHash('sha256').update(parts.header).digest();
  const newHash = nc.createHash('sha256').update(header).digest();
  const nonceBase = Buffer.from(parts.json.nonceBase as string, 'base64url');
  const aad = (hash: Buffer, i: number, final: boolean) => {
    const index = Buffer.alloc(8);
    index.writeBigUInt64BE(BigInt(i));
    return Buffer.concat([hash, index, Buffer.of(final ? 1 : 0)]);
  };
  const chunks = parts.chunks.map((chunk, i) => {
    const nonce = Buffer.from(nonceBase);
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ i) >>> 0, 8);
    const final = i === parts.chunks.length - 1;
    const d = nc.createDecipheriv('aes-256-gcm', chunkKey, nonce);
    d.setAAD(aad(oldHash, i, final));
    d.setAuthTag(chunk.subarray(chunk.length - 16));
    const plain = Buffer.concat([d.update(chunk.subarray(0, chunk.length - 16)), d.final()]);
    const c = nc.createCipheriv('aes-256-gcm', chunkKey, nonce);
    c.setAAD(aad(newHash, i, final));
    return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  });
  return join(header, chunks);
}

describe('attacks by a recipient on a signed container (the signer must stay the only one who can make content verify)', () => {
  it("refuses a signed container whose weights a recipient changed while keeping every GCM tag (GHASH is not collision resistant to a key holder)", async () => {
    const mallory = await generateRecipientKeys('x25519', { extractable: true }); // a legitimate recipient
    const victim = await generateRecipientKeys('ecdh'); // another recipient, who trusts the signer
    const weights = Float32Array.from({ length: 64 }, (_, i) => i / 64);
    const sealed = await sealTensors({ w: weights }, { recipients: [mallory, victim], signer, chunkSize: 80 });
    const parts = split(sealed);
    // Mallory unwraps the CEK with her own key (docs/FORMAT.md) and derives the chunk key and GHASH key H.
    const chunkKey = await chunkKeyOf(parts, 0, mallory);
    const ecb = nc.createCipheriv('aes-256-ecb', chunkKey, null);
    const h = toBlock(ecb.update(Buffer.alloc(16))); // H = AES(chunk key, 0^128)
    // In the last full chunk (all weight bytes), set plaintext block 0 to four chosen floats (CTR: XOR the
    // ciphertext) and add Delta * H^(b - a) to block b = 1, which leaves GHASH, hence the tag, unchanged.
    const index = parts.chunks.length - 2;
    const chunk = parts.chunks[index]!.slice();
    const manifestBytes = 4 + JSON.stringify({ tensors: [{ name: 'w', dtype: 'float32', shape: [64] }] }).length;
    const start = 80 * index - manifestBytes; // where block 0 of the chunk lies in the weights' bytes
    expect(start).toBeGreaterThanOrEqual(0);
    const original = new Uint8Array(weights.buffer).subarray(start, start + 16);
    const wanted = new Uint8Array(16).fill(0x7f); // four weights of ~3.4e38
    const delta = toBlock(original.map((v, i) => v ^ wanted[i]!));
    const compensation = gfMul(delta, h);
    const block = (k: number) => chunk.subarray(16 * k, 16 * k + 16);
    block(0).set(fromBlock(toBlock(block(0)) ^ delta));
    block(1).set(fromBlock(toBlock(block(1)) ^ compensation));
    expect(chunk.subarray(80)).toEqual(parts.chunks[index]!.subarray(80)); // the tag is untouched
    const forged = join(parts.header, parts.chunks.map((x, i) => (i === index ? chunk : x)), parts.signature);
    let opened: Awaited<ReturnType<typeof openTensors>> | undefined;
    let error: unknown;
    try {
      opened = await openTensors(forged, { key: victim, verifyKey: signer.publicKey });
    } catch (e) {
      error = e;
    }
    const got = opened === undefined ? undefined : new Uint8Array(opened.get('w')!.data.buffer).slice(start, start + 16);
    expect(got, 'the victim got weights the signer never signed, under a valid signature').toBeUndefined();
    expect((error as PrivkitError).code).toBe('E_AUTH');
  });
});

describe('attacks by a sealer on JSON parsing (every reader of docs/FORMAT.md must see one header)', () => {
  it('refuses a header that repeats a name (first-wins and last-wins JSON readers would check different key commitments)', async () => {
    const mallory = await generateRecipientKeys('x25519', { extractable: true });
    const parts = split(await sealTensors(tensors(), { recipients: [mallory], chunkSize: 80 }));
    const text = new TextDecoder().decode(parts.header.subarray(13));
    const repeated = text.replace('"keyCommitment":', `"keyCommitment":"${other.json.keyCommitment as string}","keyCommitment":`);
    expect(repeated).not.toBe(text);
    const forged = resealUnder(parts, await chunkKeyOf(parts, 0, mallory), repeated);
    expect(await openTensors(resealUnder(parts, await chunkKeyOf(parts, 0, mallory), text), { key: mallory })).toBeInstanceOf(Map); // the re-sealing is sound
    const e = await openTensors(forged, { key: mallory }).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(PrivkitError);
    expect((e as PrivkitError).code).toBe('E_AUTH');
    expect((e as PrivkitError).message).toMatch(/repeat/);
  });
});
