// Attackers for the secure-aggregation attack tests.
// - MaliciousServer: a deviating server that drives real SecAggClients through the public message
//   API but builds every server message itself, so it can give each client a different view (whose
//   shares it gets, which survivor set it is shown, which signatures it is handed). What it collects
//   is all a real server would see.
// - The attacker's arithmetic (rebuild, pairwiseSeed, stripMasks): rebuilding secrets from revealed
//   shares, recomputing pairwise masks and stripping masks, from the protocol's public specification.
// - MaliciousDealer: a client that deals its shares itself (it holds its keys), so it can deal a
//   holder a share of another polynomial or spoil its signature on a share.
import { expect } from 'vitest';
import {
  SecAggClient,
  applyMasks,
  generateSigningKeyPair,
  shamirCombine,
  shamirSplit,
  signMessage,
  type AdvertiseKeysMessage,
  type ConsistencySignatureMessage,
  type EncryptedSharesMessage,
  type MaskedInputMessage,
  type Participant,
  type PublicKeysMessage,
  type SetupMessage,
  type ShareKeysMessage,
  type SigningKeyPair,
  type UnmaskMessage,
} from 'privkit/secagg';

const MASK_INFO = new TextEncoder().encode('privkit/secagg/v1 pairwise mask seed');
const SHARE_KEYS_INFO = new TextEncoder().encode('privkit/secagg/v2 share keys');
const X25519_PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

export interface RoundShape {
  n: number;
  threshold: number;
  bits: number;
  length: number;
  neighbours?: number;
}

export class MaliciousServer {
  readonly ids: string[];
  readonly clients: SecAggClient[];
  readonly signingKeys: SigningKeyPair[];
  readonly participants: Participant[];
  setup!: SetupMessage;
  readonly advertised = new Map<string, AdvertiseKeysMessage>();
  readonly shared = new Map<string, ShareKeysMessage>();
  readonly masked = new Map<string, MaskedInputMessage>();
  readonly signatures = new Map<string, ConsistencySignatureMessage>();

  private constructor(readonly shape: RoundShape, signingKeys: SigningKeyPair[], minParticipants: number) {
    this.ids = Array.from({ length: shape.n }, (_, i) => `c${i}`);
    this.signingKeys = signingKeys;
    this.participants = this.ids.map((id, i) => ({ id, signingPublicKey: signingKeys[i]!.publicKey }));
    this.clients = this.ids.map((id, i) => new SecAggClient(id, { minParticipants, signingKey: signingKeys[i]!, expectedParticipants: this.participants }));
  }

  /** The victims: real clients holding the application's participant list; minParticipants defaults to the threshold. */
  static async create(shape: RoundShape, minParticipants = shape.threshold): Promise<MaliciousServer> {
    return new MaliciousServer(shape, await Promise.all(Array.from({ length: shape.n }, () => generateSigningKeyPair())), minParticipants);
  }

  client(id: string): SecAggClient {
    return this.clients[this.ids.indexOf(id)]!;
  }

  /** Setup, AdvertiseKeys and ShareKeys, run honestly; `neighbourhood(id)` lists whose keys each client gets (itself included). */
  async shareKeys(neighbourhood: (id: string) => string[] = () => this.ids): Promise<void> {
    const { threshold, bits, length, neighbours } = this.shape;
    this.setup = {
      type: 'setup',
      roundId: 'attack-round',
      clients: [...this.ids],
      bits,
      length,
      threshold,
      ...(neighbours === undefined ? {} : { neighbours }),
      graphSeed: new Uint8Array(32).fill(7),
      curve: 'X25519',
    };
    for (const c of this.clients) this.advertised.set(c.id, await c.advertiseKeys(this.setup));
    for (const c of this.clients) {
      const keys = neighbourhood(c.id).map((id) => {
        const { cPublicKey, sPublicKey, signingPublicKey, signature } = this.advertised.get(id)!;
        return { id, cPublicKey, sPublicKey, signingPublicKey, signature };
      });
      this.shared.set(c.id, await c.shareKeys({ type: 'public-keys', roundId: this.setup.roundId, recipient: c.id, keys }));
    }
  }

