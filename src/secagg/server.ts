// The server of secure aggregation (Bonawitz et al. 2017, Fig. 4, semi-honest version; SecAgg+
// neighbourhoods of Bell et al. 2020). It relays keys and encrypted shares, collects masked
// inputs and finally removes the masks:
//   sum = sum_{u in U3} y_u - sum_{u in U3} PRG(b_u) -/+ sum_{u in U2\U3, v in U3 neighbour of u} PRG(s_uv)
// where U1 advertised keys, U2 shared keys, U3 sent masked inputs. b_u is rebuilt from the
// survivors' shares, s_u^SK of each client that dropped after ShareKeys from its neighbours' shares.
// Rounds: setup() -> receive(AdvertiseKeys)* -> closeAdvertiseKeys() -> receive(ShareKeys)* ->
// closeShareKeys() -> receive(MaskedInput)* -> closeMaskedInput() -> receive(Unmasking)* ->
// closeUnmasking(). A message that fails a check, and a close that finds fewer than `threshold`
// clients (E_THRESHOLD), leave the server as it was: the round can still be completed.
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { ready } from '../wasm/runtime.js';
import { checkVector, SHARE_PLAINTEXT_BYTES } from './client.js';
import {
  GCM_TAG_BYTES,
  IV_BYTES,
  PUBLIC_KEY_BYTES,
  deriveMaskSeed,
  detectKeyAgreement,
  importPrivateScalar,
  importPublicKey,
  sharedSecret,
  type KeyAgreementCurve,
} from './crypto.js';
import { communicationGraph } from './graph.js';
import { maskedSum, type Mask } from './masks.js';
import {
  checkMessage,
  checkRoundParameters,
  toBase64Url,
  type AdvertiseKeysMessage,
  type ClientMessage,
  type EncryptedShare,
  type EncryptedSharesMessage,
  type MaskedInputMessage,
  type PublicKeysMessage,
  type RevealedShare,
  type SetupMessage,
  type ShareKeysMessage,
  type UnmaskMessage,
  type UnmaskRequestMessage,
} from './messages.js';
import { SHAMIR_PRIME, SHAMIR_SHARE_BYTES, bigIntToBytes, bytesToBigInt, shamirCombiner, type ShamirShare } from './shamir.js';

export interface SecAggServerOptions {
  /** Ids of the clients registered for the round (distinct); their order fixes mask signs and share points. */
  clients: readonly string[];
  /** Inputs live in Z_2^bits, 1 <= bits <= 32. */
  bits: number;
  /** Length of every input vector. */
  length: number;
  /**
   * Shamir threshold t: every round needs >= t clients (per neighbourhood with SecAgg+, a client
   * counting in its own neighbourhood). The server learns only the sum as long as fewer than t
   * clients (of any neighbourhood) collude with it; t > n/2 (t > (k + 1)/2) is the usual choice.
   */
  threshold: number;
  /** SecAgg+ (Bell et al. 2020): each client masks with and shares to k neighbours (even k >= 2). Default: all. */
  neighbours?: number;
  /** Default: 16 random bytes in base64url. */
  roundId?: string;
  /** Key agreement; default X25519 where WebCrypto has it, else P-256. All clients must support it. */
  curve?: KeyAgreementCurve;
}

export type SecAggServerRound = 'setup' | 'advertise-keys' | 'share-keys' | 'masked-input' | 'unmasking' | 'done';

export interface SecAggResult {
  /** Sum of the included clients' inputs mod 2^bits. */
  sum: Uint32Array;
  /** Clients whose inputs are in the sum (U3), in registration order. */
  included: string[];
  /** Registered clients not in the sum, in registration order. */
  dropped: string[];
}

