// One SecAgg+ round of privkit/server over the wire, shared by the one-process server (server.ts) and
// every aggregator of a task scaled out over Redis (cluster.ts, where a round is one shard's). It
// drives privkit/secagg's SecAggServer (Bonawitz et al. 2017 with the consistency check, SecAgg+
// neighbourhoods of Bell et al. 2020): it sends each of its clients the model, the round's
// quantization plan and setup (SecAggTask), relays the five phases (advertise keys, share keys,
// masked input, consistency check, unmasking), each with a deadline (trainMs for the first, phaseMs
// for the others; a client that misses it is a dropout), and reports the outcome:
//   - a phase closing below its threshold, or fewer masked inputs than minUpdates, before the charge:
//     'withheld' (nothing unmasked);
//   - once the consistency check closes (the survivor set fixed and signed), `charge(survivors)` runs
//     BEFORE any unmask request leaves: the owner commits its charge (server.ts: to its ledger;
//     cluster.ts: the coordinator's) and answers true, or false to withhold the round unmasked;
//   - any failure after the charge: 'aborted' (the charge stays); else 'released' with the sum mod
//     2^bits. A holder that reveals a share its dealer never sent (its own signed response shows it)
//     is discarded, reported (`convict`) and the unmasking retried without it. Dealers convicted by
//     their own signed messages are reported before the outcome, so their owner can ban them first.
// It also holds what both owners check of a client's key: an enrolment's proof of possession
// (checkEnrolment), the connections that presented one (EnrolledConnections: in secure aggregation a
// bearer token alone takes no seat) and the keys an operator binds at token issue (readSigningKeys).
// Whose epsilon, the adversary and the charge are the owner's (see the headers of server.ts and
// cluster.ts); this file checks each client message's round, phase and sender before SecAggServer's
// checks (signatures under the enrolled key, protocol rules), which keep nothing of a refused message.
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { PrivkitError } from '../errors.js';
import { describe } from '../validate.js';
import { encodeBinaryMessage, RoundCodec } from '../secagg/binary.js';
import type { DistributedDpPlan } from '../secagg/ddp.js';
import type { ClientMessage, ServerMessage } from '../secagg/messages.js';
import { rotationLength } from '../secagg/rotation.js';
import { SecAggServer } from '../secagg/server.js';
import { SIGNING_KEY_BYTES } from '../secagg/crypto.js';
import { enrolmentBytes, type Message } from '../service/wire.js';
import { Refusal, SharedFrame, type Connection } from './connections.js';

/** Why a client is banned from a secure-aggregation task, as its own signed messages prove (the reason stored with the ban). */
export const BAN_REASONS = {
  dealer: 'this client was convicted of dealing inconsistent shares (by its own signed messages)',
  holder: 'this client revealed a share its dealer never sent (by its own signed unmasking response)',
} as const;

/** A client a round proved to have cheated, and why (one of {@link BAN_REASONS}). */
export interface Culprit {
  id: string;
  reason: string;
}

/** The raw 32-byte Ed25519 public key as a Node key object (SPKI DER: a fixed 12-byte prefix + the key). */
const ED25519_SPKI_PREFIX = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00);

function verifyEd25519(publicKey: Uint8Array, signature: Uint8Array, bytes: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return verifySignature(null, bytes, key, signature);
  } catch {
    return false;
  }
}

/**
 * Checks an enrolment's form and its proof of possession: a 32-byte Ed25519 key whose signature over
 * (task, client, key, challenge) verifies, where `challenge` is the one the welcome of the connection
 * it came on carried (Connection.challenge), so an enrolment (and the token before it) read off another
 * connection and replayed here is refused. Throws a Refusal (E_PROTOCOL, E_AUTH); whether the key may
 * be bound to the client is the caller's to check.
 */
export function checkEnrolment(taskId: string, clientId: string, challenge: Uint8Array, message: Extract<Message, { type: 'enrol' }>): void {
  const key = message.signingPublicKey;
  if (key.length !== SIGNING_KEY_BYTES || message.signature.length !== 64) throw new Refusal('E_PROTOCOL', 'an enrolment carries a 32-byte Ed25519 key and a 64-byte signature');
  if (!verifyEd25519(key, message.signature, enrolmentBytes(taskId, clientId, key, challenge))) {
    throw new Refusal('E_AUTH', "the enrolment signature does not verify under the enrolled key and this connection's challenge");
  }
}