  /** Each client gets the encrypted shares of exactly the senders `view(id)` lists, then sends its masked input. */
  async maskedInputs(view: (id: string) => string[], inputs: (id: string) => Uint32Array): Promise<void> {
    for (const c of this.clients) {
      const shares = view(c.id).map((sender) => {
        const share = this.shared.get(sender)!.shares.find((s) => s.peer === c.id)!;
        return { peer: sender, keyShare: share.keyShare, selfMaskShare: share.selfMaskShare };
      });
      const message: EncryptedSharesMessage = { type: 'encrypted-shares', roundId: this.setup.roundId, recipient: c.id, shares };
      this.masked.set(c.id, await c.maskedInput(message, inputs(c.id)));
    }
  }

  /**
   * Shows each listed client its own survivor set, with the masking statements of its neighbours in
   * it (`neighbours(id)`) and the signing keys of all its members; keeps the signatures it gets.
   * Returns each client's answer (a refusal is kept as the error).
   */
  async consistency(sets: Map<string, string[]>, neighbours: (id: string) => string[]): Promise<Map<string, ConsistencySignatureMessage | Error>> {
    const out = new Map<string, ConsistencySignatureMessage | Error>();
    for (const [id, survivors] of sets) {
      const statements = await Promise.all(
        neighbours(id)
          .filter((u) => survivors.includes(u))
          .map(async (u) => {
            const { maskedInput, maskedWith, rejected, signature } = this.masked.get(u)!;
            const inputDigest = new Uint8Array(await crypto.subtle.digest('SHA-256', wordsBytes(maskedInput)));
            return { sender: u, inputDigest, maskedWith, rejected, signature };
          }),
      );
      const signingKeys = survivors.map((u) => ({ id: u, signingPublicKey: this.advertised.get(u)!.signingPublicKey }));
      const answer = await this.client(id)
        .consistencyCheck({ type: 'consistency-check', roundId: this.setup.roundId, recipient: id, survivors: [...survivors], statements, signingKeys })
        .catch((error: Error) => error);
      if (!(answer instanceof Error)) this.signatures.set(id, answer);
      out.set(id, answer);
    }
    return out;
  }

  /** Sends each listed client an unmask request with the signatures of `signers(id)` (those it holds); returns the answers. */
  async unmask(signers: Map<string, string[]>): Promise<Map<string, UnmaskMessage | Error>> {
    const out = new Map<string, UnmaskMessage | Error>();
    for (const [id, from] of signers) {
      const signatures = from.filter((u) => this.signatures.has(u)).map((u) => ({ signer: u, signature: this.signatures.get(u)!.signature }));
      const request = { type: 'unmask-request', roundId: this.setup.roundId, recipient: id, signatures } as const;
      out.set(id, await this.client(id).unmask(request).catch((error: Error) => error));
    }
    return out;
  }
}

function wordsBytes(words: Uint32Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setUint32(4 * i, w, true));
  return bytes;
}

/** Share points are x = registration index + 1. */
export function shareX(id: string): number {
  return Number(id.slice(1)) + 1;
}

/** The secrets the revealed shares rebuild (owners with at least t shares), as 32-byte strings. */
export function rebuild(responses: Iterable<UnmaskMessage | Error>, field: 'selfMaskShares' | 'keyShares', threshold: number): Map<string, Uint8Array> {
  const byOwner = new Map<string, { x: number; y: bigint }[]>();
  for (const response of responses) {
    if (response instanceof Error) continue;
    for (const { owner, share } of response[field]) {
      const list = byOwner.get(owner) ?? [];
      list.push({ x: shareX(response.sender), y: share.reduce((v, b) => (v << 8n) | BigInt(b), 0n) });
      byOwner.set(owner, list);
    }
  }
  const secrets = new Map<string, Uint8Array>();
  for (const [owner, shares] of byOwner) {
    if (shares.length < threshold) continue;
    const value = shamirCombine(shares, threshold);
    secrets.set(owner, Uint8Array.from({ length: 32 }, (_, i) => Number((value >> BigInt(8 * (31 - i))) & 0xffn)));
  }
  return secrets;
}

