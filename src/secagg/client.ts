// The client of secure aggregation against an active server (Bonawitz et al. 2017, Fig. 4 with the
// ConsistencyCheck round), with the SecAgg+ neighbourhoods of Bell et al. 2020. One SecAggClient
// runs one aggregation round; each method takes the server's message that closes the previous
// round and returns the client's (Ed25519-signed) message for the next:
//   advertiseKeys(setup)            -> AdvertiseKeys: fresh c (encryption) and s (masking) key pairs, the signing key
//   shareKeys(publicKeys)           -> ShareKeys: t-of-n Shamir shares of s_u^SK and of b_u, each encrypted under
//                                      its own key for a neighbour whose signed keys check out; the neighbours
//                                      rejected; a commitment C_u to b_u
//   maskedInput(shares, x_u)        -> MaskedInputCollection: y_u = x_u + PRG(b_u) + sum_{v>u} PRG(s_uv) - sum_{v<u} PRG(s_uv)
//                                      over the neighbours v whose shares decrypted, with the signed
//                                      statement of whom it masked with
//   consistencyCheck(check)         -> ConsistencyCheck: the client's signature on the survivor set S
//   unmask(request)                 -> Unmasking: b-shares of the members of S, s-key shares of the others it holds,
//                                      each with the key it came under (so the server can trace a bad share)
//
// What the server can not make a client do (the application's options are the anchor):
// - join a round with fewer than `minParticipants` registered clients, or sign a survivor set smaller
//   than that, or one that is not connected in the public graph, or leaves a member's neighbourhood
//   with fewer than t members (it would expose partial sums);
// - reveal anything before it holds, for every client whose share it reveals, t signatures on the
//   same S from that client's neighbourhood, and for every revealed self-mask share of u also from
//   the neighbourhood of every neighbour of u in S; an honest client signs one S per round, and t is
//   a majority of a neighbourhood, so at most one S can gather them: every honest client that
//   reveals a share of u, or of a neighbour of u, acts on the same S;
// - reveal u's self-mask share unless u said it masked with every neighbour of u in S, by signing
//   S itself or in its signed masking statement (so u's input can not be cut off from the rest of S
//   by masks it never added);
// - reveal both shares of one client (the survivors' self-mask shares, the others' key shares).
// With these, the only sums the server can unmask are sums over whole signed survivor sets (see
// the README's threat model). With `expectedParticipants` the keys come from the application; without
// it they come from the server, which can then stand in for every other client (Sybils).
// A call that throws leaves the client as it was (nothing is committed before every check passed).
import { PrivkitError } from '../errors.js';
import { describe, readOptions } from '../validate.js';
import { ready } from '../wasm/runtime.js';
import {
  SIGNING_KEY_BYTES,
  SignatureVerifier,
  checkSigningKeyPair,
  checkSigningKeyShape,
  commitSelfMaskSeed,
  deriveMaskSeed,
  deriveShareKeys,
  equalBytes,
  exportPrivateScalar,
  generateAgreementKeyPair,
  generateSigningKeyPair,
  bytesId,
  importPublicKey,
  participantKeys,
  openShare,
  publicKeyProblem,
  sealShare,
  sharedSecret,
  type AgreementKeyPair,
  type Participant,
  type ShareKeys,
  type SigningKeyPair,
} from './crypto.js';
import { CommunicationGraph } from './graph.js';
import { MAX_CLIENTS, MAX_ID_LENGTH } from './limits.js';
import { applyMasks, type Mask } from './masks.js';
import {
  checkMessage,
  checkRoundParameters,
  checkVector,
  protocolError,
  quote,
  signMessage,
  signedPayload,
  survivorsDigest,
  thresholdError,
  type AdvertiseKeysMessage,
  type ConsistencyCheckMessage,
  type ConsistencySignatureMessage,
  type EncryptedShare,
  type EncryptedSharesMessage,
  type MaskedInputMessage,
  type MaskingStatement,
  type PublicKeysMessage,
  type RevealedShare,
  type SetupMessage,
  type ShareKeysMessage,
  type UnmaskMessage,
  type UnmaskRequestMessage,
} from './messages.js';
import { SHAMIR_PRIME, SHAMIR_SHARE_BYTES, bigIntToBytes, bytesToBigInt, shamirSplit } from './shamir.js';

/** The server message a client waits for next. */
export type SecAggClientState = 'setup' | 'public-keys' | 'encrypted-shares' | 'consistency-check' | 'unmask-request' | 'done';