/**
 * The connections that presented their client's signed enrolment: in secure aggregation only they may
 * check in (a bearer token read off the network does not take a seat by itself).
 */
export class EnrolledConnections {
  readonly #proven = new WeakSet<Connection>();

  /** Records that `connection` proved its client's enrolled key (its enrolment was accepted). */
  add(connection: Connection): void {
    this.#proven.add(connection);
  }

  /** Throws a Refusal (E_PROTOCOL) unless `connection` proved its client's key. */
  assertSeat(connection: Connection): void {
    if (!this.#proven.has(connection)) {
      throw new Refusal('E_PROTOCOL', 'a secure-aggregation task: enrol a signing key (its signed enrolment, on this connection) before checking in');
    }
  }
}

/**
 * Checks the signing keys an operator binds at token issue (`options.signingPublicKeys` of
 * issueTokens, one 32-byte Ed25519 key per token) and copies them (the caller's arrays may change
 * later); undefined when none are given.
 *
 * @throws {PrivkitError} E_ARG when keys are given for a task without secure aggregation, are not `count` 32-byte Uint8Arrays, or repeat a key.
 */
export function readSigningKeys(count: number, given: readonly Uint8Array[] | undefined, secureAggregation: boolean): Uint8Array[] | undefined {
  if (given === undefined) return undefined;
  const name = 'options.signingPublicKeys';
  if (!secureAggregation) throw new PrivkitError('E_ARG', `${name}: this task does not use secure aggregation, so there is no signing key to bind`, { argument: name });
  if (!Array.isArray(given) || given.length !== count) throw new PrivkitError('E_ARG', `${name} must be an array of ${count} keys (one per token), got ${describe(given)}`, { argument: name });
  const keys = given.map((key: unknown, i) => {
    if (!(key instanceof Uint8Array) || key.length !== SIGNING_KEY_BYTES) {
      throw new PrivkitError('E_ARG', `${name}[${i}] must be a ${SIGNING_KEY_BYTES}-byte Uint8Array (a raw Ed25519 public key), got ${describe(key)}`, { argument: name });
    }
    return key.slice();
  });
  if (new Set(keys.map((key) => Buffer.from(key).toString('hex'))).size !== keys.length) throw new PrivkitError('E_ARG', `${name} repeats a key: each client needs its own`, { argument: name });
  return keys;
}

/**
 * A SecAgg+ round of `clients` clients, as SecureAggregator shapes it: the complete graph when a
 * neighbourhood would hold every client, t a neighbourhood majority, and at least max(t, minUpdates)
 * masked inputs unmasked.
 */
export function secAggShape(clients: number, neighbours: number, minUpdates: number): { neighbours: number | undefined; threshold: number; minSurvivors: number } {
  const threshold = Math.floor(Math.min(clients, neighbours + 1) / 2) + 1;
  return { neighbours: neighbours >= clients - 1 ? undefined : neighbours, threshold, minSurvivors: Math.max(threshold, minUpdates) };
}

/**
 * The longest byte field a client of a secure-aggregation task may send: a message holding a masked
 * input of the rotated length at `bits` bits a value and lists of one neighbourhood (client ids are
 * 14 characters: an entry of a list costs well under 512 bytes).
 */
export function secAggMaxBytes(paramCount: number, bits: number, clients: number, neighbours: number): number {
  return Math.ceil((rotationLength(paramCount) * bits) / 8) + 2 ** 16 + 512 * Math.min(clients, neighbours + 1);
}

/** How a round ended: released with the sum mod 2^bits of `included` inputs, withheld before its charge, or aborted after it. */
export type SecAggOutcome = { status: 'released'; sum: Uint32Array; included: number } | { status: 'withheld'; count: number } | { status: 'aborted'; count: number };