/** PRG seed of the pair (u, v) from u's rebuilt X25519 scalar and v's public key: X25519, then HKDF-SHA256 (salt = round id). */
export async function pairwiseSeed(scalar: Uint8Array, peerPublicKey: Uint8Array, roundId: string): Promise<Uint8Array> {
  const privateKey = await crypto.subtle.importKey('pkcs8', new Uint8Array([...X25519_PKCS8_PREFIX, ...scalar]), { name: 'X25519' }, false, ['deriveBits']);
  const publicKey = await crypto.subtle.importKey('raw', new Uint8Array(peerPublicKey), { name: 'X25519' }, true, []);
  const secret = await crypto.subtle.deriveBits({ name: 'X25519', public: publicKey }, privateKey, 256);
  const ikm = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
  const params = { name: 'HKDF', hash: 'SHA-256', salt: new TextEncoder().encode(roundId), info: MASK_INFO };
  return new Uint8Array(await crypto.subtle.deriveBits(params, ikm, 256));
}

/**
 * The attacker's unmasking of the group `members`: the sum of their masked inputs minus each
 * member's self mask (rebuilt b_u) and minus the pairwise masks towards `cut` (rebuilt s_v^SK of
 * each v in `cut`); masks between two members cancel in the sum. Throws if a needed secret is missing.
 */
export async function stripMasks(
  server: MaliciousServer,
  members: readonly string[],
  cut: readonly string[],
  selfMaskSeeds: Map<string, Uint8Array>,
  keys: Map<string, Uint8Array>,
): Promise<Uint32Array> {
  const { bits, length } = server.shape;
  const sum = new Uint32Array(length);
  const masks: { seed: Uint8Array; subtract?: boolean }[] = [];
  for (const u of members) {
    const y = server.masked.get(u)!;
    y.maskedInput.forEach((w, j) => (sum[j] = (sum[j]! + w) >>> 0));
    const seed = selfMaskSeeds.get(u);
    if (seed === undefined) throw new Error(`the self-mask seed of ${u} was not revealed`);
    masks.push({ seed, subtract: true });
    for (const v of y.maskedWith.filter((p) => cut.includes(p))) {
      const scalar = keys.get(v);
      if (scalar === undefined) throw new Error(`the masking key of ${v} was not revealed`);
      const seedUV = await pairwiseSeed(scalar, server.advertised.get(u)!.sPublicKey, server.setup.roundId);
      // y_u carries +PRG(s_uv) when u < v and -PRG(s_uv) when u > v: take it back out.
      masks.push({ seed: seedUV, subtract: shareX(u) < shareX(v) });
    }
  }
  return applyMasks(sum.map((w) => w & (2 ** bits - 1)), masks, bits);
}

/**
 * A malicious client that deals its own shares: it advertises its own X25519 keys and, in
 * ShareKeys, may deal some holders an s-key share of another polynomial ('other-polynomial', still
 * encrypted as the protocol says) or a ciphertext that does not open ('garbage'). It then drops
 * out, so its masking key is what the round rebuilds from its shares.
 */
export class MaliciousDealer {
  #cKeys!: CryptoKeyPair;
  #sKeys!: CryptoKeyPair;

  constructor(readonly id: string, readonly signingKey: SigningKeyPair) {}