/** Options of {@link SecAggClient}. */
export interface SecAggClientOptions {
  /**
   * The fewest clients whose inputs may be summed with this client's: a round registering fewer,
   * or a survivor set smaller than this, is refused (E_THRESHOLD). Chosen by the application,
   * never taken from the server. An integer >= 1.
   */
  minParticipants: number;
  /** This client's Ed25519 key pair (the one the application registered); default: a fresh pair per round. */
  signingKey?: SigningKeyPair;
  /**
   * The participants the application expects, with their Ed25519 public keys (a PKI). The client
   * then refuses a round registering anyone else, and checks every signature against these keys:
   * the server can no longer stand in for other clients. Requires `signingKey` (this client's entry).
   */
  expectedParticipants?: readonly Participant[];
}

/** What a holder keeps of a dealt share pair: both values and the keys the dealer encrypted them under (revealed with them). */
interface HeldShares {
  keyShare: Uint8Array;
  selfMaskShare: Uint8Array;
  keys: ShareKeys;
}

interface Peer {
  sPublicKey: CryptoKey;
  signingPublicKey: Uint8Array;
  /** Keys of this client's shares for the peer, and of the peer's shares for this client. */
  dealing: ShareKeys;
  holding: ShareKeys;
}

/**
 * Whether a decrypted share is a value the server takes at the unmasking: 66 bytes below the Shamir prime.
 * A share that is not (a malicious dealer's) is refused at once: kept, its reveal would have the server
 * refuse the holder's whole Unmasking response, with nobody blamed, and the round abort after its charge.
 */
function isFieldElement(share: Uint8Array | undefined): share is Uint8Array {
  return share?.length === SHAMIR_SHARE_BYTES && bytesToBigInt(share) < SHAMIR_PRIME;
}

/** The holder's own share pair is not encrypted: its keys are empty. */
const OWN_SHARE_KEYS: ShareKeys = { key: new Uint8Array(0), selfMask: new Uint8Array(0) };

interface Survivors {
  ids: string[];
  set: Set<string>;
  digest: Uint8Array;
  /** Signing keys of members of S, from the consistency check (checked against what the client knows). */
  signingKeys: Map<string, Uint8Array>;
  /** The masking statements of the neighbours in S (content checked; signatures checked before revealing). */
  statements: Map<string, MaskingStatement>;
}

interface RoundContext {
  setup: SetupMessage;
  index: number;
  indexOf: Map<string, number>;
  graph: CommunicationGraph;
  signing: SigningKeyPair;
  cKeys: AgreementKeyPair;
  sKeys: AgreementKeyPair;
  sScalar: Uint8Array;
  /** b_u, the self-mask seed. */
  selfMaskSeed: Uint8Array;
  /** Neighbours whose advertised keys this client accepted (set by shareKeys). */
  peers: Map<string, Peer>;
  /** Shares this client holds, by owner: its own and those of the neighbours it masked with. */
  held: Map<string, HeldShares>;
  /** The neighbours it masked with (set by maskedInput). */
  maskedWith: Set<string>;
  survivors?: Survivors;
}

/**
 * One client of one secure-aggregation round (Bonawitz et al. 2017 against an active server, with
 * the SecAgg+ neighbourhoods of Bell et al. 2020). Each method takes the server's message that closes
 * the previous round and returns this client's signed message for the next; call them in order
 * (`state` names the message expected next). A call that throws leaves the client as it was.
 * Needs WebCrypto with Ed25519 and X25519 or P-256.
 *
 * @example
 * ```ts
 * import { SecAggClient, decodeMessage, encodeMessage, type ClientMessage, type SetupMessage } from 'privkit/secagg';
 * // The application's transport (fetch, WebSocket, ...): sends JSON text, resolves with the server's next message.
 * declare function post(json?: string): Promise<string>;
 * const client = new SecAggClient('alice', { minParticipants: 10 });
 * const setup = decodeMessage(await post()) as SetupMessage;
 * const send = async (m: ClientMessage) => decodeMessage(await post(JSON.stringify(encodeMessage(m))), { setup });
 * const input = new Uint32Array(setup.length); // this client's quantized update, values < 2^setup.bits
 * let reply = await send(await client.advertiseKeys(setup));
 * if (reply.type === 'public-keys') reply = await send(await client.shareKeys(reply));
 * if (reply.type === 'encrypted-shares') reply = await send(await client.maskedInput(reply, input));
 * if (reply.type === 'consistency-check') reply = await send(await client.consistencyCheck(reply));
 * if (reply.type === 'unmask-request') await post(JSON.stringify(encodeMessage(await client.unmask(reply))));
 * ```
 */
export class SecAggClient {
  /** This client's id, as registered with the server. */
  readonly id: string;
  readonly #minParticipants: number;
  readonly #signingKey: SigningKeyPair | undefined;
  readonly #expected: Map<string, Uint8Array> | undefined;
  readonly #verifier = new SignatureVerifier();
  #signingKeyChecked: Promise<SigningKeyPair> | undefined;
  #state: SecAggClientState = 'setup';
  #busy = false;
  #round: RoundContext | undefined;

