// One secure-aggregation client, shared by the fixture page test/e2e/browser/secagg.ts (clients in
// Chromium) and the Node side of test/e2e/browser.test.ts (the other clients), so both run exactly the
// same client code on reproducible inputs. A client rotates its Float32 update with the round's
// public randomized Hadamard seed, quantizes it with its own seeded ChaCha20 rng (so Node can
// recompute the browser's input bit for bit), then runs the five protocol steps. Every client
// signs with an Ed25519 key imported from a fixed test seed and knows every participant's public
// key (the application's list), so Chromium and Node check each other's signatures. Every message
// crosses the transport as JSON text of the wire format: encodeMessage -> JSON.stringify on the
// way out, decodeMessage (of the text, with the round's limits) on the way in.
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import {
  SecAggClient,
  decodeMessage,
  encodeMessage,
  quantize,
  randomizedHadamard,
  rotationLength,
  type ClientMessage,
  type Participant,
  type SecAggMessage,
  type SetupMessage,
  type SigningKeyPair,
} from 'privkit/secagg';
import { seededRandom } from './cases.js';

/** The round: 5 registered clients, 2 of them in the page; threshold 3 of 5; inputs in Z_2^20. */
export const SECAGG = {
  clients: ['client-0', 'client-1', 'client-2', 'client-3', 'client-4'],
  /** Interleaved with the Node clients, so pairwise masks between the runtimes carry both signs. */
  browserClients: ['client-1', 'client-3'],
  threshold: 3,
  bits: 20,
  scale: 2 ** 10,
  /** Length of each client's Float32 update; the round carries its rotation, padded to a power of two. */
  updateLength: 100,
  length: rotationLength(100),
} as const;

/** The round's public rotation seed (every client and the server use the same). */
export const ROTATION_SEED = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);

function clientIndex(id: string): number {
  const index = (SECAGG.clients as readonly string[]).indexOf(id);
  if (index < 0) throw new Error(`unknown client ${JSON.stringify(id)}`);
  return index;
}

/** Client `id`'s update: values in [-1, 1) from mulberry32. */
export function clientUpdate(id: string): Float32Array {
  const rand = seededRandom(0x5ec0 + clientIndex(id));
  return Float32Array.from({ length: SECAGG.updateLength }, () => 2 * rand() - 1);
}

/** Client `id`'s quantization seed (a seeded rng is for tests only). */
export function clientSeed(id: string): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + 101 * (clientIndex(id) + 1)) & 0xff);
}

/** PKCS#8 header of an Ed25519 private key (RFC 8410) in front of its 32-byte seed. */
const ED25519_PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/** Client `id`'s Ed25519 key pair from a fixed seed (test keys only), the same in Chromium and Node. */
export async function clientSigningKey(id: string): Promise<SigningKeyPair> {
  const seed = Array.from({ length: 32 }, (_, i) => (i * 29 + 7 * (clientIndex(id) + 1)) & 0xff);
  const pkcs8 = new Uint8Array([...ED25519_PKCS8_PREFIX, ...seed]);
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
  const { x } = await crypto.subtle.exportKey('jwk', privateKey);
  const publicKey = Uint8Array.from(atob(x!.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  return { privateKey, publicKey };
}

/** Every participant with its public key: the application's list, known to every client. */
export async function participants(): Promise<Participant[]> {
  return Promise.all(SECAGG.clients.map(async (id) => ({ id, signingPublicKey: (await clientSigningKey(id)).publicKey })));
}

/** Client `id`'s protocol input: its rotated update, stochastically rounded into Z_2^bits. Call after ready(). */
export function clientInput(id: string): Uint32Array {
  const rotated = randomizedHadamard(clientUpdate(id), ROTATION_SEED);
  return quantize(rotated, { scale: SECAGG.scale, bits: SECAGG.bits, rng: createRng({ seed: clientSeed(id) }) });
}

/**
 * The client side of the transport: send this client's message as JSON text (null: join the round)
 * and resolve, once the server has closed that round, with the JSON text of this client's next
 * server message (null: none, the round is over for it).
 */
export type Exchange = (id: string, text: string | null) => Promise<string | null>;

export interface ClientOptions {
  /** Share keys, then drop before sending the masked input, telling the aggregator through `leave` (a closed connection). */
  dropBeforeMaskedInput?: boolean;
  leave?: (id: string) => void;
}

/** What a client saw, as plain JSON (it crosses back from the page). */
export interface ClientReport {
  id: string;
  /** The curve of the setup message. */
  curve: string;
  /** The quantized input, as plain numbers. */
  input: number[];
  /** Server message types received, in order. */
  received: string[];
  /** Bytes of JSON text sent to the server. */
  bytesSent: number;
  /** The survivor set it signed and the clients whose key shares it revealed (absent when the client dropped). */
  unmaskRequest?: { survivors: string[]; dropped: string[] };
  /** How many self-mask shares and key shares the client revealed. */
  revealed?: { selfMaskShares: number; keyShares: number };
  dropped: boolean;
}

/** Runs client `id` through one round over `exchange`. */
export async function runClient(id: string, exchange: Exchange, options: ClientOptions = {}): Promise<ClientReport> {
  await ready();
  const client = new SecAggClient(id, { minParticipants: SECAGG.threshold, signingKey: await clientSigningKey(id), expectedParticipants: await participants() });
  const report: ClientReport = { id, curve: '', input: [], received: [], bytesSent: 0, dropped: false };
  let setup: SetupMessage | undefined;
  async function send<T extends SecAggMessage['type']>(message: ClientMessage | null, expected: T): Promise<Extract<SecAggMessage, { type: T }>> {
    const text = message === null ? null : JSON.stringify(encodeMessage(message));
    report.bytesSent += text?.length ?? 0;
    const reply = await exchange(id, text);
    if (reply === null) throw new Error(`${id} expected a '${expected}' message and got none`);
    const decoded = decodeMessage(reply, setup === undefined ? {} : { setup });
    if (decoded.type !== expected) throw new Error(`${id} expected a '${expected}' message and got a '${decoded.type}' message`);
    report.received.push(decoded.type);
    return decoded as Extract<SecAggMessage, { type: T }>;
  }

  setup = await send(null, 'setup');
  report.curve = setup.curve;
  const input = clientInput(id);
  report.input = Array.from(input);
  const publicKeys = await send(await client.advertiseKeys(setup), 'public-keys');
  const shares = await send(await client.shareKeys(publicKeys), 'encrypted-shares');
  if (options.dropBeforeMaskedInput) {
    options.leave?.(id);
    report.dropped = true;
    return report;
  }
  const check = await send(await client.maskedInput(shares, input), 'consistency-check');
  const request = await send(await client.consistencyCheck(check), 'unmask-request');
  const unmasking = await client.unmask(request);
  report.unmaskRequest = { survivors: check.survivors, dropped: unmasking.keyShares.map((r) => r.owner) };
  report.revealed = { selfMaskShares: unmasking.selfMaskShares.length, keyShares: unmasking.keyShares.length };
  const text = JSON.stringify(encodeMessage(unmasking));
  report.bytesSent += text.length;
  const last = await exchange(id, text);
  if (last !== null) throw new Error(`${id} expected no message after Unmasking, got ${last.slice(0, 80)}`);
  return report;
}
