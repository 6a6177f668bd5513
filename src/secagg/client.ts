// The client of secure aggregation (Bonawitz et al. 2017, Fig. 4, semi-honest server), with the
// SecAgg+ neighbourhoods of Bell et al. 2020. One SecAggClient runs one aggregation round; each
// method takes the server's message that closes the previous round and returns the client's
// message for the next:
//   advertiseKeys(setup)          -> AdvertiseKeys: fresh c (encryption) and s (masking) key pairs
//   shareKeys(publicKeys)         -> ShareKeys: t-of-n Shamir shares of s_u^SK and of b_u, encrypted per neighbour,
//                                    and a commitment C_u to b_u (the server checks the rebuilt b_u against it)
//   maskedInput(shares, x_u)      -> MaskedInputCollection: y_u = x_u + PRG(b_u) + sum_{v>u} PRG(s_uv) - sum_{v<u} PRG(s_uv)
//   unmask(request)               -> Unmasking: b-shares of survivors, s-key shares of dropped clients, never both for one client
// A call that throws leaves the client as it was (nothing is committed before every check passed).
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { ready } from '../wasm/runtime.js';
import {
  commitSelfMaskSeed,
  encryptShare,
  decryptShare,
  deriveMaskSeed,
  deriveShareKey,
  equalBytes,
  exportPrivateScalar,
  generateAgreementKeyPair,
  importPublicKey,
  sharedSecret,
  shareAssociatedData,
  concat,
  type AgreementKeyPair,
} from './crypto.js';
import { communicationGraph } from './graph.js';
import { applyMasks, type Mask } from './masks.js';
import {
  checkMessage,
  checkRoundParameters,
  checkVector,
  protocolError,
  thresholdError,
  toBase64Url,
  type AdvertiseKeysMessage,
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
import { SHAMIR_SHARE_BYTES, bigIntToBytes, bytesToBigInt, shamirSplit } from './shamir.js';

/** The server message a client waits for next. */
export type SecAggClientState = 'setup' | 'public-keys' | 'encrypted-shares' | 'unmask-request' | 'done';

/** Plaintext of one encrypted share: the s_u^SK share then the b_u share, each a field element. */
export const SHARE_PLAINTEXT_BYTES = 2 * SHAMIR_SHARE_BYTES;

interface HeldShares {
  keyShare: Uint8Array;
  selfMaskShare: Uint8Array;
}

interface RoundContext {
  setup: SetupMessage;
  index: number;
  indexOf: Map<string, number>;
  /** Ids of this client's neighbours (all other clients without SecAgg+). */
  neighbours: Set<string>;
  cKeys: AgreementKeyPair;
  sKeys: AgreementKeyPair;
  sScalar: Uint8Array;
  /** b_u, the self-mask seed. */
  selfMaskSeed: Uint8Array;
}

interface Peer {
  sPublicKey: CryptoKey;
  shareKey: CryptoKey;
}

export class SecAggClient {
  readonly id: string;
  #state: SecAggClientState = 'setup';
  #busy = false;
  #round: RoundContext | undefined;
  /** Neighbours that advertised keys (U1 within the neighbourhood). */
  #peers = new Map<string, Peer>();
  /** Shares this client holds, by owner: its own and those of the neighbours in U2. */
  #held = new Map<string, HeldShares>();

  constructor(id: string) {
    if (typeof id !== 'string' || id.length === 0) {
      throw new PrivkitError('E_ARG', `id must be a non-empty string, got ${describe(id)}`, { argument: 'id' });
    }
    this.id = id;
  }

  /** The server message this client expects next. */
  get state(): SecAggClientState {
    return this.#state;
  }

  /** AdvertiseKeys: checks the round parameters and returns two fresh public keys. */
  advertiseKeys(setup: SetupMessage): Promise<AdvertiseKeysMessage> {
    return this.#step('setup', 'public-keys', async () => {
      checkMessage(setup, 'setup');
      checkRoundParameters(setup, 'E_PROTOCOL');
      const index = setup.clients.indexOf(this.id);
      if (index < 0) throw protocolError(`client ${JSON.stringify(this.id)} is not registered for this round`);
      await ready(); // the graph's keyed permutation and the masks run in wasm
      const graph = communicationGraph(setup.clients.length, setup.neighbours, setup.graphSeed);
      const [cKeys, sKeys] = await Promise.all([generateAgreementKeyPair(setup.curve), generateAgreementKeyPair(setup.curve)]);
      const sScalar = await exportPrivateScalar(sKeys.privateKey);
      this.#round = {
        setup: { ...setup, clients: [...setup.clients] },
        index,
        indexOf: new Map(setup.clients.map((id, i) => [id, i])),
        neighbours: new Set(graph[index]!.map((v) => setup.clients[v]!)),
        cKeys,
        sKeys,
        sScalar,
        selfMaskSeed: crypto.getRandomValues(new Uint8Array(32)),
      };
      return { type: 'advertise-keys', roundId: setup.roundId, sender: this.id, cPublicKey: cKeys.publicKey, sPublicKey: sKeys.publicKey };
    });
  }

  /**
   * ShareKeys: agrees an encryption key with each neighbour in U1 and sends it its shares of
   * s_u^SK and b_u; tells the server the commitment C_u to b_u.
   */
  shareKeys(message: PublicKeysMessage): Promise<ShareKeysMessage> {
    return this.#step('public-keys', 'encrypted-shares', async () => {
      const round = this.#round!;
      const { roundId, threshold, curve } = round.setup;
      this.#checkAddressed(checkMessage(message, 'public-keys'));
      const ids = new Set<string>();
      const keys = new Set<string>();
      for (const entry of message.keys) {
        if (entry.id !== this.id && !round.neighbours.has(entry.id)) {
          throw protocolError(`public keys of ${JSON.stringify(entry.id)}, who is not a neighbour`);
        }
        if (ids.has(entry.id)) throw protocolError(`duplicate public keys for ${JSON.stringify(entry.id)}`);
        ids.add(entry.id);
        for (const key of [entry.cPublicKey, entry.sPublicKey]) {
          const text = toBase64Url(key);
          if (keys.has(text)) throw protocolError('two advertised public keys are equal'); // Fig. 4: all keys distinct
          keys.add(text);
        }
      }
      const own = message.keys.find((entry) => entry.id === this.id);
      if (own === undefined || !equalBytes(own.cPublicKey, round.cKeys.publicKey) || !equalBytes(own.sPublicKey, round.sKeys.publicKey)) {
        throw protocolError("the broadcast does not carry this client's own public keys");
      }
      if (message.keys.length < threshold) {
        throw thresholdError(`${message.keys.length} clients of the neighbourhood advertised keys, threshold is ${threshold}`);
      }
      const others = this.#inClientOrder(message.keys.filter((entry) => entry.id !== this.id));
      const peers = await Promise.all(
        others.map(async (entry): Promise<[string, Peer]> => {
          const [cPublic, sPublicKey] = await Promise.all([importPublicKey(curve, entry.cPublicKey), importPublicKey(curve, entry.sPublicKey)]);
          const secret = await sharedSecret(curve, round.cKeys.privateKey, cPublic);
          return [entry.id, { sPublicKey, shareKey: await deriveShareKey(secret, roundId) }];
        }),
      );
      // Shamir shares at x = index + 1 of every neighbourhood member that advertised, this client included.
      const holders = [this.id, ...others.map((entry) => entry.id)];
      const xs = holders.map((id) => round.indexOf.get(id)! + 1);
      const keyShares = shamirSplit(bytesToBigInt(round.sScalar), threshold, xs.length, { xs });
      const maskShares = shamirSplit(bytesToBigInt(round.selfMaskSeed), threshold, xs.length, { xs });
      const plaintext = (i: number) =>
        concat([bigIntToBytes(keyShares[i]!.y, SHAMIR_SHARE_BYTES), bigIntToBytes(maskShares[i]!.y, SHAMIR_SHARE_BYTES)]);
      const [selfMaskCommitment, shares] = await Promise.all([
        commitSelfMaskSeed(roundId, this.id, round.selfMaskSeed),
        Promise.all(
          others.map(async (entry, j): Promise<EncryptedShare> => {
            const aad = shareAssociatedData(roundId, this.id, entry.id);
            return { peer: entry.id, ...(await encryptShare(peers[j]![1].shareKey, plaintext(j + 1), aad)) };
          }),
        ),
      ]);
      this.#peers = new Map(peers);
      this.#held = new Map([[this.id, splitShares(plaintext(0))]]);
      return { type: 'share-keys', roundId, sender: this.id, shares, selfMaskCommitment };
    });
  }

  /**
   * MaskedInputCollection: decrypts the shares of the neighbours in U2 (a failed authentication
   * -> E_AUTH, nothing kept) and returns y_u = x_u + PRG(b_u) + sum_{v in U2, v>u} PRG(s_uv) -
   * sum_{v in U2, v<u} PRG(s_uv) mod 2^bits (Bonawitz et al. 2017, §4: double masking).
   */
  maskedInput(message: EncryptedSharesMessage, input: Uint32Array): Promise<MaskedInputMessage> {
    return this.#step('encrypted-shares', 'unmask-request', async () => {
      const round = this.#round!;
      const { roundId, bits, length, threshold, curve } = round.setup;
      checkVector('input', input, length, bits);
      this.#checkAddressed(checkMessage(message, 'encrypted-shares'));
      const senders = new Set<string>();
      for (const share of message.shares) {
        if (!this.#peers.has(share.peer)) throw protocolError(`shares from ${JSON.stringify(share.peer)}, who is not a neighbour in U1`);
        if (senders.has(share.peer)) throw protocolError(`duplicate shares from ${JSON.stringify(share.peer)}`);
        senders.add(share.peer);
      }
      if (senders.size + 1 < threshold) {
        throw thresholdError(`${senders.size + 1} clients of the neighbourhood shared keys, threshold is ${threshold}`);
      }
      const received = await Promise.all(
        message.shares.map(async (share): Promise<[string, HeldShares]> => {
          const aad = shareAssociatedData(roundId, share.peer, this.id);
          const plaintext = await decryptShare(this.#peers.get(share.peer)!.shareKey, share.iv, share.ciphertext, aad, share.peer);
          if (plaintext.length !== SHARE_PLAINTEXT_BYTES) throw protocolError(`the shares from ${JSON.stringify(share.peer)} have the wrong size`);
          return [share.peer, splitShares(plaintext)];
        }),
      );
      const pairwise = await Promise.all(
        [...senders].map(async (v): Promise<Mask> => {
          const secret = await sharedSecret(curve, round.sKeys.privateKey, this.#peers.get(v)!.sPublicKey);
          return { seed: await deriveMaskSeed(secret, roundId), subtract: round.indexOf.get(v)! < round.index };
        }),
      );
      const masks: Mask[] = [{ seed: round.selfMaskSeed }, ...pairwise];
      await ready();
      const maskedInput = applyMasks(Uint32Array.from(input), masks, bits);
      for (const [owner, shares] of received) this.#held.set(owner, shares);
      return { type: 'masked-input', roundId, sender: this.id, maskedInput };
    });
  }

  /**
   * Unmasking: reveals the b-share of each listed survivor and the s-key share of each listed
   * dropped client. Revealing both for one client would let the server unmask its input, so a
   * request that lists a client in both, or lists this client itself as dropped (it sent its
   * masked input, so the server holds its b-shares from the others) -> E_PROTOCOL, nothing
   * revealed, the client unchanged.
   */
  unmask(message: UnmaskRequestMessage): Promise<UnmaskMessage> {
    return this.#step('unmask-request', 'done', async () => {
      const { roundId, threshold } = this.#round!.setup;
      this.#checkAddressed(checkMessage(message, 'unmask-request'));
      const survivors = this.#distinctHeld(message.survivors, 'survivors');
      const dropped = this.#distinctHeld(message.dropped, 'dropped');
      if (dropped.has(this.id)) {
        throw protocolError('the request lists this client as dropped, but it sent its masked input: refusing to reveal its masking key', 'dropped');
      }
      for (const owner of dropped) {
        if (survivors.has(owner)) {
          throw protocolError(`refusing to reveal both the key share and the self-mask share of ${JSON.stringify(owner)}`, 'survivors');
        }
      }
      if (survivors.size < threshold) {
        throw thresholdError(`${survivors.size} clients of the neighbourhood sent masked inputs, threshold is ${threshold}`);
      }
      const reveal = (owners: Set<string>, pick: (held: HeldShares) => Uint8Array): RevealedShare[] =>
        [...owners].map((owner) => ({ owner, share: pick(this.#held.get(owner)!) }));
      const response: UnmaskMessage = {
        type: 'unmasking',
        roundId,
        sender: this.id,
        selfMaskShares: reveal(survivors, (held) => held.selfMaskShare),
        keyShares: reveal(dropped, (held) => held.keyShare),
      };
      // The round is over: forget the secrets.
      this.#round = undefined;
      this.#peers = new Map();
      this.#held = new Map();
      return response;
    });
  }

  /** Runs one round: checks the state, refuses re-entry, advances the state only on success. */
  async #step<T>(expected: SecAggClientState, next: SecAggClientState, body: () => Promise<T>): Promise<T> {
    if (this.#busy) throw protocolError('the previous call of this client has not finished');
    if (this.#state !== expected) {
      throw protocolError(`this client expects a '${this.#state}' message next; this call takes a '${expected}' message`);
    }
    this.#busy = true;
    try {
      const result = await body();
      this.#state = next;
      return result;
    } finally {
      this.#busy = false;
    }
  }

  #checkAddressed(message: { roundId: string; recipient: string }): void {
    if (message.roundId !== this.#round!.setup.roundId) throw protocolError(`message of round ${JSON.stringify(message.roundId)}`);
    if (message.recipient !== this.id) throw protocolError(`message addressed to ${JSON.stringify(message.recipient)}`);
  }

  #inClientOrder<T extends { id: string }>(entries: T[]): T[] {
    const indexOf = this.#round!.indexOf;
    return [...entries].sort((a, b) => indexOf.get(a.id)! - indexOf.get(b.id)!);
  }

  #distinctHeld(owners: readonly string[], argument: string): Set<string> {
    const set = new Set<string>();
    for (const owner of owners) {
      if (!this.#held.has(owner)) throw protocolError(`this client holds no shares of ${JSON.stringify(owner)}`, argument);
      if (set.has(owner)) throw protocolError(`${JSON.stringify(owner)} is listed twice`, argument);
      set.add(owner);
    }
    return set;
  }
}

function splitShares(plaintext: Uint8Array): HeldShares {
  return { keyShare: plaintext.slice(0, SHAMIR_SHARE_BYTES), selfMaskShare: plaintext.slice(SHAMIR_SHARE_BYTES) };
}