  /**
   * @param id - this client's registered id (1 to 256 characters).
   * @throws {PrivkitError} E_ARG when id is not a string of 1 to 256 characters, options is not an object, minParticipants is not an integer in [1, 65536], or expectedParticipants is malformed, lacks this client, or does not match signingKey.
   */
  constructor(id: string, options: SecAggClientOptions) {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
      throw new PrivkitError('E_ARG', `id must be a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${describe(id)}`, { argument: 'id' });
    }
    const { minParticipants: min, signingKey, expectedParticipants } = readOptions(options, ['minParticipants', 'signingKey', 'expectedParticipants'], 'options');
    if (typeof min !== 'number' || !Number.isSafeInteger(min) || min < 1 || min > MAX_CLIENTS) {
      throw new PrivkitError('E_ARG', `minParticipants must be an integer in [1, ${MAX_CLIENTS}], got ${describe(min)}`, {
        argument: 'minParticipants',
      });
    }
    if (signingKey !== undefined) checkSigningKeyShape(signingKey, 'signingKey');
    this.id = id;
    this.#minParticipants = min!;
    this.#signingKey = signingKey;
    this.#expected = expectedParticipants === undefined ? undefined : participantKeys(expectedParticipants);
    if (this.#expected !== undefined) {
      const own = this.#expected.get(id);
      if (own === undefined) throw new PrivkitError('E_ARG', `expectedParticipants does not list this client ${quote(id)}`, { argument: 'expectedParticipants' });
      if (signingKey === undefined) {
        throw new PrivkitError('E_ARG', 'expectedParticipants needs signingKey: this client signs with its registered key', { argument: 'signingKey' });
      }
      if (!equalBytes(signingKey.publicKey, own)) {
        throw new PrivkitError('E_ARG', "signingKey.publicKey is not this client's key in expectedParticipants", { argument: 'signingKey' });
      }
    }
  }

  /** The server message this client expects next. */
  get state(): SecAggClientState {
    return this.#state;
  }

  /**
   * AdvertiseKeys: checks the round parameters against the application's limits and returns two fresh public keys.
   *
   * @throws {PrivkitError} E_PROTOCOL (as a rejection) when the client is not waiting for this message (see `state`), a call is still running, or the message is malformed, of another round or addressed to another client, the round does not register this client, or registers a client not in expectedParticipants.
   * @throws {PrivkitError} E_THRESHOLD (as a rejection) when the round registers fewer than minParticipants clients.
   * @throws {PrivkitError} E_ARG (as a rejection) when options.signingKey is not a working Ed25519 key pair.
   * @throws {PrivkitError} E_AUTH (as a rejection) when WebCrypto has no Ed25519.
   */
  advertiseKeys(setup: SetupMessage): Promise<AdvertiseKeysMessage> {
    return this.#step('setup', 'public-keys', async () => {
      checkMessage(setup, 'setup');
      checkRoundParameters(setup, 'E_PROTOCOL');
      const n = setup.clients.length;
      const index = setup.clients.indexOf(this.id);
      if (index < 0) throw protocolError(`client ${quote(this.id)} is not registered for this round`);
      if (n < this.#minParticipants) {
        throw thresholdError(`the round registers ${n} clients; this client takes part only with at least minParticipants = ${this.#minParticipants}`);
      }
      if (this.#expected !== undefined) {
        const stranger = setup.clients.find((id) => !this.#expected!.has(id));
        if (stranger !== undefined) throw protocolError(`the round registers ${quote(stranger)}, who is not an expected participant`, 'clients');
      }
      const signing = await this.#signingPair();
      await ready(); // the graph's keyed permutation and the masks run in wasm
      const graph = new CommunicationGraph(n, setup.neighbours, setup.graphSeed);
      const [cKeys, sKeys] = await Promise.all([generateAgreementKeyPair(setup.curve), generateAgreementKeyPair(setup.curve)]);
      const sScalar = await exportPrivateScalar(sKeys.privateKey);
      const round: RoundContext = {
        setup: { ...setup, clients: [...setup.clients] },
        index,
        indexOf: new Map(setup.clients.map((id, i) => [id, i])),
        graph,
        signing,
        cKeys,
        sKeys,
        sScalar,
        selfMaskSeed: crypto.getRandomValues(new Uint8Array(32)),
        peers: new Map(),
        held: new Map(),
        maskedWith: new Set(),
      };
      const message = await signMessage<AdvertiseKeysMessage>(
        {
          type: 'advertise-keys',
          roundId: setup.roundId,
          sender: this.id,
          cPublicKey: cKeys.publicKey,
          sPublicKey: sKeys.publicKey,
          signingPublicKey: signing.publicKey,
        },
        signing.privateKey,
      );
      this.#round = round;
      return message;
    });
  }

  /**
   * ShareKeys: checks each neighbour's advertised keys (its signature on them, the expected
   * signing key, valid points, no repeated key) and rejects those that fail; deals t-of-n shares
   * of s_u^SK and b_u to itself and every accepted neighbour, each share encrypted under its own
   * single-use key; tells the server the commitment C_u to b_u.
   *
   * @throws {PrivkitError} E_PROTOCOL (as a rejection) when the client is not waiting for this message (see `state`), a call is still running, or the message is malformed, of another round or addressed to another client, or it lists keys of a non-neighbour, twice, or not this client's own.
   * @throws {PrivkitError} E_THRESHOLD (as a rejection) when fewer than threshold clients of the neighbourhood have usable keys.
   */
  shareKeys(message: PublicKeysMessage): Promise<ShareKeysMessage> {
    return this.#step('public-keys', 'encrypted-shares', async () => {
      const round = this.#round!;
      const { roundId, threshold, curve } = round.setup;
      this.#checkAddressed(checkMessage(message, 'public-keys', round.setup));
      const seen = new Set<string>();
      for (const entry of message.keys) {
        if (entry.id !== this.id && !this.#isNeighbour(entry.id)) throw protocolError(`public keys of ${quote(entry.id)}, who is not a neighbour`);
        if (seen.has(entry.id)) throw protocolError(`duplicate public keys for ${quote(entry.id)}`);
        seen.add(entry.id);
      }
      const own = message.keys.find((entry) => entry.id === this.id);
      const ownKeys = [round.cKeys.publicKey, round.sKeys.publicKey, round.signing.publicKey];
      if (own === undefined || ![own.cPublicKey, own.sPublicKey, own.signingPublicKey].every((key, i) => equalBytes(key, ownKeys[i]!))) {
        throw protocolError("the broadcast does not carry this client's own public keys");
      }
      // Fig. 4: all keys distinct. A key that appears twice disqualifies every entry carrying it.
      const uses = new Map<string, number>();
      for (const entry of message.keys) {
        for (const key of [entry.cPublicKey, entry.sPublicKey, entry.signingPublicKey]) uses.set(bytesId(key), (uses.get(bytesId(key)) ?? 0) + 1);
      }
      const others = this.#inClientOrder(message.keys.filter((entry) => entry.id !== this.id));
      const verdicts = await Promise.all(
        others.map(async (entry): Promise<Peer | undefined> => {
          const expected = this.#expected?.get(entry.id);
          if (expected !== undefined && !equalBytes(expected, entry.signingPublicKey)) return undefined;
          if ([entry.cPublicKey, entry.sPublicKey, entry.signingPublicKey].some((key) => uses.get(bytesId(key))! > 1)) return undefined;
          if (publicKeyProblem(curve, entry.cPublicKey) !== undefined || publicKeyProblem(curve, entry.sPublicKey) !== undefined) return undefined;
          const advertised: Omit<AdvertiseKeysMessage, 'signature'> = {
            type: 'advertise-keys',
            roundId,
            sender: entry.id,
            cPublicKey: entry.cPublicKey,
            sPublicKey: entry.sPublicKey,
            signingPublicKey: entry.signingPublicKey,
          };
          if (!(await this.#verifier.verify(entry.signingPublicKey, entry.signature, signedPayload('advertise-keys', advertised, new Map())))) {
            return undefined;
          }
          try {
            const [cPublic, sPublicKey] = await Promise.all([importPublicKey(curve, entry.cPublicKey), importPublicKey(curve, entry.sPublicKey)]);
            const [a, b] = round.indexOf.get(entry.id)! < round.index ? [entry.id, this.id] : [this.id, entry.id];
            const keys = await deriveShareKeys(await sharedSecret(curve, round.cKeys.privateKey, cPublic), roundId, a, b);
            return { sPublicKey, signingPublicKey: entry.signingPublicKey, dealing: keys.get(this.id)!, holding: keys.get(entry.id)! };
          } catch (error) {
            if (error instanceof PrivkitError) return undefined;
            throw error;
          }
        }),
      );
      const accepted = others.filter((_, i) => verdicts[i] !== undefined);
      const rejected = others.filter((_, i) => verdicts[i] === undefined).map((entry) => entry.id);
      if (accepted.length + 1 < threshold) {
        const named = rejected.length === 0 ? '' : ` (keys rejected: ${rejected.map(quote).join(', ')})`;
        throw thresholdError(`${accepted.length + 1} clients of the neighbourhood have usable keys, threshold is ${threshold}${named}`);
      }
      // Shamir shares at x = index + 1 of every accepted holder, this client included; each share under its own key.
      const holders = [this.id, ...accepted.map((entry) => entry.id)];
      const xs = holders.map((id) => round.indexOf.get(id)! + 1);
      const keyShares = shamirSplit(bytesToBigInt(round.sScalar), threshold, xs.length, { xs });
      const maskShares = shamirSplit(bytesToBigInt(round.selfMaskSeed), threshold, xs.length, { xs });
      const dealt = holders.map((_, i) => ({
        keyShare: bigIntToBytes(keyShares[i]!.y, SHAMIR_SHARE_BYTES),
        selfMaskShare: bigIntToBytes(maskShares[i]!.y, SHAMIR_SHARE_BYTES),
      }));
      const peers = new Map(others.flatMap((entry, i) => (verdicts[i] === undefined ? [] : [[entry.id, verdicts[i]] as const])));
      const [selfMaskCommitment, shares] = await Promise.all([
        commitSelfMaskSeed(roundId, this.id, round.selfMaskSeed),
        Promise.all(
          accepted.map(async (entry, j): Promise<EncryptedShare> => {
            const { dealing } = peers.get(entry.id)!;
            const [keyShare, selfMaskShare] = await Promise.all([sealShare(dealing.key, dealt[j + 1]!.keyShare), sealShare(dealing.selfMask, dealt[j + 1]!.selfMaskShare)]);
            return { peer: entry.id, keyShare, selfMaskShare };
          }),
        ),
      ]);
      const response = await signMessage<ShareKeysMessage>(
        { type: 'share-keys', roundId, sender: this.id, shares, rejected, selfMaskCommitment },
        round.signing.privateKey,
      );
      round.peers = peers;
      round.held = new Map([[this.id, { ...dealt[0]!, keys: OWN_SHARE_KEYS }]]);
      return response;
    });
  }

  /**
   * MaskedInputCollection: decrypts the shares of the accepted neighbours and checks that each is an
   * element of the Shamir field (66 bytes, below 2^521 - 1: what the server accepts when it is revealed);
   * a neighbour whose shares fail is rejected (named in the message, not masked with). Returns y_u = x_u + PRG(b_u) + sum_{v>u} PRG(s_uv) - sum_{v<u} PRG(s_uv) mod
   * 2^bits over the neighbours v whose shares it now holds (Bonawitz et al. 2017, §4: double
   * masking), signed together with the list of those neighbours.
   *
   * @param input - x_u: a Uint32Array of the round's length with every value below 2^bits.
   * @throws {PrivkitError} E_PROTOCOL (as a rejection) when the client is not waiting for this message (see `state`), a call is still running, or the message is malformed, of another round or addressed to another client, or it holds shares from a client whose keys were not accepted, or twice.
   * @throws {PrivkitError} E_THRESHOLD (as a rejection) when fewer than threshold clients of the neighbourhood dealt usable shares.
   * @throws {PrivkitError} E_ARG (as a rejection) when input is not a Uint32Array with values below 2^bits; E_SHAPE when its length is not the round's.
   */
  maskedInput(message: EncryptedSharesMessage, input: Uint32Array): Promise<MaskedInputMessage> {
    return this.#step('encrypted-shares', 'consistency-check', async () => {
      const round = this.#round!;
      const { roundId, bits, length, threshold, curve } = round.setup;
      checkVector('input', input, length, bits);
      this.#checkAddressed(checkMessage(message, 'encrypted-shares', round.setup));
      const senders = new Set<string>();
      for (const share of message.shares) {
        if (!round.peers.has(share.peer)) throw protocolError(`shares from ${quote(share.peer)}, whose keys this client did not accept`);
        if (senders.has(share.peer)) throw protocolError(`duplicate shares from ${quote(share.peer)}`);
        senders.add(share.peer);
      }
      const opened = await Promise.all(
        this.#inClientOrder(message.shares.map((share) => ({ ...share, id: share.peer }))).map(async (share): Promise<[string, HeldShares | undefined]> => {
          const keys = round.peers.get(share.peer)!.holding;
          const [keyShare, selfMaskShare] = await Promise.all([openShare(keys.key, share.keyShare), openShare(keys.selfMask, share.selfMaskShare)]);
          const usable = isFieldElement(keyShare) && isFieldElement(selfMaskShare);
          return [share.peer, usable ? { keyShare: keyShare!, selfMaskShare: selfMaskShare!, keys } : undefined];
        }),
      );
      const maskedWith = opened.filter(([, held]) => held !== undefined).map(([id]) => id);
      const rejected = opened.filter(([, held]) => held === undefined).map(([id]) => id);
      if (maskedWith.length + 1 < threshold) {
        const named = rejected.length === 0 ? '' : ` (shares rejected: ${rejected.map(quote).join(', ')})`;
        throw thresholdError(`${maskedWith.length + 1} clients of the neighbourhood dealt usable shares, threshold is ${threshold}${named}`);
      }
      const pairwise = await Promise.all(
        maskedWith.map(async (v): Promise<Mask> => {
          const secret = await sharedSecret(curve, round.sKeys.privateKey, round.peers.get(v)!.sPublicKey);
          return { seed: await deriveMaskSeed(secret, roundId), subtract: round.indexOf.get(v)! < round.index };
        }),
      );
      await ready();
      const maskedInput = applyMasks(Uint32Array.from(input), [{ seed: round.selfMaskSeed }, ...pairwise], bits);
      const response = await signMessage<MaskedInputMessage>(
        { type: 'masked-input', roundId, sender: this.id, maskedInput, maskedWith, rejected },
        round.signing.privateKey,
      );
      for (const [owner, held] of opened) if (held !== undefined) round.held.set(owner, held);
      round.maskedWith = new Set(maskedWith);
      return response;
    });
  }

  /**
   * ConsistencyCheck: checks the survivor set S and signs it. Refuses (nothing signed) a set that
   * does not hold this client, lists an unregistered or repeated id (or out of registration
   * order), is smaller than max(minParticipants, t), names a neighbour this client did not mask
   * with (E_PROTOCOL), splits in the public graph or leaves a member's neighbourhood with fewer
   * than t members of S (E_THRESHOLD); refuses a missing masking statement of a neighbour in S, or
   * one whose sender did not mask with each of its neighbours in S (E_PROTOCOL: the server could
   * cut that client's input off the rest of S). The statements' signatures are checked by unmask.
   *
   * @throws {PrivkitError} E_PROTOCOL (as a rejection) as described above, or when the message is out of order or malformed.
   * @throws {PrivkitError} E_THRESHOLD (as a rejection) as described above.
   */
  consistencyCheck(message: ConsistencyCheckMessage): Promise<ConsistencySignatureMessage> {
    return this.#step('consistency-check', 'unmask-request', async () => {
      const round = this.#round!;
      const { roundId, threshold } = round.setup;
      this.#checkAddressed(checkMessage(message, 'consistency-check', round.setup));
      const survivors = message.survivors;
      let last = -1;
      for (const id of survivors) {
        const i = round.indexOf.get(id);
        if (i === undefined) throw protocolError(`the survivor set lists ${quote(id)}, who is not registered`, 'survivors');
        if (i <= last) throw protocolError('the survivor set must list distinct clients in registration order', 'survivors');
        last = i;
      }
      const set = new Set(survivors);
      if (!set.has(this.id)) throw protocolError('the survivor set does not hold this client, which sent its masked input', 'survivors');
      const fewest = Math.max(this.#minParticipants, threshold);
      if (survivors.length < fewest) {
        throw thresholdError(`the survivor set has ${survivors.length} clients; this client lets no fewer than ${fewest} be summed`);
      }
      for (const id of survivors) {
        if (this.#isNeighbour(id) && !round.maskedWith.has(id)) {
          throw protocolError(`the survivor set lists ${quote(id)}, with whom this client did not mask`, 'survivors');
        }
      }
      const members = new Set(survivors.map((id) => round.indexOf.get(id)!));
      const components = round.graph.components(members);
      if (components.length > 1) {
        throw thresholdError(
          `the survivor set splits into ${components.length} groups (${components.map((c) => c.length).join(' + ')} clients) ` +
            'in the public graph: unmasking would reveal the partial sum of each group',
        );
      }
      for (const u of round.graph.complete ? [round.index] : members) {
        const count = round.graph.countAround(u, members);
        if (count < threshold) {
          throw thresholdError(`${count} members of the survivor set in the neighbourhood of ${quote(round.setup.clients[u])}, threshold is ${threshold}`);
        }
      }
      const statements = this.#checkStatements(message, set);
      const signingKeys = this.#survivorKeys(message, set);
      const digest = await survivorsDigest(roundId, survivors);
      const response = await signMessage<ConsistencySignatureMessage>(
        { type: 'consistency-signature', roundId, sender: this.id, survivorsDigest: digest },
        round.signing.privateKey,
      );
      round.survivors = { ids: [...survivors], set, digest, signingKeys, statements };
      return response;
    });
  }

  /**
   * Unmasking: checks the signatures on S and reveals, for each client it holds shares of, the
   * self-mask share if it is in S and the s-key share if not (never both, never its own key share).
   * Refuses (E_THRESHOLD, nothing revealed) unless every one of those clients' neighbourhoods, and
   * for a revealed self-mask share of u every neighbourhood of a neighbour of u in S, holds t
   * valid signatures on S; a forged or misattributed signature, or a forged masking statement of
   * a client in S that did not sign S, -> E_AUTH.
   *
   * @throws {PrivkitError} E_THRESHOLD (as a rejection) when a neighbourhood lacks t valid signatures on S (nothing revealed).
   * @throws {PrivkitError} E_AUTH (as a rejection) when a signature on S or a masking statement is forged.
   * @throws {PrivkitError} E_PROTOCOL (as a rejection) when the message is out of order or malformed, or lists a signer outside S or twice.
   */
  unmask(message: UnmaskRequestMessage): Promise<UnmaskMessage> {
    return this.#step('unmask-request', 'done', async () => {
      const round = this.#round!;
      const survivors = round.survivors!;
      const { roundId, threshold } = round.setup;
      this.#checkAddressed(checkMessage(message, 'unmask-request', round.setup));
      const signers = new Set<string>();
      for (const { signer } of message.signatures) {
        if (!survivors.set.has(signer)) throw protocolError(`a signature of ${quote(signer)}, who is not in the survivor set`, 'signatures');
        if (signers.has(signer)) throw protocolError(`two signatures of ${quote(signer)}`, 'signatures');
        signers.add(signer);
      }
      // Neighbourhoods that must hold t signatures: each owner's, and for a survivor owner each of its neighbours' in S.
      const centres = new Set<number>();
      for (const owner of round.held.keys()) {
        const u = round.indexOf.get(owner)!;
        centres.add(u);
        if (!survivors.set.has(owner) || round.graph.complete) continue;
        for (const v of round.graph.neighbours(u)) if (survivors.set.has(round.setup.clients[v]!)) centres.add(v);
      }
      const checked = round.graph.complete ? [round.index] : [...centres];
      const revealedSelfMasks = [...round.held.keys()].filter((owner) => survivors.set.has(owner));
      // Count the signatures in the order given, each only while a neighbourhood it counts in is short of t; verify those.
      const counts = new Map(checked.map((c) => [c, 0]));
      const around = (u: number) => checked.filter((c) => c === u || round.graph.linked(c, u));
      const selfMaskOwners = new Set(revealedSelfMasks);
      const used = message.signatures.filter(({ signer }) => {
        const u = round.indexOf.get(signer)!;
        const countsIn = around(u);
        if (!selfMaskOwners.has(signer) && !countsIn.some((c) => counts.get(c)! < threshold)) return false;
        for (const c of countsIn) counts.set(c, counts.get(c)! + 1);
        return true;
      });
      const valid = await Promise.all(
        used.map(async ({ signer, signature }) => {
          const key = this.#signingKeyOf(signer, survivors);
          const payload = signedPayload('consistency-signature', { roundId, sender: signer, survivorsDigest: survivors.digest }, new Map());
          return key !== undefined && this.#verifier.verify(key, signature, payload);
        }),
      );
      const forged = used.filter((_, i) => !valid[i]).map((s) => s.signer);
      if (forged.length > 0) {
        throw new PrivkitError('E_AUTH', `the signatures of ${forged.map(quote).join(', ')} on the survivor set do not verify`, { argument: 'signatures' });
      }
      const lacking = checked.find((c) => counts.get(c)! < threshold);
      if (lacking !== undefined) {
        throw thresholdError(
          `${counts.get(lacking)} signatures on the survivor set from the neighbourhood of ${quote(round.setup.clients[lacking])}, ` +
            `${threshold} needed before revealing`,
        );
      }
      await this.#checkStatementSignatures(revealedSelfMasks, new Set(used.map((s) => s.signer)), survivors);
      const reveal = (owners: string[], share: 'selfMaskShare' | 'keyShare'): RevealedShare[] =>
        owners.map((owner) => {
          const held = round.held.get(owner)!;
          return { owner, share: held[share], key: share === 'keyShare' ? held.keys.key : held.keys.selfMask };
        });
      const owners = this.#inClientOrder([...round.held.keys()].map((id) => ({ id }))).map((o) => o.id);
      const response = await signMessage<UnmaskMessage>(
        {
          type: 'unmasking',
          roundId,
          sender: this.id,
          selfMaskShares: reveal(owners.filter((o) => survivors.set.has(o)), 'selfMaskShare'),
          keyShares: reveal(owners.filter((o) => !survivors.set.has(o)), 'keyShare'),
        },
        round.signing.privateKey,
      );
      // The round is over: forget the secrets.
      this.#round = undefined;
      return response;
    });
  }

  /** Each neighbour in S has exactly one statement saying it masked with all its neighbours in S (its signature is checked by unmask). */
  #checkStatements(message: ConsistencyCheckMessage, survivors: Set<string>): Map<string, MaskingStatement> {
    const round = this.#round!;
    const expected = new Set([...survivors].filter((id) => this.#isNeighbour(id)));
    const statements = new Map<string, MaskingStatement>();
    for (const statement of message.statements) {
      if (!expected.has(statement.sender) || statements.has(statement.sender)) {
        throw protocolError(`an unexpected or repeated masking statement of ${quote(statement.sender)}`, 'statements');
      }
      if (statement.inputDigest.length !== 32) throw protocolError(`the input digest of ${quote(statement.sender)} must have 32 bytes`, 'statements');
      statements.set(statement.sender, statement);
    }
    const missing = [...expected].filter((id) => !statements.has(id));
    if (missing.length > 0) throw protocolError(`no masking statement of ${missing.map(quote).join(', ')}`, 'statements');
    for (const statement of statements.values()) {
      const maskedWith = new Set(statement.maskedWith);
      const neighbours = round.graph.complete ? survivors : round.graph.neighbours(round.indexOf.get(statement.sender)!).map((v) => round.setup.clients[v]!);
      const unmasked = [...neighbours].find((w) => w !== statement.sender && survivors.has(w) && !maskedWith.has(w));
      if (unmasked !== undefined) {
        throw protocolError(
          `${quote(statement.sender)} did not mask with ${quote(unmasked)}, also in the survivor set: its input could be unmasked apart`,
          'statements',
        );
      }
    }
    return statements;
  }

  /**
   * The owners in S whose self-mask shares this client will reveal must each have said they masked
   * with all their neighbours in S: by signing S (they checked it themselves) or, for one that did
   * not sign, by the signature on its masking statement; a forged statement -> E_AUTH.
   */
  async #checkStatementSignatures(owners: readonly string[], signed: ReadonlySet<string>, survivors: Survivors): Promise<void> {
    const round = this.#round!;
    const unsigned = owners.filter((u) => u !== this.id && !signed.has(u)).map((u) => survivors.statements.get(u)!);
    const verified = await Promise.all(
      unsigned.map((statement) => {
        const fields = { roundId: round.setup.roundId, sender: statement.sender, maskedWith: statement.maskedWith, rejected: statement.rejected };
        const payload = signedPayload('masked-input', fields, new Map([['maskedInput', statement.inputDigest]]));
        return this.#verifier.verify(round.peers.get(statement.sender)!.signingPublicKey, statement.signature, payload);
      }),
    );
    const forged = unsigned.filter((_, i) => !verified[i]).map((s) => s.sender);
    if (forged.length > 0) {
      throw new PrivkitError('E_AUTH', `the masking statements of ${forged.map(quote).join(', ')} do not carry their signatures`, { argument: 'statements' });
    }
  }

  /** The signing keys of the consistency check, each one consistent with what this client already knows. */
  #survivorKeys(message: ConsistencyCheckMessage, survivors: Set<string>): Map<string, Uint8Array> {
    const keys = new Map<string, Uint8Array>();
    for (const { id, signingPublicKey } of message.signingKeys) {
      if (!survivors.has(id) || keys.has(id)) throw protocolError(`an unexpected or repeated signing key of ${quote(id)}`, 'signingKeys');
      const known = this.#signingKeyOf(id, undefined);
      if (signingPublicKey.length !== SIGNING_KEY_BYTES || (known !== undefined && !equalBytes(known, signingPublicKey))) {
        throw protocolError(`the signing key given for ${quote(id)} is not the one this client knows`, 'signingKeys');
      }
      keys.set(id, signingPublicKey);
    }
    return keys;
  }

  /** Whose key verifies `id`'s signatures: the application's, its own, a neighbour's advertised one, else the consistency check's. */
  #signingKeyOf(id: string, survivors: Survivors | undefined): Uint8Array | undefined {
    const round = this.#round!;
    if (this.#expected !== undefined) return this.#expected.get(id);
    if (id === this.id) return round.signing.publicKey;
    return round.peers.get(id)?.signingPublicKey ?? survivors?.signingKeys.get(id);
  }

  #signingPair(): Promise<SigningKeyPair> {
    if (this.#signingKey === undefined) return generateSigningKeyPair();
    this.#signingKeyChecked ??= checkSigningKeyPair(this.#signingKey, 'signingKey');
    return this.#signingKeyChecked;
  }

  #isNeighbour(id: string): boolean {
    const round = this.#round!;
    const v = round.indexOf.get(id);
    return v !== undefined && round.graph.linked(round.index, v);
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
    if (message.roundId !== this.#round!.setup.roundId) throw protocolError(`message of round ${quote(message.roundId)}`);
    if (message.recipient !== this.id) throw protocolError(`message addressed to ${quote(message.recipient)}`);
  }

  #inClientOrder<T extends { id: string }>(entries: T[]): T[] {
    const indexOf = this.#round!.indexOf;
    return [...entries].sort((a, b) => indexOf.get(a.id)! - indexOf.get(b.id)!);
  }
}
