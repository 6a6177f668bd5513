// The server of secure aggregation (Bonawitz et al. 2017, Fig. 4, semi-honest version; SecAgg+
// neighbourhoods of Bell et al. 2020). It relays keys and encrypted shares, collects masked
// inputs and finally removes the masks:
//   sum = sum_{u in U3} y_u - sum_{u in U3} PRG(b_u) -/+ sum_{u in U2\U3, v in U3 neighbour of u} PRG(s_uv)
// where U1 advertised keys, U2 shared keys, U3 sent masked inputs. b_u is rebuilt from the
// survivors' shares, s_u^SK of each client that dropped after ShareKeys from its neighbours' shares;
// each is checked against what its owner announced (b_u against the commitment C_u sent with
// ShareKeys, s_u^SK against the public key of AdvertiseKeys).
// Rounds: setup() -> receive(AdvertiseKeys)* -> closeAdvertiseKeys() -> receive(ShareKeys)* ->
// closeShareKeys() -> receive(MaskedInput)* -> closeMaskedInput() -> receive(Unmasking)* ->
// closeUnmasking(). A message that fails a check, and a close that finds fewer than `threshold`
// clients, fewer than `minSurvivors` masked inputs or a split survivors' graph (E_THRESHOLD), leave
// the server as it was: the round can still be completed.
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { ready } from '../wasm/runtime.js';
import { SHARE_PLAINTEXT_BYTES } from './client.js';
import {
  GCM_TAG_BYTES,
  IV_BYTES,
  PUBLIC_KEY_BYTES,
  SELF_MASK_COMMITMENT_BYTES,
  commitSelfMaskSeed,
  deriveMaskSeed,
  detectKeyAgreement,
  equalBytes,
  importPrivateScalar,
  importPublicKey,
  sharedSecret,
  type KeyAgreementCurve,
} from './crypto.js';
import { communicationGraph, connectedComponents } from './graph.js';
import { maskedSum, type Mask } from './masks.js';
import {
  checkMessage,
  checkRoundParameters,
  checkVector,
  protocolError,
  thresholdError,
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
   * clients (of any neighbourhood) collude with it. t must be a strict majority of a neighbourhood,
   * min(n, k + 1)/2 < t <= min(n, k + 1) (Bonawitz et al. 2017: t > n/2), else E_ARG.
   */
  threshold: number;
  /**
   * The fewest masked inputs the server unmasks: closeMaskedInput() with fewer -> E_THRESHOLD (a sum
   * of too few inputs reveals too much about each). An integer in [threshold, clients.length];
   * default: the threshold.
   */
  minSurvivors?: number;
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
  readonly #options: SecAggServerOptions & { roundId: string; minSurvivors: number };
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
  /** C_u, the commitment to b_u each client of U2 sent with its ShareKeys message. */
  readonly #commitments = new Map<string, Uint8Array>();
  readonly #masked = new Map<string, MaskedInputMessage>();
  readonly #unmasked = new Map<string, UnmaskMessage>();
  readonly #requests = new Map<string, UnmaskRequestMessage>();
  /** Clients whose Unmasking response was discarded for a bad share; they may not answer again. */
  readonly #discarded = new Set<string>();
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
    const minSurvivors = options.minSurvivors ?? options.threshold;
    if (!Number.isSafeInteger(minSurvivors) || minSurvivors < options.threshold || minSurvivors > clients.length) {
      throw new PrivkitError(
        'E_ARG',
        `minSurvivors must be an integer in [threshold, clients.length] = [${options.threshold}, ${clients.length}], got ${describe(minSurvivors)}`,
        { argument: 'minSurvivors' },
      );
    }
    this.#options = { ...options, clients, roundId, minSurvivors };
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
    if (this.#discarded.has(sender)) throw protocolError(`the Unmasking response of ${JSON.stringify(sender)} was discarded for bad shares`);
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
        this.#commitments.set(sender, checked.selfMaskCommitment.slice());
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
   * E_THRESHOLD (nothing changed) when a secret to rebuild has fewer than t holders in U3, when
   * fewer than `minSurvivors` clients sent masked inputs, or when the survivors' graph (U3 with the
   * edges between neighbours both in U3) is not connected: its groups' partial sums would be
   * unmaskable one by one (see graph.ts).
   */
  closeMaskedInput(): Map<string, UnmaskRequestMessage> {
    this.#expect('masked-input');
    const u2 = new Set(this.#shared.keys());
    const u3 = new Set(this.#masked.keys());
    // Every secret to rebuild (b_u for u in U3, s_u^SK for u in U2 \ U3) needs t holders in U3.
    this.#checkNeighbourhoods(u2, u3, 'sent masked inputs');
    const { minSurvivors } = this.#options;
    if (u3.size < minSurvivors) {
      throw thresholdError(`${u3.size} clients sent masked inputs; the server unmasks no fewer than minSurvivors = ${minSurvivors}`);
    }
    this.#checkConnected(u3);
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
   *
   * Every rebuilt secret is checked against what its owner announced before any share was
   * revealed: s_u^SK must match the public key u advertised, and b_u must fit in 32 bytes and match
   * the commitment C_u that u sent with ShareKeys (crypto.ts, commitSelfMaskSeed). An altered share
   * among the t that go into a rebuild always changes the secret (its Lagrange coefficient is
   * non-zero), so it is caught short of a SHA-256 second preimage; shares beyond the first t are
   * not used and not checked. A secret that fails -> E_AUTH, and the server looks for the culprit:
   * with more than t shares of that secret it rebuilds it again leaving out, one at a time, each
   * holder whose share was used; if exactly one such exclusion gives a secret that passes the
   * check, that holder's Unmasking response is discarded (the error names it; it may not answer
   * again) and closeUnmasking() can be called again. With only t shares (or several bad ones) the
   * culprit can not be told apart: the error says so and every response is kept, so a retry fails
   * the same way until more responses have arrived. Either way the server stays in the unmasking
   * round.
   *
   * The checks catch shares altered after they were dealt. They do not verify the dealing: a
   * client that deals shares of several polynomials in ShareKeys makes its secret fail the check
   * (and may get an honest holder's response blamed), and one that commits to a seed other than
   * the one in its masked input only garbles its own contribution, as a wrong input would. The
   * semi-honest protocol assumes clients deal their shares faithfully.
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
      // Each rebuild returns undefined when the secret fails its check.
      const rebuildSeed = (u: string) => async (shares: readonly ShamirShare[]) => {
        const seed = secretBytes(combine(shares));
        if (seed === undefined) return undefined;
        return equalBytes(await commitSelfMaskSeed(this.roundId, u, seed), this.#commitments.get(u)!) ? seed : undefined;
      };
      const rebuildKey = (u: string) => async (shares: readonly ShamirShare[]) => {
        const scalar = secretBytes(combine(shares));
        return scalar === undefined ? undefined : matchingPrivateKey(curve, scalar, this.#advertised.get(u)!.sPublicKey);
      };
      const seeds = await Promise.all(survivors.map((u) => rebuildSeed(u)(selfMaskShares.get(u)!)));
      const keys = await Promise.all(dropped.map((u) => rebuildKey(u)(keyShares.get(u)!)));
      const failures: SecretFailure[] = [
        ...survivors.flatMap((u, i) =>
          seeds[i] === undefined ? [{ owner: u, what: 'self-mask seed', shares: selfMaskShares.get(u)!, rebuild: rebuildSeed(u) }] : [],
        ),
        ...dropped.flatMap((u, i) =>
          keys[i] === undefined ? [{ owner: u, what: 'masking key', shares: keyShares.get(u)!, rebuild: rebuildKey(u) }] : [],
        ),
      ];
      if (failures.length > 0) await this.#rejectBadShares(failures);
      const masks: Mask[] = seeds.map((seed) => ({ seed: seed!, subtract: true }));
      const pairwise = await Promise.all(
        dropped.map(async (u, i) => {
          const sKey = keys[i]!;
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

  /**
   * Secrets failed their check: finds, for each, the one holder whose share explains it (the secret
   * rebuilt without that share passes), discards those holders' responses, and throws E_AUTH.
   */
  async #rejectBadShares(failures: readonly SecretFailure[]): Promise<never> {
    const t = this.#options.threshold;
    const culprits = new Set<string>();
    const unexplained: string[] = [];
    for (const { owner, what, shares, rebuild } of failures) {
      const suspects: string[] = [];
      if (shares.length > t) {
        // Only the first t shares by x went into the rebuild; leaving out any other changes nothing.
        for (const share of [...shares].sort((a, b) => a.x - b.x).slice(0, t)) {
          if ((await rebuild(shares.filter((s) => s !== share))) !== undefined) suspects.push(this.#clients[share.x - 1]!);
        }
      }
      if (suspects.length === 1) culprits.add(suspects[0]!);
      else unexplained.push(`the ${what} of ${JSON.stringify(owner)}`);
    }
    for (const sender of culprits) {
      this.#unmasked.delete(sender);
      this.#discarded.add(sender);
    }
    const parts: string[] = [];
    if (culprits.size > 0) {
      const names = this.#ordered(culprits).map((id) => JSON.stringify(id)).join(', ');
      parts.push(`bad shares from ${names}: their Unmasking responses are discarded, closeUnmasking() may be called again`);
    }
    if (unexplained.length > 0) {
      parts.push(`the shares of ${unexplained.join(', ')} are inconsistent and no single response explains it (more responses may)`);
    }
    throw new PrivkitError('E_AUTH', parts.join('; '));
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

  /** With SecAgg+, the survivors' graph must be connected, or the server could unmask each group's partial sum. */
  #checkConnected(u3: Set<string>): void {
    const { neighbours } = this.#options;
    if (neighbours === undefined || neighbours >= this.#clients.length - 1) return; // complete graph
    const components = connectedComponents(this.#graph, [...u3].map((id) => this.#indexOf.get(id)!));
    if (components.length > 1) {
      const sizes = components.map((c) => c.length).join(' + ');
      throw thresholdError(
        `the survivors' communication graph splits into ${components.length} groups (${sizes} clients): ` +
          'unmasking would reveal the partial sum of each group',
      );
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

  /** ShareKeys must carry a 32-byte commitment to b_u and exactly one well-sized ciphertext for each neighbour in U1. */
  #checkShareKeys(message: ShareKeysMessage): void {
    if (message.selfMaskCommitment.length !== SELF_MASK_COMMITMENT_BYTES) {
      throw protocolError(
        `the self-mask seed commitment must have ${SELF_MASK_COMMITMENT_BYTES} bytes, got ${message.selfMaskCommitment.length}`,
        'selfMaskCommitment',
      );
    }
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

interface SecretFailure {
  owner: string;
  what: string;
  shares: readonly ShamirShare[];
  /** Rebuilds the secret from the first t of the given shares; undefined when it fails its check. */
  rebuild: (shares: readonly ShamirShare[]) => Promise<unknown>;
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
