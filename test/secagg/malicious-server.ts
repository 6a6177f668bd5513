// A deviating secure-aggregation server for the attack tests: it drives real SecAggClients through
// the public message API, but builds every server message itself, so a test can give each client a
// different view (which peers' shares it gets, which clients it is told dropped). What it collects
// is all a real server would see; the attacker's arithmetic (rebuilding secrets from revealed
// shares, recomputing pairwise masks, stripping masks) uses only the protocol's public specification.
import { applyMasks, shamirCombine, SecAggClient, type SetupMessage } from 'privkit/secagg';
import type {
  AdvertiseKeysMessage,
  EncryptedSharesMessage,
  MaskedInputMessage,
  ShareKeysMessage,
  UnmaskMessage,
} from 'privkit/secagg';

const MASK_INFO = new TextEncoder().encode('privkit/secagg/v1 pairwise mask seed');
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
  setup!: SetupMessage;
  readonly advertised = new Map<string, AdvertiseKeysMessage>();
  readonly shared = new Map<string, ShareKeysMessage>();
  readonly masked = new Map<string, MaskedInputMessage>();

  constructor(readonly shape: RoundShape) {
    this.ids = Array.from({ length: shape.n }, (_, i) => `c${i}`);
    this.clients = this.ids.map((id) => new SecAggClient(id));
  }

  client(id: string): SecAggClient {
    return this.clients[this.ids.indexOf(id)]!;
  }

  /** Setup, AdvertiseKeys and ShareKeys, run honestly; `neighbourhood(id)` lists whose keys each client gets (default all). */
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
        const { cPublicKey, sPublicKey } = this.advertised.get(id)!;
        return { id, cPublicKey, sPublicKey };
      });
      this.shared.set(c.id, await c.shareKeys({ type: 'public-keys', roundId: this.setup.roundId, recipient: c.id, keys }));
    }
  }

  /** Each client gets the encrypted shares of exactly the senders `view(id)` lists, then sends its masked input. */
  async maskedInputs(view: (id: string) => string[], inputs: (id: string) => Uint32Array): Promise<void> {
    for (const c of this.clients) {
      const shares = view(c.id).map((sender) => {
        const share = this.shared.get(sender)!.shares.find((s) => s.peer === c.id)!;
        return { peer: sender, iv: share.iv, ciphertext: share.ciphertext };
      });
      const message: EncryptedSharesMessage = { type: 'encrypted-shares', roundId: this.setup.roundId, recipient: c.id, shares };
      this.masked.set(c.id, await c.maskedInput(message, inputs(c.id)));
    }
  }

  /** Sends each listed client its own unmask request; returns the responses (a refusal is kept as the error). */
  async unmask(requests: Map<string, { survivors: string[]; dropped: string[] }>): Promise<Map<string, UnmaskMessage | Error>> {
    const out = new Map<string, UnmaskMessage | Error>();
    for (const [id, { survivors, dropped }] of requests) {
      const request = { type: 'unmask-request', roundId: this.setup.roundId, recipient: id, survivors, dropped } as const;
      out.set(id, await this.client(id).unmask(request).catch((error: Error) => error));
    }
    return out;
  }
}

/** Share points are x = registration index + 1. */
export function shareX(id: string): number {
  return Number(id.slice(1)) + 1;
}

/** The secrets the revealed shares rebuild (owners with at least t shares), as 32-byte strings. */
export function rebuild(
  responses: Iterable<UnmaskMessage | Error>,
  field: 'selfMaskShares' | 'keyShares',
  threshold: number,
): Map<string, Uint8Array> {
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
  const pkcs8 = new Uint8Array([...X25519_PKCS8_PREFIX, ...scalar]);
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'X25519' }, false, ['deriveBits']);
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
  peersOf: (id: string) => string[],
): Promise<Uint32Array> {
  const { bits, length } = server.shape;
  const sum = new Uint32Array(length);
  const masks: { seed: Uint8Array; subtract?: boolean }[] = [];
  for (const u of members) {
    server.masked.get(u)!.maskedInput.forEach((w, j) => (sum[j] = (sum[j]! + w) >>> 0));
    const seed = selfMaskSeeds.get(u);
    if (seed === undefined) throw new Error(`the self-mask seed of ${u} was not revealed`);
    masks.push({ seed, subtract: true });
    for (const v of peersOf(u).filter((p) => cut.includes(p))) {
      const scalar = keys.get(v);
      if (scalar === undefined) throw new Error(`the masking key of ${v} was not revealed`);
      const seedUV = await pairwiseSeed(scalar, server.advertised.get(u)!.sPublicKey, server.setup.roundId);
      // y_u carries +PRG(s_uv) when u < v and -PRG(s_uv) when u > v: take it back out.
      masks.push({ seed: seedUV, subtract: shareX(u) < shareX(v) });
    }
  }
  return applyMasks(sum.map((w) => w & (2 ** bits - 1)), masks, bits);
}