export class SecAggServer {
  readonly #options: SecAggServerOptions & { roundId: string };
  readonly #clients: readonly string[];
  readonly #indexOf: Map<string, number>;
  #round: SecAggServerRound = 'setup';
  #setup: SetupMessage | undefined;
  /** Neighbourhoods: for each client index, its neighbours' indices (fixed by setup). */
  #graph: number[][] = [];
  /** Messages received in each round, by sender; a round's senders are U1, U2, U3, U5. */
  readonly #advertised = new Map<string, AdvertiseKeysMessage>();
  /** ShareKeys ciphertexts by sender, then by recipient. */
  readonly #shared = new Map<string, Map<string, EncryptedShare>>();
  readonly #masked = new Map<string, MaskedInputMessage>();
  readonly #unmasked = new Map<string, UnmaskMessage>();
  readonly #requests = new Map<string, UnmaskRequestMessage>();
  /** Every public key advertised so far (base64url), to refuse repeated keys. */
  readonly #publicKeys = new Set<string>();
  #closing = false;
  #result: SecAggResult | undefined;

  constructor(options: SecAggServerOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new PrivkitError('E_ARG', `options must be an object, got ${describe(options)}`, { argument: 'options' });
    }
    const roundId = options.roundId ?? toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
    checkRoundParameters({ ...options, roundId, graphSeed: new Uint8Array(32), curve: options.curve ?? 'X25519' }, 'E_ARG');
    const clients = [...options.clients];
    this.#options = { ...options, clients, roundId };
    this.#clients = clients;
    this.#indexOf = new Map(clients.map((id, i) => [id, i]));
  }

  get round(): SecAggServerRound {
    return this.#round;
  }

  get roundId(): string {
    return this.#options.roundId;
  }

  /** The setup message (after setup()). */
  get setupMessage(): SetupMessage | undefined {
    return this.#setup;
  }

  /** Clients whose message for the current round has been accepted, in registration order. */
  get receivedFrom(): string[] {
    const received = this.#collected();
    return received === undefined ? [] : this.#ordered(received.keys());
  }

  /** The result, once closeUnmasking() has succeeded. */
  get result(): SecAggResult | undefined {
    return this.#result;
  }

  /** Fixes the key agreement curve and the public graph seed; returns the message every client starts from. */
  async setup(): Promise<SetupMessage> {
    const curve = this.#options.curve ?? (await detectKeyAgreement());
    await ready(); // the graph's keyed permutation runs in wasm
    this.#expect('setup');
    const graphSeed = crypto.getRandomValues(new Uint8Array(32));
    const { roundId, bits, length, threshold, neighbours } = this.#options;
    this.#graph = communicationGraph(this.#clients.length, neighbours, graphSeed);
    this.#setup = {
      type: 'setup',
      roundId,
      clients: [...this.#clients],
      bits,
      length,
      threshold,
      ...(neighbours === undefined ? {} : { neighbours }),
      graphSeed,
      curve,
    };
    this.#round = 'advertise-keys';
    return this.#setup;
  }

  /** Accepts one client message of the current round, or throws (E_PROTOCOL, E_SHAPE, E_ARG) and keeps nothing of it. */
  receive(message: ClientMessage): void {
    if (this.#closing) throw protocolError('the server is closing the unmasking round');
    const round = this.#round;
    if (round === 'setup' || round === 'done') throw protocolError(`no round is collecting messages (state '${round}')`);
    const checked = checkMessage(message, round);
    if (checked.roundId !== this.roundId) throw protocolError(`message of round ${JSON.stringify(checked.roundId)}`);
    const sender = checked.sender;
    if (!this.#indexOf.has(sender)) throw protocolError(`unknown sender ${JSON.stringify(sender)}`);
    if (!this.#completedPreviousRound(sender)) throw protocolError(`${JSON.stringify(sender)} did not complete the previous round`);
    if (this.#collected()!.has(sender)) throw protocolError(`duplicate or replayed '${round}' message from ${JSON.stringify(sender)}`);
    switch (checked.type) {
      case 'advertise-keys':
        this.#checkAdvertise(checked);
        this.#advertised.set(sender, checked);
        for (const key of [checked.cPublicKey, checked.sPublicKey]) this.#publicKeys.add(toBase64Url(key));
        break;
      case 'share-keys':
        this.#checkShareKeys(checked);
        this.#shared.set(sender, new Map(checked.shares.map((share) => [share.peer, share])));
        break;
      case 'masked-input':
        checkVector('maskedInput', checked.maskedInput, this.#options.length, this.#options.bits);
        this.#masked.set(sender, checked);
        break;
      case 'unmasking':
        this.#checkUnmask(checked);
        this.#unmasked.set(sender, checked);
        break;
    }
  }

  /** Ends AdvertiseKeys: each client of U1 gets the public keys of its neighbourhood within U1. */
  closeAdvertiseKeys(): Map<string, PublicKeysMessage> {
    this.#expect('advertise-keys');
    const u1 = new Set(this.#advertised.keys());
    this.#checkNeighbourhoods(u1, u1, 'advertised keys');
    const out = new Map<string, PublicKeysMessage>();
    for (const u of this.#ordered(u1)) {
      const members = this.#ordered([u, ...this.#neighbours(u)].filter((v) => u1.has(v)));
      const keys = members.map((id) => {
        const { cPublicKey, sPublicKey } = this.#advertised.get(id)!;
        return { id, cPublicKey, sPublicKey };
      });
      out.set(u, { type: 'public-keys', roundId: this.roundId, recipient: u, keys });
    }
    this.#round = 'share-keys';
    return out;
  }

  /** Ends ShareKeys: each client of U2 gets the ciphertexts addressed to it by its neighbours in U2. */
  closeShareKeys(): Map<string, EncryptedSharesMessage> {
    this.#expect('share-keys');
    const u2 = new Set(this.#shared.keys());
    this.#checkNeighbourhoods(u2, u2, 'shared keys');
    const out = new Map<string, EncryptedSharesMessage>();
    for (const v of this.#ordered(u2)) {
      const shares = this.#ordered(this.#neighbours(v).filter((u) => u2.has(u))).map((u) => {
        const { iv, ciphertext } = this.#shared.get(u)!.get(v)!;
        return { peer: u, iv, ciphertext };
      });
      out.set(v, { type: 'encrypted-shares', roundId: this.roundId, recipient: v, shares });
    }
    this.#round = 'masked-input';
    return out;
  }

  /**
   * Ends MaskedInputCollection: asks each client of U3 for the b-shares of its neighbourhood's
   * survivors (U3) and the s-key shares of its neighbours that dropped after ShareKeys (U2 \ U3).
   */
  closeMaskedInput(): Map<string, UnmaskRequestMessage> {
    this.#expect('masked-input');
    const u2 = new Set(this.#shared.keys());
    const u3 = new Set(this.#masked.keys());
    // Every secret to rebuild (b_u for u in U3, s_u^SK for u in U2 \ U3) needs t holders in U3.
    this.#checkNeighbourhoods(u2, u3, 'sent masked inputs');
    const requests = new Map<string, UnmaskRequestMessage>();
    for (const v of this.#ordered(u3)) {
      const neighbourhood = [v, ...this.#neighbours(v)].filter((u) => u2.has(u));
      requests.set(v, {
        type: 'unmask-request',
        roundId: this.roundId,
        recipient: v,
        survivors: this.#ordered(neighbourhood.filter((u) => u3.has(u))),
        dropped: this.#ordered(neighbourhood.filter((u) => !u3.has(u))),
      });
    }
    for (const [v, request] of requests) this.#requests.set(v, request);
    this.#round = 'unmasking';
    return requests;
  }

  /**
   * Ends Unmasking: rebuilds b_u (u in U3) and s_u^SK (u in U2 \ U3) from t shares each, removes
   * the self masks and the dropped clients' pairwise masks, and returns the sum of U3's inputs.
   */
  async closeUnmasking(): Promise<SecAggResult> {
    this.#expect('unmasking');
    const { bits, threshold, length } = this.#options;
    const curve = this.#setup!.curve;
    const u3 = new Set(this.#masked.keys());
    const survivors = this.#ordered(u3);
    const dropped = this.#ordered([...this.#shared.keys()].filter((u) => !u3.has(u)));
    const responses = [...this.#unmasked.values()];
    if (responses.length < threshold) throw thresholdError(`${responses.length} clients answered the unmask request, threshold is ${threshold}`);
    // Shares by owner: b-shares of survivors, s-key shares of dropped clients, each at x = holder index + 1.
    const selfMaskShares = this.#sharesByOwner(responses, (r) => r.selfMaskShares);
    const keyShares = this.#sharesByOwner(responses, (r) => r.keyShares);
    const needed = [
      ...survivors.map((u) => [u, selfMaskShares, 'self-mask seed'] as const),
      ...dropped.map((u) => [u, keyShares, 'masking key'] as const),
    ];
    for (const [u, shares, what] of needed) {
      const count = shares.get(u)?.length ?? 0;
      if (count < threshold) {
        throw thresholdError(`${count} shares of the ${what} of ${JSON.stringify(u)} arrived, threshold is ${threshold}`);
      }
    }
    this.#closing = true;
    try {
      const combine = shamirCombiner(threshold);
      const masks: Mask[] = [];
      for (const u of survivors) masks.push({ seed: secretBytes(combine(selfMaskShares.get(u)!), 32, u), subtract: true });
      const pairwise = await Promise.all(
        dropped.map(async (u) => {
          const scalar = secretBytes(combine(keyShares.get(u)!), 32, u);
          const sKey = await importPrivateScalar(curve, scalar, this.#advertised.get(u)!.sPublicKey);
          const maskedWithU = this.#neighbours(u).filter((v) => u3.has(v));
          return Promise.all(
            maskedWithU.map(async (v): Promise<Mask> => {
              const secret = await sharedSecret(curve, sKey, await importPublicKey(curve, this.#advertised.get(v)!.sPublicKey));
              // y_v carries +PRG(s_uv) when u > v and -PRG(s_uv) when u < v: take it back out.
              return { seed: await deriveMaskSeed(secret, this.roundId), subtract: this.#indexOf.get(v)! < this.#indexOf.get(u)! };
            }),
          );
        }),
      );
      masks.push(...pairwise.flat());
      await ready();
      // Sum of the masked inputs and removal of the masks in one chunked pass in wasm.
      const sum = maskedSum(
        [...this.#masked.values()].map(({ maskedInput }) => maskedInput),
        masks,
        bits,
        length,
      );
      this.#result = { sum, included: survivors, dropped: this.#clients.filter((id) => !u3.has(id)) };
      this.#round = 'done';
      return this.#result;
    } finally {
      this.#closing = false;
    }
  }

  #expect(round: SecAggServerRound): void {
    if (this.#round !== round) throw protocolError(`the server is in state '${this.#round}', not '${round}'`);
    if (this.#closing) throw protocolError('the server is closing the unmasking round');
  }

  #collected(): Map<string, unknown> | undefined {
    switch (this.#round) {
      case 'advertise-keys':
        return this.#advertised;
      case 'share-keys':
        return this.#shared;
      case 'masked-input':
        return this.#masked;
      case 'unmasking':
        return this.#unmasked;
      default:
        return undefined;
    }
  }

  /** Senders of the current round must have completed the previous one (any registered client may advertise keys). */
  #completedPreviousRound(sender: string): boolean {
    switch (this.#round) {
      case 'share-keys':
        return this.#advertised.has(sender);
      case 'masked-input':
        return this.#shared.has(sender);
      case 'unmasking':
        return this.#requests.has(sender);
      default:
        return true;
    }
  }

  #neighbours(id: string): string[] {
    return this.#graph[this.#indexOf.get(id)!]!.map((v) => this.#clients[v]!);
  }

  #ordered(ids: Iterable<string>): string[] {
    return [...ids].sort((a, b) => this.#indexOf.get(a)! - this.#indexOf.get(b)!);
  }

  /**
   * `holders` must reach t, and so must the members of each owner's neighbourhood (the owner and
   * its neighbours) in `holders`: they hold the owner's shares.
   */
  #checkNeighbourhoods(owners: Set<string>, holders: Set<string>, what: string): void {
    const t = this.#options.threshold;
    if (holders.size < t) throw thresholdError(`${holders.size} clients ${what}, threshold is ${t}`);
    for (const u of this.#ordered(owners)) {
      const count = this.#neighbours(u).filter((v) => holders.has(v)).length + (holders.has(u) ? 1 : 0);
      if (count < t) throw thresholdError(`${count} clients of the neighbourhood of ${JSON.stringify(u)} ${what}, threshold is ${t}`);
    }
  }

  #checkAdvertise(message: AdvertiseKeysMessage): void {
    const size = PUBLIC_KEY_BYTES[this.#setup!.curve];
    for (const key of [message.cPublicKey, message.sPublicKey]) {
      if (key.length !== size) throw protocolError(`a ${this.#setup!.curve} public key has ${size} bytes, got ${key.length}`);
    }
    const [c, s] = [toBase64Url(message.cPublicKey), toBase64Url(message.sPublicKey)];
    if (c === s || this.#publicKeys.has(c) || this.#publicKeys.has(s)) throw protocolError('public keys repeat keys already advertised');
  }

  /** ShareKeys must carry exactly one well-sized ciphertext for each neighbour in U1. */
  #checkShareKeys(message: ShareKeysMessage): void {
    const expected = new Set(this.#neighbours(message.sender).filter((v) => this.#advertised.has(v)));
    const seen = new Set<string>();
    for (const share of message.shares) {
      if (!expected.has(share.peer) || seen.has(share.peer)) {
        throw protocolError(`unexpected or repeated share recipient ${JSON.stringify(share.peer)}`);
      }
      if (share.iv.length !== IV_BYTES || share.ciphertext.length !== SHARE_PLAINTEXT_BYTES + GCM_TAG_BYTES) {
        throw protocolError(`the ciphertext for ${JSON.stringify(share.peer)} has the wrong size`);
      }
      seen.add(share.peer);
    }
    if (seen.size !== expected.size) throw protocolError(`${expected.size - seen.size} neighbours got no share`);
  }

  /** Unmasking must answer exactly the request sent to that client (each owner once), with field elements. */
  #checkUnmask(message: UnmaskMessage): void {
    const request = this.#requests.get(message.sender)!;
    const same = (revealed: RevealedShare[], owners: string[]) => {
      const asked = new Set(owners);
      return revealed.length === asked.size && new Set(revealed.map((r) => r.owner)).size === asked.size && revealed.every((r) => asked.has(r.owner));
    };
    if (!same(message.selfMaskShares, request.survivors) || !same(message.keyShares, request.dropped)) {
      throw protocolError('the revealed shares do not answer the unmask request');
    }
    for (const { share } of [...message.selfMaskShares, ...message.keyShares]) {
      if (share.length !== SHAMIR_SHARE_BYTES || bytesToBigInt(share) >= SHAMIR_PRIME) throw protocolError('a revealed share is not a field element');
    }
  }

  #sharesByOwner(responses: UnmaskMessage[], pick: (r: UnmaskMessage) => RevealedShare[]): Map<string, ShamirShare[]> {
    const byOwner = new Map<string, ShamirShare[]>();
    for (const response of responses) {
      const x = this.#indexOf.get(response.sender)! + 1;
      for (const { owner, share } of pick(response)) {
        if (!byOwner.has(owner)) byOwner.set(owner, []);
        byOwner.get(owner)!.push({ x, y: bytesToBigInt(share) });
      }
    }
    return byOwner;
  }
}

/** A rebuilt 32-byte secret; a value >= 2^256 means the shares were inconsistent -> E_AUTH. */
function secretBytes(value: bigint, bytes: number, owner: string): Uint8Array {
  if (value >> BigInt(8 * bytes) !== 0n) throw new PrivkitError('E_AUTH', `the shares of ${JSON.stringify(owner)} are inconsistent`);
  return bigIntToBytes(value, bytes);
}

function protocolError(message: string): PrivkitError {
  return new PrivkitError('E_PROTOCOL', message, { argument: 'message' });
}

function thresholdError(message: string): PrivkitError {
  return new PrivkitError('E_THRESHOLD', message);
}
