// Browser fixture for test/e2e/protect-browser.test.ts: seals containers in Chromium for a Node
// recipient, and opens containers Node sealed for a recipient whose key pair lives in the page.
// It also tokenizes the pseudonym fixture with createPseudonymizer and desensitize, for Node to
// compare. Bytes cross page.evaluate as base64 text.
import {
  availableRecipientKinds,
  createOpenStream,
  createPseudonymizer,
  createSealStream,
  generateRecipientKeys,
  desensitize,
  generateSigningKeys,
  openTensors,
  sealTensors,
  type RecipientKeyPair,
  type RecipientKind,
  type TensorPiece,
} from 'privkit/protect';
import { protectTensors, pseudonymFixture, pseudonymPolicy } from './protect-data.js';

export interface ProtectPage {
  kinds(): Promise<string[]>;
  /** Seals the fixture tensors for Node's public key through createSealStream (signed); returns the container and the signer's public key. */
  sealFor(kind: RecipientKind, publicKey: string): Promise<{ container: string; verifyKey: string }>;
  /** Makes the page's recipient key pair; returns its kind and public key. */
  makeRecipient(): Promise<{ kind: string; publicKey: string }>;
  /** Opens a container with the page's key pair (openTensors and createOpenStream), verifying with verifyKey; returns name -> values. */
  open(container: string, verifyKey: string): Promise<{ whole: Record<string, number[]>; streamed: Record<string, number[]> }>;
  /** Seals to and opens with a fresh key pair of `kind` inside the page: the opened tensor names, and the error codes of another key pair and of a tampered recipient entry. */
  roundTrip(kind: RecipientKind): Promise<{ names: string[]; wrongKey: string; tampered: string }>;
  /** The fixture's tokens (tokens() at 16 bytes, token() at 6 bytes) and its records desensitized with a 16-byte pseudonymizer. */
  pseudonyms(): Promise<{ tokens: string[]; short: string[]; records: Record<string, unknown>[] }>;
}

declare global {
  interface Window {
    __protect?: ProtectPage;
  }
}

const toBase64 = (bytes: Uint8Array) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const reader = stream.getReader();
  const out: T[] = [];
  for (let r = await reader.read(); !r.done; r = await reader.read()) out.push(r.value);
  return out;
}

let recipient: RecipientKeyPair | undefined;

window.__protect = {
  kinds: () => availableRecipientKinds(),
  async sealFor(kind, publicKey) {
    const signer = await generateSigningKeys();
    const tensors = protectTensors();
    const manifest = [...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
    const seal = await createSealStream(manifest, { recipients: [{ kind, publicKey: fromBase64(publicKey) }], signer, chunkSize: 4096 });
    const input = new Blob([...tensors.values()].map((t) => new Uint8Array(t.data.buffer as ArrayBuffer))).stream();
    const parts = await readAll(input.pipeThrough(seal));
    const container = new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer());
    return { container: toBase64(container), verifyKey: toBase64(signer.publicKey) };
  },
  async makeRecipient() {
    recipient = await generateRecipientKeys('ecdh');
    return { kind: recipient.kind, publicKey: toBase64(recipient.publicKey) };
  },
  async open(container, verifyKey) {
    const bytes = fromBase64(container);
    const opts = { key: recipient!, verifyKey: fromBase64(verifyKey) };
    const whole: Record<string, number[]> = {};
    for (const [name, t] of await openTensors(bytes, opts)) whole[name] = Array.from(t.data);
    const open = await createOpenStream(opts);
    const pieces: TensorPiece[] = await readAll(new Blob([bytes]).stream().pipeThrough(open));
    const streamed: Record<string, number[]> = {};
    for (const spec of await open.manifest) {
      const parts = pieces.filter((p) => p.name === spec.name);
      const raw = new Uint8Array(parts.reduce((n, p) => n + p.bytes.length, 0));
      for (const p of parts) raw.set(p.bytes, p.byteOffset);
      const view = spec.dtype === 'float32' ? new Float32Array(raw.buffer) : spec.dtype === 'float64' ? new Float64Array(raw.buffer) : spec.dtype === 'int32' ? new Int32Array(raw.buffer) : raw;
      streamed[spec.name] = Array.from(view);
    }
    return { whole, streamed };
  },
  async roundTrip(kind) {
    const keys = await generateRecipientKeys(kind);
    const sealed = await sealTensors({ a: Float32Array.of(1, 2), b: Int32Array.of(3) }, { recipients: [keys] });
    const names = [...(await openTensors(sealed, { key: keys })).keys()];
    const codeOf = (p: Promise<unknown>) => p.then(() => 'opened', (e: unknown) => String((e as { code?: string }).code));
    const wrongKey = await codeOf(openTensors(sealed, { key: await generateRecipientKeys(kind) }));
    const tamperedBytes = sealed.slice();
    const at = new TextDecoder().decode(tamperedBytes).indexOf('"kemCiphertext":"') + 20; // a byte inside the KEM ciphertext's base64
    tamperedBytes[at] = tamperedBytes[at] === 65 ? 66 : 65;
    const tampered = await codeOf(openTensors(tamperedBytes, { key: keys }));
    return { names, wrongKey, tampered };
  },
  async pseudonyms() {
    const { key, values, records } = pseudonymFixture();
    const ids = await createPseudonymizer({ key });
    const short = await createPseudonymizer({ key, tokenBytes: 6 });
    return {
      tokens: await ids.tokens(values),
      short: await Promise.all(values.map((v) => short.token(v))),
      records: await desensitize(records, pseudonymPolicy(ids)),
    };
  },
};
document.getElementById('status')!.textContent = 'ready';
