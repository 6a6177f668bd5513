// Encrypted tensor containers: round trips for every dtype and recipient kind (several recipients
// per container), the streaming API with a bound on the bytes in flight, and signatures.
import { beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import {
  availableRecipientKinds,
  createOpenStream,
  createSealStream,
  generateRecipientKeys,
  generateSigningKeys,
  openTensors,
  sealTensors,
  type RecipientKeyPair,
  type TensorPiece,
} from 'privkit/protect';

const PASSPHRASE = 'correct horse battery staple';

function sampleTensors() {
  return new Map([
    ['layer1.weight', { data: Float32Array.from({ length: 300 }, (_, i) => Math.sin(i) * 1e3), shape: [20, 15] }],
    ['layer1.bias', { data: Float64Array.from({ length: 15 }, (_, i) => i / 7 - 1), shape: [15] }],
    ['empty', { data: new Int32Array(0), shape: [0, 4] }],
    ['ids', { data: Int32Array.from({ length: 33 }, (_, i) => (i * 2654435761) | 0), shape: [3, 11] }],
    ['mask', { data: Uint8Array.from({ length: 77 }, (_, i) => (i * 37) & 255), shape: [77] }],
  ]);
}

function expectSame(opened: Map<string, { dtype: string; shape: number[]; data: ArrayLike<number> }>, original: ReturnType<typeof sampleTensors>) {
  expect([...opened.keys()]).toEqual([...original.keys()]);
  for (const [name, t] of original) {
    const got = opened.get(name)!;
    expect(got.shape).toEqual(t.shape);
    expect(got.data.constructor).toBe(t.data.constructor);
    expect(Array.from(got.data)).toEqual(Array.from(t.data));
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<PrivkitError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PrivkitError);
  expect((error as PrivkitError).code).toBe(code);
  return error as PrivkitError;
}

let keys: RecipientKeyPair[];

beforeAll(async () => {
  const kinds = (await availableRecipientKinds()).filter((k) => k !== 'ml-kem-768-x25519');
  keys = await Promise.all(kinds.map((k) => generateRecipientKeys(k)));
});

describe('sealTensors / openTensors', () => {
  it('round-trips every dtype for each of several recipients in one container, across many chunks', async () => {
    const tensors = sampleTensors();
    const sealed = await sealTensors(tensors, { recipients: [...keys, { passphrase: PASSPHRASE }], chunkSize: 100 });
    for (const key of keys) expectSame(await openTensors(sealed, { key }), tensors);
    expectSame(await openTensors(sealed, { key: { passphrase: PASSPHRASE } }), tensors);
  });

  it('takes a record and bare typed arrays (one dimension), and the default 1 MiB chunks', async () => {
    const sealed = await sealTensors({ a: new Float32Array([1.5, -2]), b: new Uint8Array(3 << 20).fill(9) }, { recipients: [keys[0]!] });
    const opened = await openTensors(sealed, { key: keys[0]! });
    expect(opened.get('a')).toEqual({ dtype: 'float32', shape: [2], data: new Float32Array([1.5, -2]) });
    expect(opened.get('b')!.data.length).toBe(3 << 20);
    expect(opened.get('b')!.data.every((v) => v === 9)).toBe(true);
    // 4 chunks (3 MiB of data plus the manifest) of 1 MiB + 16-byte tags
    const headerLength = 13 + new DataView(sealed.buffer, sealed.byteOffset + 9, 4).getUint32(0);
    expect(sealed.length - headerLength).toBe((3 << 20) + 8 + 4 * 16 + manifestLength(['a', 'b'], ['float32', 'uint8'], [[2], [3 << 20]]));
  });

  it('takes a passphrase as bytes, wiping only its own copy of them', async () => {
    const passphrase = new TextEncoder().encode(PASSPHRASE);
    const sealed = await sealTensors({ a: Int32Array.of(5) }, { recipients: [{ passphrase }] });
    expect(new TextDecoder().decode(passphrase)).toBe(PASSPHRASE);
    expect((await openTensors(sealed, { key: { passphrase: PASSPHRASE } })).get('a')!.data).toEqual(Int32Array.of(5));
    expect(new TextDecoder().decode(passphrase)).toBe(PASSPHRASE);
  });

  it('hides the tensor manifest: no tensor name appears in the container', async () => {
    const sealed = await sealTensors(sampleTensors(), { recipients: [keys[0]!] });
    const text = new TextDecoder('latin1').decode(sealed);
    for (const name of ['layer1', 'weight', 'bias', 'mask', 'float32']) expect(text.includes(name)).toBe(false);
  });

  it('refuses a wrong key, a wrong passphrase and a key it was not sealed to with E_AUTH', async () => {
    const sealed = await sealTensors(sampleTensors(), { recipients: [keys[0]!, { passphrase: PASSPHRASE }] });
    const stranger = await generateRecipientKeys(keys[0]!.kind);
    await rejectsWith(openTensors(sealed, { key: stranger }), 'E_AUTH');
    await rejectsWith(openTensors(sealed, { key: { passphrase: PASSPHRASE + '!' } }), 'E_AUTH');
    if (keys.length > 1) await rejectsWith(openTensors(sealed, { key: keys[1]! }), 'E_AUTH');
  });

  it('signs with Ed25519 and verifies on open; wrong, missing and stripped signatures are E_AUTH', async () => {
    const signer = await generateSigningKeys();
    const other = await generateSigningKeys();
    const tensors = sampleTensors();
    const signed = await sealTensors(tensors, { recipients: [keys[0]!], signer, chunkSize: 64 });
    expectSame(await openTensors(signed, { key: keys[0]!, verifyKey: signer.publicKey }), tensors);
    expectSame(await openTensors(signed, { key: keys[0]! }), tensors); // no verifyKey: not checked
    await rejectsWith(openTensors(signed, { key: keys[0]!, verifyKey: other.publicKey }), 'E_AUTH');
    const unsigned = await sealTensors(tensors, { recipients: [keys[0]!] });
    await rejectsWith(openTensors(unsigned, { key: keys[0]!, verifyKey: signer.publicKey }), 'E_AUTH');
    await rejectsWith(openTensors(signed.subarray(0, signed.length - 64), { key: keys[0]! }), 'E_AUTH');
    // a flipped signature byte: the chunks still open, the signature does not verify
    const forged = signed.slice();
    forged[forged.length - 1]! ^= 1;
    expectSame(await openTensors(forged, { key: keys[0]! }), tensors);
    const e = await rejectsWith(openTensors(forged, { key: keys[0]!, verifyKey: signer.publicKey }), 'E_AUTH');
    expect(e.argument).toBe('opts.verifyKey');
    // a signer whose public key is not its own is refused at sealing
    await rejectsWith(sealTensors(tensors, { recipients: [keys[0]!], signer: { privateKey: signer.privateKey, publicKey: other.publicKey } }), 'E_ARG');
  });

  it('rejects fewer PBKDF2 iterations than 600,000 and bad recipients with E_ARG naming them', async () => {
    const e1 = await rejectsWith(sealTensors({ a: new Uint8Array(1) }, { recipients: [{ passphrase: 'x', iterations: 1000 }] }), 'E_ARG');
    expect(e1.argument).toBe('opts.recipients[0].iterations');
    const e2 = await rejectsWith(sealTensors({ a: new Uint8Array(1) }, { recipients: [{ kind: 'x25519', publicKey: new Uint8Array(32) }] }), 'E_ARG');
    expect(e2.argument).toMatch(/^opts\.recipients\[0\]/);
    const e3 = await rejectsWith(sealTensors({ a: { data: new Uint8Array(4), shape: [3] } }, { recipients: [keys[0]!] }), 'E_SHAPE');
    expect(e3.argument).toBe('tensors.a.shape');
  });
});

/** Bytes of the encrypted manifest (its 4-byte length and JSON) for the given tensors. */
function manifestLength(names: string[], dtypes: string[], shapes: number[][]): number {
  return 4 + new TextEncoder().encode(JSON.stringify({ tensors: names.map((name, i) => ({ name, dtype: dtypes[i], shape: shapes[i] })) })).length;
}

describe('createSealStream / createOpenStream', () => {
  /** Byte i of the streamed model. */
  const byteAt = (i: number) => (i * 131 + (i >>> 11)) & 255;

  it('streams a 24 MiB model in 1 MiB chunks with at most 6 MiB in flight from source to reader, and opens it chunk by chunk', async () => {
    const total = 24 << 20;
    const piece = 96 << 10;
    let produced = 0;
    let consumed = 0;
    let maxInFlight = 0;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (produced === total) return controller.close();
          const bytes = new Uint8Array(Math.min(piece, total - produced));
          for (let i = 0; i < bytes.length; i++) bytes[i] = byteAt(produced + i);
          produced += bytes.length;
          maxInFlight = Math.max(maxInFlight, produced - consumed);
          controller.enqueue(bytes);
        },
      },
      { highWaterMark: 0 },
    );
    const signer = await generateSigningKeys();
    const seal = await createSealStream([{ name: 'model', dtype: 'uint8', shape: [total] }], { recipients: [keys[0]!], signer });
    const open = await createOpenStream({ key: keys[0]!, verifyKey: signer.publicKey, release: 'chunk' });
    let mismatches = 0;
    for await (const p of source.pipeThrough(seal).pipeThrough(open) as unknown as AsyncIterable<TensorPiece>) {
      expect(p.byteOffset).toBe(consumed);
      for (let i = 0; i < p.bytes.length; i += 997) if (p.bytes[i] !== byteAt(consumed + i)) mismatches++;
      consumed += p.bytes.length;
    }
    expect(mismatches).toBe(0);
    expect(consumed).toBe(total);
    expect(await open.manifest).toEqual([{ name: 'model', dtype: 'uint8', shape: [total] }]);
    // source -> seal (1 partial chunk + 2 in WebCrypto) -> open (1 partial + 2 in WebCrypto) -> reader, and the streams' queues
    expect(maxInFlight).toBeLessThanOrEqual(6 << 20); // measured: 4.2 MiB
  });

  it('holds every piece until the container authenticated (release: verified): a truncated stream yields nothing', async () => {
    const tensors = sampleTensors();
    const sealed = await sealTensors(tensors, { recipients: [keys[0]!], chunkSize: 64 });
    const read = async (bytes: Uint8Array, release: 'verified' | 'chunk') => {
      const open = await createOpenStream({ key: keys[0]!, release });
      const got: TensorPiece[] = [];
      const source = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += 50) c.enqueue(bytes.slice(i, i + 50));
          c.close();
        },
      });
      const reader = source.pipeThrough(open).getReader();
      let error: unknown;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          got.push(value);
        }
      } catch (e) {
        error = e;
      }
      return { got, error, manifest: open.manifest };
    };
    const whole = await read(sealed, 'verified');
    expect(whole.error).toBeUndefined();
    expect((await whole.manifest).map((s) => s.name)).toEqual([...tensors.keys()]);
    const ids = whole.got.filter((p) => p.name === 'ids');
    expect(new Int32Array(new Uint8Array(ids.flatMap((p) => [...p.bytes])).buffer)).toEqual(tensors.get('ids')!.data);
    const cut = sealed.subarray(0, sealed.length - 100);
    const verified = await read(cut, 'verified');
    expect((verified.error as PrivkitError).code).toBe('E_AUTH');
    expect(verified.got).toEqual([]);
    await rejectsWith(verified.manifest, 'E_AUTH');
    const streamed = await read(cut, 'chunk');
    expect((streamed.error as PrivkitError).code).toBe('E_AUTH');
    expect(streamed.got.length).toBeGreaterThan(0); // opted in: earlier authentic chunks were released
  });

  it('errors the seal stream with E_SHAPE when more or fewer bytes than the manifest declares are written', async () => {
    const run = async (lengths: number[]) => {
      const seal = await createSealStream([{ name: 'x', dtype: 'float32', shape: [4] }], { recipients: [keys[0]!] });
      const source = new ReadableStream<Uint8Array>({
        start(c) {
          for (const n of lengths) c.enqueue(new Uint8Array(n));
          c.close();
        },
      });
      const reader = source.pipeThrough(seal).getReader();
      for (;;) if ((await reader.read()).done) break;
    };
    await run([8, 8]);
    await rejectsWith(run([8, 9]), 'E_SHAPE');
    await rejectsWith(run([15]), 'E_SHAPE');
  });
});
