// An attacker who can read and modify a container (at rest or in transit) plays every attack on a
// real signed container of 6 chunks sealed to two recipients: each byte flipped, each truncation,
// chunks dropped, reordered, duplicated and spliced from another container, header fields edited,
// recipient entries swapped (a key-commitment attack), bytes appended, the signature stripped or
// replaced. Each must end in a PrivkitError (E_AUTH; E_ARG for the magic and version bytes), and
// the streaming opener must release nothing by default.
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import { createOpenStream, generateRecipientKeys, generateSigningKeys, openTensors, sealTensors, type ModelSigningKeys, type RecipientKeyPair } from 'privkit/protect';
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