/** What a {@link SecAggRound} needs from its owner. */
export interface SecAggRoundParts {
  round: number;
  /** The round's clients (the sample, or a shard of it) with their enrolled Ed25519 keys. */
  clients: readonly { id: string; signingPublicKey: Uint8Array }[];
  plan: DistributedDpPlan;
  /** The fewest masked inputs the round is unmasked with. */
  minUpdates: number;
  neighbours: number;
  trainMs: number;
  phaseMs: number;
  modelVersion: number;
  params: Float32Array;
  rotationSeed: Uint8Array;
  /** The connection of a client, if it has one now. */
  connection(id: string): Connection | undefined;
  /** Called once, with the survivor set's size, before any unmask request: true once charged, false to withhold the round. */
  charge(survivors: number): boolean | Promise<boolean>;
  /**
   * Called with the clients proven to cheat by their own signed messages, each once: the holders discarded
   * for revealing a share their dealer never sent (before the unmasking is retried without them), then the
   * convicted dealers and any holder not yet reported, before {@link end}. Never with an empty list.
   */
  convict(culprits: readonly Culprit[]): void;
  /** Called once with the round's outcome (never after {@link SecAggRound.stop}). */
  end(outcome: SecAggOutcome): void;
}

/** A SecAgg+ round in flight over the wire (see the file header). */
export class SecAggRound {
  readonly round: number;
  readonly #parts: SecAggRoundParts;
  readonly #server: SecAggServer;
  #codec: RoundCodec | undefined;
  /** The clients the open phase waits for (those sent its opening message). */
  #expected: Set<string>;
  /** receive() calls not yet settled (a phase closes once they have). */
  readonly #pending = new Set<Promise<void>>();
  /** True while a phase closes (and before setup): client messages are refused as out of phase. */
  #closing = true;
  #maskedInputs = 0;
  #survivors = 0;
  #charged = false;
  #stopped = false;
  /** The culprits reported to the owner already. */
  readonly #reported = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(parts: SecAggRoundParts) {
    this.round = parts.round;
    this.#parts = parts;
    const ids = parts.clients.map((c) => c.id);
    const { neighbours, threshold, minSurvivors } = secAggShape(ids.length, parts.neighbours, parts.minUpdates);
    this.#server = new SecAggServer({
      clients: ids,
      bits: parts.plan.bits,
      length: parts.plan.dimension,
      threshold,
      minSurvivors,
      ...(neighbours === undefined ? {} : { neighbours }),
      expectedParticipants: parts.clients,
    });
    this.#expected = new Set(ids);
  }

  /** Sets the round up and sends every client its task (encoded once: the model is most of the frame). */
  async start(): Promise<void> {
    const parts = this.#parts;
    const plan = parts.plan;
    const setup = await this.#server.setup();
    this.#codec = new RoundCodec(setup);
    if (this.#stopped) return;
    this.#closing = false;
    const frame = new SharedFrame({
      type: 'secagg-task',
      round: this.round,
      modelVersion: parts.modelVersion,
      deadlineMs: parts.trainMs,
      phaseMs: parts.phaseMs,
      params: parts.params,
      rotationSeed: parts.rotationSeed,
      scale: plan.scale,
      localSigma: plan.localSigma,
      conditionalBound: plan.conditionalBound,
      setup: encodeBinaryMessage(setup),
    });
    for (const id of this.#expected) parts.connection(id)?.send(frame);
    this.#timer = setTimeout(() => void this.#closePhase(), parts.trainMs);
  }

  /** Stops the round where it is: no message is accepted and no owner callback runs from now on. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#closing = true;
    clearTimeout(this.#timer);
    await Promise.allSettled([...this.#pending]);
  }

  /**
   * A SecAgg+ message: of this round and its open phase, from a client the phase waits for, in the
   * binary form bounded by the round's setup, in the sender's own name. Its signature (under the
   * enrolled key) and protocol checks are SecAggServer.receive's; its refusal comes back as an error
   * frame with its code. Returns the state change to apply; throws a Refusal.
   */
  check(connection: Connection, id: string, message: Extract<Message, { type: 'secagg' }>): () => void {
    if (message.round !== this.round || this.#closing || this.#codec === undefined) {
      throw new Refusal('E_PROTOCOL', `a secure-aggregation message for round ${message.round} is out of phase`);
    }
    if (!this.#expected.has(id)) throw new Refusal('E_PROTOCOL', `the ${this.#server.round} phase of round ${this.round} does not wait for this client`);
    let decoded;
    try {
      decoded = this.#codec.decode(message.payload);
    } catch (error) {
      throw new Refusal('E_PROTOCOL', error instanceof Error ? error.message : 'undecodable secure-aggregation message');
    }
    if (!('sender' in decoded)) throw new Refusal('E_PROTOCOL', `a ${decoded.type} message is sent by the server, not to it`);
    if (decoded.sender !== id) throw new Refusal('E_AUTH', 'a secure-aggregation message in the name of another client');
    const clientMessage: ClientMessage = decoded;
    return () => {
      const refSeq = connection.lastSeqIn;
      const received: Promise<void> = this.#server.receive(clientMessage).then(
        () => {
          if (this.#server.receivedCount >= this.#expected.size) void this.#closePhase();
        },
        (error: unknown) => {
          const code = error instanceof PrivkitError ? error.code : 'E_PROTOCOL';
          connection.send({ type: 'error', code, message: (error instanceof Error ? error.message : 'refused').slice(0, 240), refSeq });
        },
      );
      this.#pending.add(received);
      void received.finally(() => this.#pending.delete(received));
    };
  }

  /**
   * Closes the open phase (all awaited clients answered, or its deadline passed) and relays the next
   * phase's messages; the clients that did not answer are dropouts. A failure before the charge
   * withholds the round; any failure after it aborts the round, which keeps its charge.
   */
  async #closePhase(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#timer);
    await Promise.allSettled([...this.#pending]);
    if (this.#stopped) return;
    const server = this.#server;
    try {
      let out: Map<string, ServerMessage>;
      switch (server.round) {
        case 'advertise-keys':
          out = server.closeAdvertiseKeys();
          break;
        case 'share-keys':
          out = server.closeShareKeys();
          break;
        case 'masked-input': {
          this.#maskedInputs = server.receivedCount;
          const checks = server.closeMaskedInput(); // refuses fewer than max(t, minUpdates) survivors
          this.#survivors = checks.values().next().value!.survivors.length;
          out = checks;
          break;
        }
        case 'consistency-check': {
          out = server.closeConsistencyCheck();
          // the charge, before any unmask request (the first thing from which the sum can be computed) leaves
          const charged = await this.#parts.charge(this.#survivors);
          if (this.#stopped) return;
          if (!charged) return this.#end({ status: 'withheld', count: this.#maskedInputs });
          this.#charged = true;
          break;
        }
        default:
          return await this.#unmask();
      }
      this.#expected = new Set(out.keys());
      for (const [id, message] of out) this.#parts.connection(id)?.send({ type: 'secagg-relay', round: this.round, payload: this.#codec!.encode(message) });
      this.#closing = false;
      this.#timer = setTimeout(() => void this.#closePhase(), this.#parts.phaseMs);
    } catch {
      // E_THRESHOLD (too few clients went on), E_AUTH (a cheating holder), or anything else: the round ends unreleased
      if (this.#stopped) return;
      this.#end(this.#charged ? { status: 'aborted', count: this.#survivors } : { status: 'withheld', count: this.#maskedInputs });
    }
  }

  /** Unmasks the sum, retrying without a holder whose revealed shares its dealer never sent. */
  async #unmask(): Promise<void> {
    for (;;) {
      const responses = this.#server.receivedCount;
      try {
        const result = await this.#server.closeUnmasking();
        if (this.#stopped) return;
        return this.#end({ status: 'released', sum: result.sum, included: result.included.length });
      } catch (error) {
        // SecAggServer discards such a response (E_AUTH) and the unmasking is retried with the rest (below threshold:
        // E_THRESHOLD, aborted). Without the retry one malicious client aborted every round after its charge.
        if (!(error instanceof PrivkitError && error.code === 'E_AUTH' && this.#server.receivedCount < responses) || this.#stopped) throw error;
        this.#convict(); // the discarded holders are banned before the retry
      }
    }
  }

  #end(outcome: SecAggOutcome): void {
    this.#stopped = true;
    this.#convict();
    this.#parts.end(outcome);
  }

  /** Reports the convicted dealers and discarded holders not reported yet. */
  #convict(): void {
    const culprits: Culprit[] = [];
    for (const [ids, reason] of [[this.#server.convicted, BAN_REASONS.dealer], [this.#server.discarded, BAN_REASONS.holder]] as const) {
      for (const id of ids) {
        if (this.#reported.has(id)) continue;
        this.#reported.add(id);
        culprits.push({ id, reason });
      }
    }
    if (culprits.length > 0) this.#parts.convict(culprits);
  }
}
