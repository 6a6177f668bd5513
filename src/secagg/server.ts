// The server of secure aggregation (Bonawitz et al. 2017, Fig. 4 with the ConsistencyCheck round;
// SecAgg+ neighbourhoods of Bell et al. 2020). It relays keys, encrypted shares, masking
// statements and signatures, collects masked inputs and finally removes the masks:
//   sum = sum_{u in S} y_u - sum_{u in S} PRG(b_u) -/+ sum_{u in S, v masked with u, v not in S} PRG(s_uv)
// where U1 advertised keys, U2 shared keys, U3 sent masked inputs, S (the survivor set) is U3
// without the clients a neighbour rejected, and the clients that signed S reveal the shares.
// b_u is rebuilt from the revealed shares of each u in S, s_u^SK of each other client someone in S
// masked with; each is checked against what its owner announced (b_u against the commitment C_u
// sent with ShareKeys, s_u^SK against the public key of AdvertiseKeys).
// Every client message is Ed25519-signed; receive() checks the signature against the key the
// sender advertised (and, given `expectedParticipants`, the key the application expects), so a
// message can be neither forged nor altered, and a message that fails is refused without blaming
// its claimed sender. The transport must still bind clients to their ids (TLS or another
// authenticated channel) if nobody is to advertise keys in another client's name.
// Masked inputs are summed as they arrive, into one running sum: an input joins it once it can no
// longer leave S (each of the sender's neighbours has either sent a masked input masking both ways
// with it, or can no longer send one), and is held until then; closeMaskedInput adds the held inputs
// of S and drops the rest. So the server keeps one vector plus the undecided ones, not one per client,
// and the sum it unmasks is the same sum over S.
// Rounds: setup() -> receive(AdvertiseKeys)* -> closeAdvertiseKeys() -> receive(ShareKeys)* ->
// closeShareKeys() -> receive(MaskedInput)* -> closeMaskedInput() -> receive(ConsistencySignature)*
// -> closeConsistencyCheck() -> receive(Unmasking)* -> closeUnmasking(). A message that fails a
// check, and a close that finds too few clients to go on (E_THRESHOLD), leave the server as it
// was: the round can still be completed.
import { PrivkitError } from '../errors.js';
import { describe, readOptions } from '../validate.js';
import { ready } from '../wasm/runtime.js';
import {
  GCM_TAG_BYTES,
  SELF_MASK_COMMITMENT_BYTES,
  SHARE_KEY_BYTES,
  SIGNING_KEY_BYTES,
  SignatureVerifier,
  commitSelfMaskSeed,
  deriveMaskSeed,
  detectKeyAgreement,
  equalBytes,
  bytesId,
  importPrivateScalar,
  importPublicKey,
  openShare,
  participantKeys,
  publicKeyProblem,
  sha256,
  sharedSecret,
  type KeyAgreementCurve,
  type Participant,
} from './crypto.js';
import { toBase64Url } from './base64url.js';
import { CommunicationGraph } from './graph.js';
import { maskedSum, wordMask, type Mask } from './masks.js';
import {
  checkMessage,
  checkRoundParameters,
  checkVector,
  protocolError,
  quote,
  signedBytes,
  signedPayload,
  survivorsDigest,
  thresholdError,
  wordsToBytes,
  type AdvertiseKeysMessage,
  type ClientMessage,
  type ConsistencyCheckMessage,
  type ConsistencySignatureMessage,
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

/** Options of {@link SecAggServer}: the registered clients and the round's parameters. */
export interface SecAggServerOptions {
  /** Ids of the clients registered for the round (distinct); their order fixes mask signs and share points. */
  clients: readonly string[];
  /** Inputs live in Z_2^bits, 1 <= bits <= 32. */
  bits: number;
  /** Length of every input vector. */
  length: number;
  /**
   * Shamir threshold t: every round needs >= t clients (per neighbourhood with SecAgg+, a client
   * counting in its own neighbourhood). The server learns only sums over whole signed survivor sets
   * as long as fewer than 2t - min(n, k + 1) clients of a neighbourhood collude with it. t must be a
   * strict majority of a neighbourhood, min(n, k + 1)/2 < t <= min(n, k + 1) (Bonawitz et al. 2017:
   * t > n/2), else E_ARG.
   */
  threshold: number;
  /**
   * The fewest masked inputs the server unmasks: closeMaskedInput() with fewer -> E_THRESHOLD (a sum
   * of too few inputs reveals too much about each). An integer in [threshold, clients.length];
   * default: the threshold. (Clients enforce their own minimum, minParticipants.)
   */
  minSurvivors?: number;
  /** SecAgg+ (Bell et al. 2020): each client masks with and shares to k neighbours (even k >= 2). Default: all. */
  neighbours?: number;
  /** The round id every message carries (1 to 256 characters). Default: 16 random bytes in base64url. */
  roundId?: string;
  /** Key agreement; default X25519 where WebCrypto has it, else P-256. All clients must support it. */
  curve?: KeyAgreementCurve;
  /** The registered clients' Ed25519 public keys, from the application: an AdvertiseKeys message signed with another key is refused. */
  expectedParticipants?: readonly Participant[];
}

/** The server's round: which message it collects next ('setup' before setup(), 'done' after closeUnmasking()). */
export type SecAggServerRound = 'setup' | 'advertise-keys' | 'share-keys' | 'masked-input' | 'consistency-check' | 'unmasking' | 'done';

/** The outcome of a round, from {@link SecAggServer.closeUnmasking}. */
export interface SecAggResult {
  /** Sum of the included clients' inputs mod 2^bits. */
  sum: Uint32Array;
  /** Clients whose inputs are in the sum (the survivor set S), in registration order. */
  included: string[];
  /** Registered clients not in the sum, in registration order. */
  dropped: string[];
  /** Clients proven (by their own signatures) to have dealt inconsistent shares; the sum was rebuilt without their bad shares. */
  convicted: string[];
}

/** The message type each collecting round receives. */
/** A MaskedInput message as the server keeps it: the masking statement, the vector summed apart. */
type MaskingStatement = Omit<MaskedInputMessage, 'maskedInput'>;

const RECEIVES = {
  'advertise-keys': 'advertise-keys',
  'share-keys': 'share-keys',
  'masked-input': 'masked-input',
  'consistency-check': 'consistency-signature',
  unmasking: 'unmasking',
} as const;

/**
 * The server of one secure-aggregation round: relays keys, encrypted shares, masking statements
 * and signatures, collects the masked inputs and removes the masks, learning only the sum over the
 * signed survivor set. Drive it with setup(), then for each of the five rounds receive() every
 * client message and close the round; a failed message or close leaves it as it was.
 *
 * @example
 * ```ts
 * import { SecAggClient, SecAggServer, generateSigningKeyPair } from 'privkit/secagg';
 * const ids = ['alice', 'bob', 'carol'];
 * const keys = await Promise.all(ids.map(() => generateSigningKeyPair()));
 * const expectedParticipants = ids.map((id, i) => ({ id, signingPublicKey: keys[i]!.publicKey }));
 * const server = new SecAggServer({ clients: ids, bits: 16, length: 2, threshold: 2, expectedParticipants });
 * const clients = ids.map((id, i) => new SecAggClient(id, { minParticipants: 3, signingKey: keys[i]!, expectedParticipants }));
 * // in one process for brevity; over a network, each message goes through encodeMessage / decodeMessage
 * const setup = await server.setup();
 * for (const c of clients) await server.receive(await c.advertiseKeys(setup));
 * const publicKeys = server.closeAdvertiseKeys();
 * for (const c of clients) await server.receive(await c.shareKeys(publicKeys.get(c.id)!));
 * const shares = server.closeShareKeys();
 * for (const [i, c] of clients.entries()) await server.receive(await c.maskedInput(shares.get(c.id)!, new Uint32Array([i + 1, 10])));
 * const checks = server.closeMaskedInput();
 * for (const c of clients) await server.receive(await c.consistencyCheck(checks.get(c.id)!));
 * const requests = server.closeConsistencyCheck();
 * for (const c of clients) await server.receive(await c.unmask(requests.get(c.id)!));
 * const { sum, included } = await server.closeUnmasking(); // sum = [6, 30], included = all three
 * ```
 */
export class SecAggServer {
  readonly #options: SecAggServerOptions & { roundId: string; minSurvivors: number };
  readonly #clients: readonly string[];
  readonly #indexOf: Map<string, number>;
  readonly #expected: Map<string, Uint8Array> | undefined;
  readonly #verifier = new SignatureVerifier();
  #round: SecAggServerRound = 'setup';
  #setup: SetupMessage | undefined;
  #graph!: CommunicationGraph;
  /** Messages accepted in each round, by sender; a round's senders are U1, U2, U3, U4 (signers of S), U5. */
  readonly #advertised = new Map<string, AdvertiseKeysMessage>();
  readonly #shared = new Map<string, ShareKeysMessage>();
  /** The senders whose shares closeShareKeys relayed to each client. */
  readonly #relayed = new Map<string, Set<string>>();
  /** U3's masking statements: each accepted MaskedInput message without its vector (summed or held apart). */
  readonly #masked = new Map<string, MaskingStatement>();
  /** maskedWith of each client in U3, as a set. */
  readonly #maskedWith = new Map<string, Set<string>>();
  /** Sum mod 2^bits of the masked inputs that can no longer leave S (allocated with the first). */
  #sum: Uint32Array | undefined;
  /** Accepted masked inputs not in #sum yet, by sender. */
  readonly #held = new Map<string, Uint32Array>();
  /** For each held input, its neighbours that may still send a masked input (the edge to each is undecided). */
  readonly #undecided = new Map<string, number>();
  /** Held inputs with an edge not masked both ways: they may leave S, closeMaskedInput decides. */
  readonly #disputed = new Set<string>();
  readonly #inputDigests = new Map<string, Uint8Array>();
  /** The survivor set S (registration order) and the digest its signers sign. */
  #survivors: string[] = [];
  #survivorsDigest: Promise<Uint8Array> | undefined;
  readonly #signatures = new Map<string, ConsistencySignatureMessage>();
  /** Clients sent an unmask request (the signers of S when closeConsistencyCheck succeeded). */
  readonly #requested = new Set<string>();
  readonly #unmasked = new Map<string, UnmaskMessage>();
  /** Clients whose Unmasking response was discarded for a share its dealer never sent; they may not answer again. */
  readonly #discarded = new Set<string>();
  /** Clients proven to have dealt inconsistent shares (each carrying their own signature). */
  readonly #convicted = new Set<string>();
  /** Every public key advertised so far (hex), to refuse repeated keys. */
  readonly #publicKeys = new Set<string>();
  /** Senders whose message is being verified (receive() awaits the signature check). */
  readonly #pending = new Set<string>();
  #closing = false;
  #result: SecAggResult | undefined;

  /**
   * @throws {PrivkitError} E_ARG when options is not an object or a round parameter is out of range (clients, bits, length, threshold, neighbours, roundId, curve, minSurvivors), or expectedParticipants is malformed or lacks a registered client.
   * @throws {PrivkitError} E_PROTOCOL when clients repeats an id.
   */
  constructor(given: SecAggServerOptions) {
    const options = readOptions(
      given,
      ['clients', 'bits', 'length', 'threshold', 'minSurvivors', 'neighbours', 'roundId', 'curve', 'expectedParticipants'],
      'options',
    ) as SecAggServerOptions;
    const roundId = options.roundId === undefined ? toBase64Url(crypto.getRandomValues(new Uint8Array(16))) : options.roundId;
    checkRoundParameters({ ...options, roundId, graphSeed: new Uint8Array(32), curve: options.curve === undefined ? 'X25519' : options.curve }, 'E_ARG');
    const clients = [...options.clients];
    const minSurvivors = options.minSurvivors === undefined ? options.threshold : options.minSurvivors;
    if (!Number.isSafeInteger(minSurvivors) || minSurvivors < options.threshold || minSurvivors > clients.length) {
      throw new PrivkitError(
        'E_ARG',
        `minSurvivors must be an integer in [threshold, clients.length] = [${options.threshold}, ${clients.length}], got ${describe(minSurvivors)}`,
        { argument: 'minSurvivors' },
      );
    }
    if (options.expectedParticipants !== undefined) {
      this.#expected = participantKeys(options.expectedParticipants);
      const missing = clients.find((id) => !this.#expected!.has(id));
      if (missing !== undefined) {
        throw new PrivkitError('E_ARG', `expectedParticipants has no key for the registered client ${quote(missing)}`, { argument: 'expectedParticipants' });
      }
    }
    this.#options = { ...options, clients, roundId, minSurvivors };
    this.#clients = clients;
    this.#indexOf = new Map(clients.map((id, i) => [id, i]));
  }

  /** The message the server collects next. */
  get round(): SecAggServerRound {
    return this.#round;
  }

  /** The round id every message must carry. */
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
    // a filter of the registered clients, not a sort: privkit/server reads this after every message (O(n) each)
    return received === undefined ? [] : this.#clients.filter((id) => received.has(id));
  }

  /** How many clients' messages for the current round have been accepted: receivedFrom.length, in O(1). */
  get receivedCount(): number {
    return this.#collected()?.size ?? 0;
  }

  /** Clients proven (by their own signatures) to have dealt inconsistent shares, in registration order. */
  get convicted(): string[] {
    return this.#ordered(this.#convicted);
  }

  /**
   * Clients whose Unmasking response was discarded for revealing a share its dealer never sent (their own
   * signed response shows it), in registration order.
   */
  get discarded(): string[] {
    return this.#ordered(this.#discarded);
  }

  /** The result, once closeUnmasking() has succeeded. */
  get result(): SecAggResult | undefined {
    return this.#result;
  }

  /**
   * Fixes the key agreement curve and the public graph seed; returns the message every client starts from.
   * Calls `ready()` itself.
   *
   * @throws {PrivkitError} E_PROTOCOL (as a rejection) when setup() was already called.
   */
  async setup(): Promise<SetupMessage> {
    const curve = this.#options.curve ?? (await detectKeyAgreement());
    await ready(); // the graph's keyed permutation runs in wasm
    this.#expect('setup');
    const graphSeed = crypto.getRandomValues(new Uint8Array(32));
    const { roundId, bits, length, threshold, neighbours } = this.#options;
    this.#graph = new CommunicationGraph(this.#clients.length, neighbours, graphSeed);
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

  /**
   * Accepts one signed client message of the current round, or rejects (E_PROTOCOL, E_SHAPE,
   * E_ARG; E_AUTH when the signature fails) and keeps nothing of it. Messages of one round may be
   * received concurrently; close the round once every receive() has settled.
   *
   * @throws {PrivkitError} E_PROTOCOL (as a rejection) when the message is malformed, of another round or type, from an unregistered or repeated sender, or breaks the protocol.
   * @throws {PrivkitError} E_AUTH (as a rejection) when its signature does not verify (or is under another key than expected).
   * @throws {PrivkitError} E_ARG, E_SHAPE (as a rejection) when a masked input is not a vector of the round.
   */
  async receive(message: ClientMessage): Promise<void> {
    if (this.#closing) throw protocolError('the server is closing the unmasking round');
    const round = this.#round;
    if (round === 'setup' || round === 'done') throw protocolError(`no round is collecting messages (state '${round}')`);
    const checked = checkMessage(message, RECEIVES[round], this.#setup);
    if (checked.roundId !== this.roundId) throw protocolError(`message of round ${quote(checked.roundId)}`);
    const sender = checked.sender;
    if (!this.#indexOf.has(sender)) throw protocolError(`unknown sender ${quote(sender)}`);
    if (!this.#completedPreviousRound(sender)) throw protocolError(`${quote(sender)} did not complete the previous round`);
    if (this.#discarded.has(sender)) throw protocolError(`the Unmasking response of ${quote(sender)} was discarded for a share its dealer never sent`);
    if (this.#collected()!.has(sender) || this.#pending.has(sender)) {
      throw protocolError(`duplicate or replayed '${checked.type}' message from ${quote(sender)}`);
    }
    this.#pending.add(sender);
    try {
      let inputDigest: Uint8Array | undefined;
      switch (checked.type) {
        case 'advertise-keys':
          this.#checkAdvertise(checked);
          break;
        case 'share-keys':
          this.#checkShareKeys(checked);
          break;
        case 'masked-input':
          checkVector('maskedInput', checked.maskedInput, this.#options.length, this.#options.bits);
          this.#checkMaskedWith(checked);
          inputDigest = await sha256(wordsToBytes(checked.maskedInput));
          break;
        case 'consistency-signature':
          if (!equalBytes(checked.survivorsDigest, await this.#survivorsDigest!)) {
            throw protocolError(`${quote(sender)} signed another survivor set`, 'survivorsDigest');
          }
          break;
        case 'unmasking':
          this.#checkUnmask(checked);
          break;
      }
      const key = checked.type === 'advertise-keys' ? checked.signingPublicKey : this.#advertised.get(sender)!.signingPublicKey;
      const bytes =
        inputDigest === undefined ? await signedBytes(checked) : signedPayload('masked-input', checked as unknown as Record<string, unknown>, new Map([['maskedInput', inputDigest]]));
      if (!(await this.#verifier.verify(key, checked.signature, bytes))) {
        throw new PrivkitError(
          'E_AUTH',
          `the signature of a '${checked.type}' message from ${quote(sender)} does not verify: refused (forged or altered on the way; the sender is not blamed)`,
          { argument: 'signature' },
        );
      }
      switch (checked.type) {
        case 'advertise-keys':
          if ([checked.cPublicKey, checked.sPublicKey, checked.signingPublicKey].some((k) => this.#publicKeys.has(bytesId(k)))) {
            throw protocolError(`the keys of ${quote(sender)} repeat keys already advertised`);
          }
          this.#advertised.set(sender, checked);
          for (const k of [checked.cPublicKey, checked.sPublicKey, checked.signingPublicKey]) this.#publicKeys.add(bytesId(k));
          break;
        case 'share-keys':
          this.#shared.set(sender, checked);
          break;
        case 'masked-input': {
          const { maskedInput, ...statement } = checked;
          this.#masked.set(sender, statement);
          this.#maskedWith.set(sender, new Set(checked.maskedWith));
          this.#inputDigests.set(sender, inputDigest!);
          this.#hold(sender, maskedInput);
          break;
        }
        case 'consistency-signature':
          this.#signatures.set(sender, checked);
          break;
        case 'unmasking':
          this.#unmasked.set(sender, checked);
          break;
      }
    } finally {
      this.#pending.delete(sender);
    }
  }

  /**
   * Ends AdvertiseKeys: each client of U1 whose neighbourhood within U1 reaches t gets the signed
   * keys of its neighbourhood within U1. E_THRESHOLD (nothing changed) when fewer than t clients can go on.
   *
   * @returns the PublicKeys message of each client that goes on, by id.
   * @throws {PrivkitError} E_PROTOCOL when the server is not in this round or a receive() has not settled.
   * @throws {PrivkitError} E_THRESHOLD when fewer than t clients can go on.
   */
  closeAdvertiseKeys(): Map<string, PublicKeysMessage> {
    this.#expect('advertise-keys');
    const u1 = this.#indices(this.#advertised.keys());
    const going = this.#ordered(this.#advertised.keys()).filter((u) => this.#graph.countAround(this.#indexOf.get(u)!, u1) >= this.#options.threshold);
    this.#atLeastThreshold(going.length, 'clients can go on after AdvertiseKeys (with t neighbours that advertised keys)');
    const out = new Map<string, PublicKeysMessage>();
    for (const u of going) {
      const keys = this.#neighbourhood(u)
        .filter((v) => this.#advertised.has(v))
        .map((id) => {
          const { cPublicKey, sPublicKey, signingPublicKey, signature } = this.#advertised.get(id)!;
          return { id, cPublicKey, sPublicKey, signingPublicKey, signature };
        });
      out.set(u, { type: 'public-keys', roundId: this.roundId, recipient: u, keys });
    }
    this.#round = 'share-keys';
    return out;
  }

  /**
   * Ends ShareKeys: each client of U2 gets the ciphertexts its neighbours in U2 addressed to it,
   * except from those whose keys it rejected; a client left with fewer than t - 1 gets nothing (it
   * could not mask). E_THRESHOLD (nothing changed) when fewer than t clients can mask.
   *
   * @returns the EncryptedShares message of each client that can mask, by id.
   * @throws {PrivkitError} E_PROTOCOL when the server is not in this round or a receive() has not settled.
   * @throws {PrivkitError} E_THRESHOLD when fewer than t clients can mask.
   */
  closeShareKeys(): Map<string, EncryptedSharesMessage> {
    this.#expect('share-keys');
    const relays = new Map<string, EncryptedShare[]>();
    for (const v of this.#ordered(this.#shared.keys())) {
      const rejected = new Set(this.#shared.get(v)!.rejected);
      const shares = this.#neighbours(v).flatMap((u) => {
        const share = this.#shared.get(u)?.shares.find((s) => s.peer === v);
        return share === undefined || rejected.has(u) ? [] : [{ peer: u, keyShare: share.keyShare, selfMaskShare: share.selfMaskShare }];
      });
      if (shares.length + 1 >= this.#options.threshold) relays.set(v, shares);
    }
    this.#atLeastThreshold(relays.size, 'clients received enough shares to mask');
    const out = new Map<string, EncryptedSharesMessage>();
    for (const [v, shares] of relays) {
      out.set(v, { type: 'encrypted-shares', roundId: this.roundId, recipient: v, shares });
      this.#relayed.set(v, new Set(shares.map((s) => s.peer)));
    }
    this.#round = 'masked-input';
    return out;
  }

  /**
   * Ends MaskedInputCollection: fixes the survivor set S (U3 without each client a neighbour in U3
   * rejected the shares or keys of: the masks between them would not cancel) and sends each
   * member of S the set, its neighbours' masking statements and the signing keys of S within three
   * hops. E_THRESHOLD (nothing changed) when S is smaller than minSurvivors, splits in the public
   * graph (its groups' partial sums would be unmaskable one by one, see graph.ts), or a secret to
   * rebuild (b_u for u in S, s_u^SK for each other client someone in S masked with) has fewer than
   * t holders in S.
   *
   * @returns the ConsistencyCheck message of each member of S, by id.
   * @throws {PrivkitError} E_PROTOCOL when the server is not in this round or a receive() has not settled.
   * @throws {PrivkitError} E_THRESHOLD as described above.
   */
  closeMaskedInput(): Map<string, ConsistencyCheckMessage> {
    this.#expect('masked-input');
    const survivors = this.#survivorSet();
    const { minSurvivors, threshold } = this.#options;
    if (survivors.length < minSurvivors) {
      throw thresholdError(`${survivors.length} clients can be summed; the server unmasks no fewer than minSurvivors = ${minSurvivors}`);
    }
    const members = this.#indices(survivors);
    const components = this.#graph.components(members);
    if (components.length > 1) {
      throw thresholdError(
        `the survivors' communication graph splits into ${components.length} groups (${components.map((c) => c.length).join(' + ')} clients): ` +
          'unmasking would reveal the partial sum of each group',
      );
    }
    for (const [owner, holders] of this.#holders(survivors)) {
      if (holders.length < threshold) throw thresholdError(`${holders.length} holders of the shares of ${quote(owner)} can answer, threshold is ${threshold}`);
    }
    const inS = new Set(survivors);
    const out = new Map<string, ConsistencyCheckMessage>();
    for (const v of survivors) {
      const statements = this.#neighbours(v)
        .filter((u) => inS.has(u))
        .map((u) => {
          const { maskedWith, rejected, signature } = this.#masked.get(u)!;
          return { sender: u, inputDigest: this.#inputDigests.get(u)!, maskedWith, rejected, signature };
        });
      const signingKeys = this.#within(v, 3)
        .filter((u) => inS.has(u))
        .map((id) => ({ id, signingPublicKey: this.#advertised.get(id)!.signingPublicKey }));
      out.set(v, { type: 'consistency-check', roundId: this.roundId, recipient: v, survivors: [...survivors], statements, signingKeys });
    }
    for (const u of survivors) if (this.#held.has(u)) this.#addToSum(u);
    this.#held.clear(); // the inputs of U3 outside S: never summed
    this.#undecided.clear();
    this.#disputed.clear();
    this.#survivors = survivors;
    this.#survivorsDigest = survivorsDigest(this.roundId, survivors);
    this.#round = 'consistency-check';
    return out;
  }

  /**
   * Ends ConsistencyCheck: the members of S that signed it (U4) get the signatures they need:
   * those of the signers within three hops, nearest first (with the complete graph, t of them). E_THRESHOLD
   * (nothing changed) when a secret to rebuild has fewer than t holders among the signers, or the
   * neighbourhood of a client to unmask holds fewer than t signers (clients would refuse to reveal).
   *
   * @returns the UnmaskRequest message of each signer, by id.
   * @throws {PrivkitError} E_PROTOCOL when the server is not in this round or a receive() has not settled.
   * @throws {PrivkitError} E_THRESHOLD as described above.
   */
  closeConsistencyCheck(): Map<string, UnmaskRequestMessage> {
    this.#expect('consistency-check');
    const { threshold } = this.#options;
    const signers = new Set(this.#signatures.keys());
    const signed = this.#indices(signers);
    for (const [owner, holders] of this.#holders(this.#survivors)) {
      const answering = holders.filter((h) => signers.has(h)).length;
      if (answering < threshold) throw thresholdError(`${answering} holders of the shares of ${quote(owner)} signed the survivor set, threshold is ${threshold}`);
      const around = this.#graph.countAround(this.#indexOf.get(owner)!, signed);
      if (around < threshold) throw thresholdError(`${around} clients around ${quote(owner)} signed the survivor set, threshold is ${threshold}`);
    }
    const ordered = this.#ordered(signers);
    const out = new Map<string, UnmaskRequestMessage>();
    for (const v of ordered) {
      // Nearest first: the client verifies signatures in this order only until every neighbourhood it checks holds t.
      const from = this.#graph.complete
        ? ordered.slice(0, threshold)
        : this.#graph.nearest(this.#indexOf.get(v)!, 3).map((u) => this.#clients[u]!).filter((u) => signers.has(u));
      const signatures = from.map((signer) => ({ signer, signature: this.#signatures.get(signer)!.signature }));
      out.set(v, { type: 'unmask-request', roundId: this.roundId, recipient: v, signatures });
    }
    for (const v of ordered) this.#requested.add(v);
    this.#round = 'unmasking';
    return out;
  }

  /**
   * Ends Unmasking: rebuilds b_u (u in S) and s_u^SK (u masked with by someone in S, u not in S)
   * from t shares each, removes the self masks and the pairwise masks towards clients outside S,
   * and returns the sum of S's inputs.
   *
   * Every rebuilt secret is checked against what its owner announced before any share was
   * revealed: s_u^SK must match the public key u advertised, and b_u must fit in 32 bytes and match
   * the commitment C_u that u sent with ShareKeys. An altered share among the t used changes the
   * secret (its Lagrange coefficient is non-zero), so it is caught short of a SHA-256 second
   * preimage. When a secret fails, every revealed share of it is checked against what its dealer
   * sent (the holder reveals each share with the single-use key it came under, which opens the
   * ciphertext in the dealer's signed ShareKeys message):
   * - a holder whose revealed share is not what the dealer sent altered it: its response is
   *   discarded (it may not answer again), E_AUTH names it, and closeUnmasking() may be called again;
   * - if every share is what the dealer sent, the dealer dealt shares of inconsistent polynomials,
   *   and its own signed ciphertexts prove it: it is convicted (`convicted`, and in the result). Its
   *   secret is rebuilt leaving out one share at a time (with more than t shares); if that fails
   *   too, E_AUTH names it and the round can not be unmasked: run a new one without it.
   * A response altered on the way fails its sender's signature in receive() and is refused without
   * blame. Either way the server stays in the unmasking round.
   *
   * @throws {PrivkitError} E_PROTOCOL (as a rejection) when the server is not in this round or a receive() has not settled.
   * @throws {PrivkitError} E_THRESHOLD (as a rejection) when fewer than t clients answered, or a secret has fewer than t revealed shares.
   * @throws {PrivkitError} E_AUTH (as a rejection) when a holder altered a share, or a convicted dealer's secret can not be rebuilt (see above).
   */
  async closeUnmasking(): Promise<SecAggResult> {
    this.#expect('unmasking');
    const { bits, threshold, length } = this.#options;
    const curve = this.#setup!.curve;
    const survivors = this.#survivors;
    const inS = new Set(survivors);
    const responses = [...this.#unmasked.values()];
    this.#atLeastThreshold(responses.length, 'clients answered the unmask request');
    const selfMaskShares = this.#sharesByOwner(responses, (r) => r.selfMaskShares);
    const keyShares = this.#sharesByOwner(responses, (r) => r.keyShares);
    const owners = [...this.#holders(survivors).keys()];
    const outside = owners.filter((u) => !inS.has(u));
    for (const u of owners) {
      const count = (inS.has(u) ? selfMaskShares : keyShares).get(u)?.length ?? 0;
      if (count < threshold) {
        throw thresholdError(`${count} shares of the ${inS.has(u) ? 'self-mask seed' : 'masking key'} of ${quote(u)} arrived, threshold is ${threshold}`);
      }
    }
    this.#closing = true;
    try {
      const combine = shamirCombiner(threshold);
      // Each rebuild returns undefined when the secret fails its check.
      const rebuildSeed = (u: string) => async (points: readonly ShamirShare[]) => {
        const seed = secretBytes(combine(points));
        return seed !== undefined && equalBytes(await commitSelfMaskSeed(this.roundId, u, seed), this.#shared.get(u)!.selfMaskCommitment) ? seed : undefined;
      };
      const rebuildKey = (u: string) => async (points: readonly ShamirShare[]) => {
        const scalar = secretBytes(combine(points));
        return scalar === undefined ? undefined : matchingPrivateKey(curve, scalar, this.#advertised.get(u)!.sPublicKey);
      };
      const seeds = await Promise.all(survivors.map((u) => rebuildSeed(u)(selfMaskShares.get(u)!.map((r) => r.point))));
      const keys = await Promise.all(outside.map((u) => rebuildKey(u)(keyShares.get(u)!.map((r) => r.point))));
      const failed: Failure[] = [
        ...survivors.flatMap((u, i) => (seeds[i] === undefined ? [{ owner: u, kind: 'selfMask' as const, revealed: selfMaskShares.get(u)!, rebuild: rebuildSeed(u) }] : [])),
        ...outside.flatMap((u, i) => (keys[i] === undefined ? [{ owner: u, kind: 'key' as const, revealed: keyShares.get(u)!, rebuild: rebuildKey(u) }] : [])),
      ];
      if (failed.length > 0) {
        const recovered = await this.#traceFailures(failed);
        survivors.forEach((u, i) => (seeds[i] ??= recovered.get(u) as Uint8Array));
        outside.forEach((u, i) => (keys[i] ??= recovered.get(u) as CryptoKey));
      }
      const masks: Mask[] = seeds.map((seed) => ({ seed: seed!, subtract: true }));
      const keyOf = new Map(outside.map((u, i) => [u, keys[i]!]));
      for (const w of survivors) {
        for (const u of this.#masked.get(w)!.maskedWith.filter((v) => !inS.has(v))) {
          const secret = await sharedSecret(curve, keyOf.get(u)!, await importPublicKey(curve, this.#advertised.get(w)!.sPublicKey));
          // y_w carries +PRG(s_wu) when w < u and -PRG(s_wu) when w > u: take it back out.
          masks.push({ seed: await deriveMaskSeed(secret, this.roundId), subtract: this.#indexOf.get(w)! < this.#indexOf.get(u)! });
        }
      }
      await ready();
      // Removal of the masks from the running sum of S's masked inputs, in one chunked pass in wasm.
      const sum = maskedSum([this.#sum!], masks, bits, length);
      this.#result = { sum, included: [...survivors], dropped: this.#clients.filter((id) => !inS.has(id)), convicted: this.convicted };
      this.#round = 'done';
      return this.#result;
    } finally {
      this.#closing = false;
    }
  }

  /**
   * Secrets failed their check. Each revealed share of them is checked against what its dealer
   * sent: the revealed key must open the ciphertext in the dealer's signed ShareKeys message to the
   * revealed share. Holders who revealed anything else are discarded and named (E_AUTH; a retry may
   * succeed). Otherwise every failing secret's shares are the ones its owner dealt (or its own), so
   * the owner dealt inconsistent shares: it is convicted, and its secret is rebuilt leaving out one
   * share at a time; the secrets recovered so are returned, and if one can not be recovered, E_AUTH
   * names the convicted dealers.
   */
  async #traceFailures(failed: readonly Failure[]): Promise<Map<string, unknown>> {
    const { threshold } = this.#options;
    const culprits = new Set<string>();
    for (const { owner, revealed, kind } of failed) {
      const dealt = new Map(this.#shared.get(owner)!.shares.map((share) => [share.peer, share]));
      const asDealt = await Promise.all(
        revealed.map(async ({ holder, share }) => {
          if (holder === owner) return true; // its own share: any fault in it is the owner's
          const ciphertext = dealt.get(holder)![kind === 'key' ? 'keyShare' : 'selfMaskShare'];
          const plaintext = await openShare(share.key, ciphertext);
          return plaintext !== undefined && equalBytes(plaintext, share.share);
        }),
      );
      revealed.forEach((r, i) => !asDealt[i] && culprits.add(r.holder));
    }
    if (culprits.size > 0) {
      for (const holder of culprits) {
        this.#unmasked.delete(holder);
        this.#discarded.add(holder);
      }
      throw new PrivkitError(
        'E_AUTH',
        `${this.#ordered(culprits).map(quote).join(', ')} revealed shares their dealers never sent: ` +
          'their Unmasking responses are discarded, closeUnmasking() may be called again',
      );
    }
    const recovered = new Map<string, unknown>();
    const lost: string[] = [];
    for (const { owner, revealed, rebuild } of failed) {
      this.#convicted.add(owner);
      const points = revealed.map((r) => r.point).sort((a, b) => a.x - b.x);
      let secret: unknown;
      for (let i = 0; i < Math.min(threshold, points.length) && secret === undefined && points.length > threshold; i++) {
        secret = await rebuild(points.filter((_, j) => j !== i));
      }
      if (secret === undefined) lost.push(owner);
      else recovered.set(owner, secret);
    }
    if (lost.length > 0) {
      throw new PrivkitError(
        'E_AUTH',
        `${this.#ordered(lost).map(quote).join(', ')} dealt inconsistent shares, as its own signed ciphertexts show (convicted): ` +
          'the round can not be unmasked without its secret; run a new round without it',
      );
    }
    return recovered;
  }

  /**
   * Holds the accepted masked input of `sender`, then adds to the running sum each held input that
   * can no longer leave S: #survivorSet drops a client of U3 only for an edge to a neighbour in U3
   * not masked both ways, so a client is in S for sure once each neighbour has sent a masked input
   * masking both ways with it or can not send one (it got no shares relayed, or already sent).
   */
  #hold(sender: string, input: Uint32Array): void {
    this.#held.set(sender, input);
    let undecided = 0;
    const decided: string[] = [sender];
    for (const w of this.#neighbours(sender)) {
      if (this.#masked.has(w)) {
        if (this.#maskedWith.get(sender)!.has(w) && this.#maskedWith.get(w)!.has(sender)) {
          if (this.#held.has(w)) {
            this.#undecided.set(w, this.#undecided.get(w)! - 1);
            decided.push(w);
          }
        } else {
          this.#disputed.add(sender);
          this.#disputed.add(w);
        }
      } else if (this.#relayed.has(w)) undecided += 1;
    }
    this.#undecided.set(sender, undecided);
    for (const u of decided) if (this.#undecided.get(u) === 0 && !this.#disputed.has(u)) this.#addToSum(u);
  }

  /** Adds the held input of `u` to the running sum (mod 2^bits) and lets it go. */
  #addToSum(u: string): void {
    const input = this.#held.get(u)!;
    const sum = (this.#sum ??= new Uint32Array(this.#options.length));
    const mask = wordMask(this.#options.bits); // `&` keeps the low bits (and wraps a 33-bit sum when bits = 32)
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i]! + input[i]!) & mask;
    this.#held.delete(u);
    this.#undecided.delete(u);
  }

  /** U3 without every client that a neighbour in U3 did not mask with because it rejected that client's keys or shares. */
  #survivorSet(): string[] {
    const u3 = this.#ordered(this.#masked.keys());
    const maskedWith = this.#maskedWith;
    const rejectedBy = new Map(u3.map((u) => [u, new Set([...this.#shared.get(u)!.rejected, ...this.#masked.get(u)!.rejected])]));
    const accused = new Set<string>();
    for (const u of u3) {
      for (const w of this.#neighbours(u)) {
        if (!maskedWith.has(w) || (maskedWith.get(u)!.has(w) && maskedWith.get(w)!.has(u))) continue;
        // The edge is not masked both ways: drop whoever the other rejected (both if neither says).
        const uRejected = rejectedBy.get(w)!.has(u);
        const wRejected = rejectedBy.get(u)!.has(w);
        if (uRejected || !wRejected) accused.add(u);
        if (wRejected || !uRejected) accused.add(w);
      }
    }
    return u3.filter((u) => !accused.has(u));
  }

  /** For each secret to rebuild (b_u, u in S; s_u^SK, u masked with by someone in S), the members of S holding its shares. */
  #holders(survivors: readonly string[]): Map<string, string[]> {
    const holders = new Map<string, string[]>(survivors.map((u) => [u, [u]]));
    for (const w of survivors) {
      for (const u of this.#masked.get(w)!.maskedWith) {
        if (!holders.has(u)) holders.set(u, []);
        holders.get(u)!.push(w);
      }
    }
    return new Map(this.#ordered(holders.keys()).map((u) => [u, holders.get(u)!]));
  }

  #expect(round: SecAggServerRound): void {
    if (this.#round !== round) throw protocolError(`the server is in state '${this.#round}', not '${round}'`);
    if (this.#closing) throw protocolError('the server is closing the unmasking round');
    if (this.#pending.size > 0) throw protocolError(`${this.#pending.size} messages are still being verified: await receive() before closing the round`);
  }

  #atLeastThreshold(count: number, what: string): void {
    if (count < this.#options.threshold) throw thresholdError(`${count} ${what}, threshold is ${this.#options.threshold}`);
  }

  #collected(): Map<string, unknown> | undefined {
    switch (this.#round) {
      case 'advertise-keys':
        return this.#advertised;
      case 'share-keys':
        return this.#shared;
      case 'masked-input':
        return this.#masked;
      case 'consistency-check':
        return this.#signatures;
      case 'unmasking':
        return this.#unmasked;
      default:
        return undefined;
    }
  }

  /** Senders of the current round must have received the server's message that opened it (any registered client may advertise keys). */
  #completedPreviousRound(sender: string): boolean {
    switch (this.#round) {
      case 'share-keys':
        return this.#advertised.has(sender);
      case 'masked-input':
        return this.#relayed.has(sender);
      case 'consistency-check':
        return this.#survivors.includes(sender);
      case 'unmasking':
        return this.#requested.has(sender);
      default:
        return true;
    }
  }

  #neighbours(id: string): string[] {
    return this.#graph.neighbours(this.#indexOf.get(id)!).map((v) => this.#clients[v]!);
  }

  /** The client and its neighbours, in registration order. */
  #neighbourhood(id: string): string[] {
    return this.#within(id, 1);
  }

  #within(id: string, hops: number): string[] {
    return this.#graph.within(this.#indexOf.get(id)!, hops).map((v) => this.#clients[v]!);
  }

  #indices(ids: Iterable<string>): Set<number> {
    return new Set([...ids].map((id) => this.#indexOf.get(id)!));
  }

  #ordered(ids: Iterable<string>): string[] {
    return [...ids].sort((a, b) => this.#indexOf.get(a)! - this.#indexOf.get(b)!);
  }

  #checkAdvertise(message: AdvertiseKeysMessage): void {
    const { curve } = this.#setup!;
    for (const [name, key] of [
      ['cPublicKey', message.cPublicKey],
      ['sPublicKey', message.sPublicKey],
    ] as const) {
      const problem = publicKeyProblem(curve, key);
      if (problem !== undefined) throw protocolError(`the ${name} of ${quote(message.sender)} is not a valid ${curve} public key: ${problem}`, name);
    }
    if (message.signingPublicKey.length !== SIGNING_KEY_BYTES) throw protocolError(`a signing key has ${SIGNING_KEY_BYTES} bytes`, 'signingPublicKey');
    const expected = this.#expected?.get(message.sender);
    if (expected !== undefined && !equalBytes(expected, message.signingPublicKey)) {
      throw new PrivkitError('E_AUTH', `${quote(message.sender)} advertised a signing key other than the expected one`, { argument: 'signingPublicKey' });
    }
    const keys = [message.cPublicKey, message.sPublicKey, message.signingPublicKey].map(bytesId);
    if (new Set(keys).size < 3) throw protocolError(`the keys of ${quote(message.sender)} repeat each other`);
  }

  /**
   * ShareKeys must carry a 32-byte commitment to b_u, name only neighbours in U1 as rejected, and
   * hold exactly one well-sized ciphertext for each other neighbour in U1.
   */
  #checkShareKeys(message: ShareKeysMessage): void {
    if (message.selfMaskCommitment.length !== SELF_MASK_COMMITMENT_BYTES) {
      throw protocolError(
        `the self-mask seed commitment must have ${SELF_MASK_COMMITMENT_BYTES} bytes, got ${message.selfMaskCommitment.length}`,
        'selfMaskCommitment',
      );
    }
    const candidates = new Set(this.#neighbours(message.sender).filter((v) => this.#advertised.has(v)));
    const rejected = new Set<string>();
    for (const peer of message.rejected) {
      if (!candidates.has(peer) || rejected.has(peer)) throw protocolError(`unexpected or repeated rejected neighbour ${quote(peer)}`, 'rejected');
      rejected.add(peer);
    }
    const seen = new Set<string>();
    for (const share of message.shares) {
      if (!candidates.has(share.peer) || rejected.has(share.peer) || seen.has(share.peer)) {
        throw protocolError(`unexpected or repeated share recipient ${quote(share.peer)}`);
      }
      if (share.keyShare.length !== SHAMIR_SHARE_BYTES + GCM_TAG_BYTES || share.selfMaskShare.length !== SHAMIR_SHARE_BYTES + GCM_TAG_BYTES) {
        throw protocolError(`the ciphertexts for ${quote(share.peer)} have the wrong size`);
      }
      seen.add(share.peer);
    }
    if (seen.size + rejected.size !== candidates.size) throw protocolError(`${candidates.size - seen.size - rejected.size} neighbours got no share`);
  }

  /** maskedWith and rejected must split exactly the senders whose shares the server relayed to the client. */
  #checkMaskedWith(message: MaskedInputMessage): void {
    const relayed = this.#relayed.get(message.sender)!;
    const named = [...message.maskedWith, ...message.rejected];
    if (new Set(named).size !== named.length || named.length !== relayed.size || !named.every((v) => relayed.has(v))) {
      throw protocolError('maskedWith and rejected must split the senders of the relayed shares', 'maskedWith');
    }
    if (message.maskedWith.length + 1 < this.#options.threshold) {
      throw thresholdError(`${quote(message.sender)} masked with ${message.maskedWith.length} neighbours, threshold is ${this.#options.threshold}`);
    }
  }

  /**
   * Unmasking must reveal, for each client the sender holds shares of (those it masked with and
   * itself), the self-mask share if it is in S and the key share if not, each once, as field
   * elements with the 32-byte key each came under (none for its own).
   */
  #checkUnmask(message: UnmaskMessage): void {
    const inS = new Set(this.#survivors);
    const held = [message.sender, ...this.#masked.get(message.sender)!.maskedWith];
    const same = (revealed: RevealedShare[], owners: string[]) =>
      revealed.length === owners.length && new Set(revealed.map((r) => r.owner)).size === owners.length && revealed.every((r) => owners.includes(r.owner));
    if (!same(message.selfMaskShares, held.filter((u) => inS.has(u))) || !same(message.keyShares, held.filter((u) => !inS.has(u)))) {
      throw protocolError('the revealed shares do not answer the unmask request');
    }
    for (const r of [...message.selfMaskShares, ...message.keyShares]) {
      if (r.share.length !== SHAMIR_SHARE_BYTES || bytesToBigInt(r.share) >= SHAMIR_PRIME) throw protocolError('a revealed share is not a field element');
      if (r.key.length !== (r.owner === message.sender ? 0 : SHARE_KEY_BYTES)) throw protocolError('a revealed share lacks the key it came under');
    }
  }

  #sharesByOwner(responses: UnmaskMessage[], pick: (r: UnmaskMessage) => RevealedShare[]): Map<string, Revealed[]> {
    const byOwner = new Map<string, Revealed[]>();
    for (const response of responses) {
      const x = this.#indexOf.get(response.sender)! + 1;
      for (const share of pick(response)) {
        if (!byOwner.has(share.owner)) byOwner.set(share.owner, []);
        byOwner.get(share.owner)!.push({ holder: response.sender, point: { x, y: bytesToBigInt(share.share) }, share });
      }
    }
    return byOwner;
  }
}

/** A secret that failed its check, with its revealed shares and how to rebuild it from some of them. */
interface Failure {
  owner: string;
  kind: 'selfMask' | 'key';
  revealed: readonly Revealed[];
  /** Rebuilds the secret from the first t points; undefined when it fails its check. */
  rebuild: (points: readonly ShamirShare[]) => Promise<unknown>;
}

/** A revealed share with its holder and its point (x = holder index + 1). */
interface Revealed {
  holder: string;
  point: ShamirShare;
  share: RevealedShare;
}

/** A rebuilt 32-byte secret, or undefined for a value >= 2^256 (the shares were inconsistent). */
function secretBytes(value: bigint): Uint8Array | undefined {
  return value >> 256n === 0n ? bigIntToBytes(value, 32) : undefined;
}

/** The private key of `scalar` if it matches `publicKey`, else undefined. */
async function matchingPrivateKey(curve: KeyAgreementCurve, scalar: Uint8Array, publicKey: Uint8Array): Promise<CryptoKey | undefined> {
  try {
    return await importPrivateScalar(curve, scalar, publicKey);
  } catch (error) {
    if (error instanceof PrivkitError && error.code === 'E_AUTH') return undefined;
    throw error;
  }
}