  async advertiseKeys(setup: SetupMessage): Promise<AdvertiseKeysMessage> {
    this.#cKeys = (await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair;
    this.#sKeys = (await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair;
    const raw = async (key: CryptoKey) => new Uint8Array(await crypto.subtle.exportKey('raw', key));
    return signMessage<AdvertiseKeysMessage>(
      {
        type: 'advertise-keys',
        roundId: setup.roundId,
        sender: this.id,
        cPublicKey: await raw(this.#cKeys.publicKey),
        sPublicKey: await raw(this.#sKeys.publicKey),
        signingPublicKey: this.signingKey.publicKey,
      },
      this.signingKey.privateKey,
    );
  }

  async shareKeys(setup: SetupMessage, keys: PublicKeysMessage, deal: (holder: string) => 'other-polynomial' | 'garbage' | 'not-a-field-element' | undefined): Promise<ShareKeysMessage> {
    const { roundId, threshold, clients } = setup;
    const holders = [this.id, ...keys.keys.map((k) => k.id).filter((id) => id !== this.id)];
    const xs = holders.map((id) => clients.indexOf(id) + 1);
    const d = (await crypto.subtle.exportKey('jwk', this.#sKeys.privateKey)).d!;
    const scalar = BigInt(`0x${Buffer.from(d, 'base64url').toString('hex')}`);
    const seed = BigInt(`0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}`);
    const keyShares = shamirSplit(scalar, threshold, xs.length, { xs });
    const maskShares = shamirSplit(seed, threshold, xs.length, { xs });
    const otherKeyShares = shamirSplit(scalar ^ 1n, threshold, xs.length, { xs });
    const bytes = (v: bigint) => Uint8Array.from(Buffer.from(v.toString(16).padStart(132, '0'), 'hex'));
    const shares = [];
    for (const [i, holder] of holders.entries()) {
      if (holder === this.id) continue;
      const how = deal(holder);
      const { key, selfMask } = await this.#shareKeys(roundId, clients, holder, keys);
      // 'not-a-field-element': 66 bytes of 0xff, 2^528 - 1 >= the Shamir prime 2^521 - 1 (sealed with the right key: it opens)
      const keyShare = await seal(key, how === 'not-a-field-element' ? new Uint8Array(66).fill(0xff) : bytes((how === 'other-polynomial' ? otherKeyShares : keyShares)[i]!.y));
      const selfMaskShare = await seal(selfMask, bytes(maskShares[i]!.y));
      if (how === 'garbage') keyShare[0] = keyShare[0]! ^ 1;
      shares.push({ peer: holder, keyShare, selfMaskShare });
    }
    expect(shares).toHaveLength(holders.length - 1);
    const commitment = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes(seed)));
    return signMessage<ShareKeysMessage>(
      { type: 'share-keys', roundId, sender: this.id, shares, rejected: [], selfMaskCommitment: commitment },
      this.signingKey.privateKey,
    );
  }

  /** The keys of this dealer's shares for `holder`: X25519, then HKDF over the pair in registration order (crypto.ts, deriveShareKeys). */
  async #shareKeys(roundId: string, clients: readonly string[], holder: string, keys: PublicKeysMessage): Promise<{ key: Uint8Array; selfMask: Uint8Array }> {
    const peer = keys.keys.find((k) => k.id === holder)!;
    const peerKey = await crypto.subtle.importKey('raw', new Uint8Array(peer.cPublicKey), { name: 'X25519' }, true, []);
    const secret = await crypto.subtle.deriveBits({ name: 'X25519', public: peerKey }, this.#cKeys.privateKey, 256);
    const [a, b] = clients.indexOf(this.id) < clients.indexOf(holder) ? [this.id, holder] : [holder, this.id];
    const field = (text: string) => {
      const utf8 = new TextEncoder().encode(text);
      const out = new Uint8Array(4 + utf8.length);
      new DataView(out.buffer).setUint32(0, utf8.length, false);
      out.set(utf8, 4);
      return out;
    };
    const info = new Uint8Array([...SHARE_KEYS_INFO, ...field(a), ...field(b)]);
    const ikm = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
    const all = new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new TextEncoder().encode(roundId), info }, ikm, 1024));
    const at = a === this.id ? 0 : 64;
    return { key: all.slice(at, at + 32), selfMask: all.slice(at + 32, at + 64) };
  }
}

/** AES-GCM-256 with the constant zero IV (each share key encrypts one share). */
async function seal(key: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
  const aes = await crypto.subtle.importKey('raw', new Uint8Array(key), 'AES-GCM', false, ['encrypt']);
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, aes, new Uint8Array(plaintext)));
}
