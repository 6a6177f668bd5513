// privkit/client: the client side of privkit/server. It connects over WebSocket, authenticates
// with its task's bearer token, checks in, trains the model it is sent on its own data with
// privkit/fl's localUpdate, uploads the update in the binary wire format (src/service/wire.ts) and
// checks in again; a lost connection is retried with capped exponential back-off (randomized from
// privkit's CSPRNG). It uses only the WebSocket and WebCrypto globals (no Node imports), so the same
// code runs in browsers, Web Workers and Node (pass `ws`'s WebSocket where no global one exists).
// onEvent reports each step of the session (connected, checked in, sampled, training, each SecAgg+
// phase, uploaded, refused, retrying) for live displays such as the demo page's join panel.
//
// Secure aggregation (a task whose welcome says 'secagg'): the client enrols its Ed25519 signing key
// once (signed over the task and its id), then for each round it is sampled for it trains, clips its
// update to clipNorm, rotates, quantizes and noises it with the round's plan (as privkit/fl's
// SecureAggregator does for a simulated client) and runs privkit/secagg's SecAggClient over the wire,
// signing every message with the enrolled key. Its minParticipants is the application's, never the
// server's.
//
// Adversary on the network path (who can read and alter the traffic): the bearer token is the client's
// identity, and over ws:// it travels in the clear, so the client sends it only over wss:// or to a
// loopback host (127.0.0.0/8, ::1, localhost); a ws:// URL naming any other host is refused at connect()
// (E_ARG naming the URL) unless allowInsecureTransport is set, for a private network the application
// trusts. TLS is what protects the token: a network attacker who has one can authenticate as the client
// (take its seat in rounds, supersede its connection), and, if the client has not enrolled its signing
// key yet, bind its own key to the client's identity; an operator who binds each client's key when it
// issues the token (privkit/server's issueTokens with signingPublicKeys) takes that last step away.
//
// Adversary: a malicious or broken server or network peer. Every frame is decoded with bounded
// sizes, the server's sequence numbers must increase, the model spec is re-validated (createModel)
// and the parameters must fit it; a violation closes the session with the PrivkitError. With central
// DP the client trusts the server with its update in the clear: its data is protected from everyone
// else by the server's noise, not from the server. With secure aggregation the server sees only
// masked inputs, and SecAggClient's checks hold against it (signed advertisements, minParticipants,
// the survivor-set checks, signature quorums before revealing): a relayed message that fails them is
// refused (the round is recorded in `refusedRounds`, nothing more is sent for it, and the client
// checks in for the next one). The round's quantization plan comes from the server, so the client
// holds it to a floor of its own (minNoiseMultiplier): the noise of any minParticipants inputs must be
// at least minNoiseMultiplier x the L2 sensitivity the accounting charges (the rounded input's norm
// bound, which a coarse grid makes far larger than the clip norm), and the rounding bound no looser
// than KLS21's; a plan below it (a server cutting the noise) is refused before any key is advertised.
// A client given these secure-aggregation options joins only secure aggregation: a central-DP welcome,
// or a plain task frame in a secure-aggregation session (a server downgrading the aggregation to see
// the update in the clear), ends the session with E_PROTOCOL before any update is sent.
// Still trusted: the other clients' keys (no PKI of the client's own: Sybils can stand in for the
// minParticipants).
import { PrivkitError } from '../errors.js';
import { createRng, type Rng } from '../dp/rng.js';
import { localUpdate } from '../fl/local.js';
import { createModel, type Model } from '../fl/model.js';
import type { Dataset } from '../fl/data.js';
import { assertInteger, assertNumber, describe, readOptions } from '../validate.js';
import { checkTypedArray } from '../wasm/boundary.js';
import { ready } from '../wasm/runtime.js';
import { isLoopbackHost } from '../service/transport.js';
import { decodeFrame, encodeFrame, enrolmentBytes, maxFrameBytes, type Message, type RoundStatus, type WireLimits } from '../service/wire.js';
import { clipByL2 } from '../kernels/clip-into.js';
import { decodeBinaryMessage, encodeBinaryMessage } from '../secagg/binary.js';
import { SecAggClient } from '../secagg/client.js';
import { checkSigningKeyPair, generateSigningKeyPair, sign, type SigningKeyPair } from '../secagg/crypto.js';
import type { ClientMessage, SetupMessage } from '../secagg/messages.js';
import { quantize } from '../secagg/quantize.js';
import { randomizedHadamard, rotationLength } from '../secagg/rotation.js';

/** The browser-shaped WebSocket a client needs (the global one, or `ws`'s in Node 20). */
export interface WebSocketLike {
  /** Set to 'arraybuffer' by the client. */
  binaryType: string;
  /** 1 when open. */
  readonly readyState: number;
  /** Called once connected. */
  onopen: ((event: unknown) => void) | null;
  /** Called with each message (an ArrayBuffer for binary frames). */
  onmessage: ((event: { data: unknown }) => void) | null;
  /** Called once closed, with the close code and reason. */
  onclose: ((event: { code: number; reason: string }) => void) | null;
  /** Called on a transport error (a close follows). */
  onerror: ((event: unknown) => void) | null;
  /** Sends one binary frame. */
  send(data: Uint8Array): void;
  /** Closes the connection. */
  close(code?: number, reason?: string): void;
}

/** A constructor of {@link WebSocketLike}. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Options of {@link connect}. */
export interface ClientOptions {
  /**
   * The server's wss:// URL, or a ws:// one on a loopback host (127.0.0.0/8, ::1, localhost): the bearer
   * token travels in the hello, readable by anyone on the path without TLS. A ws:// URL to any other host
   * is refused unless allowInsecureTransport is true.
   */
  url: string;
  /**
   * true lets the client send its token over ws:// to a non-loopback host: only for a private network the
   * application trusts with the token (anyone who can read the traffic can authenticate as this client).
   * Default false.
   */
  allowInsecureTransport?: boolean;
  /** The task's id. */
  taskId: string;
  /** The bearer token the server issued for this client. */
  token: string;
  /** This client's samples (they never leave it; only clipped-and-noised aggregates are released). */
  data: Dataset;
  /** WebSocket implementation; default globalThis.WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** Wire limits for the server's frames (see WireLimits). */
  limits?: WireLimits;
  /** First retry delay in milliseconds (doubling, randomized to [1/2, 1] of it); default 250. */
  retryMs?: number;
  /** Longest retry delay; default 10000. */
  maxRetryMs?: number;
  /** Connection attempts in a row without a successful authentication before giving up; default 10. */
  attempts?: number;
  /** Called with every round result the server broadcasts; a callback that throws ends the session with E_ARG. */
  onRound?(result: RoundResult): void;
  /**
   * Called at every step of the session (see {@link ClientEvent}), e.g. to show its progress live;
   * a callback that throws ends the session with E_ARG.
   */
  onEvent?(event: ClientEvent): void;
  /**
   * Secure-aggregation tasks: the fewest clients this client lets its input be summed with (a round
   * registering fewer, or a survivor set smaller, is refused). The application's choice, never the
   * server's; required when the task uses secure aggregation (an integer >= 1). Given (or with
   * minNoiseMultiplier), the client joins only secure-aggregation tasks: a server that offers a
   * central-DP task, which would see the update in the clear, ends the session (E_PROTOCOL).
   */
  minParticipants?: number;
  /**
   * Secure-aggregation tasks: the least noise this client lets a round plan, as a noise multiplier:
   * the discrete Gaussian noise of minParticipants clients together must have a standard deviation of
   * at least minNoiseMultiplier x the L2 sensitivity of a quantized input (in quantized units,
   * localSigma x sqrt(minParticipants) >= minNoiseMultiplier x max(c, min(conditionalBound, c + sqrt(d)))
   * with c = scale x clipNorm: what planDistributedDp's accounting charges; it exceeds c by a relative
   * (d / 4 + c) / (2 c^2), about 1e-5 at 20 bits, but many times over on a coarse grid of few bits;
   * a relative 1e-3 is allowed, so a floor of the server's noiseMultiplier passes its plan at 20 bits). A round whose
   * plan asks for less is refused (E_BUDGET in `refusedRounds`), so a server can not cut the noise its
   * epsilonAgainstServer counts on. The application's choice, never the server's; required when the
   * task uses secure aggregation (> 0; the server's noiseMultiplier x sqrt(minParticipants / minUpdates)
   * accepts its plan when its bits leave the rounding that share). Given, the client
   * joins only secure-aggregation tasks (as with minParticipants).
   */
  minNoiseMultiplier?: number;
  /**
   * Secure-aggregation tasks: this client's Ed25519 key pair (privkit/secagg's generateSigningKeyPair),
   * enrolled with the server once and bound to this client for good: keep it (and pass it again) across
   * sessions. Default: a fresh pair for this session, which a server that enrolled another refuses.
   */
  signingKey?: SigningKeyPair;
  /**
   * Secure aggregation: called with this client's quantized, noised input of each round once its
   * masked form is sent (only the masked form leaves the client), for local audits of the unmasked sum;
   * a callback that throws ends the session with E_ARG.
   */
  onInput?(input: QuantizedInput): void;
}

/** A secure-aggregation round this client refused: a server message failed privkit/secagg's checks. */
export interface RefusedRound {
  /** The round. */
  round: number;
  /** The PrivkitError code (E_PROTOCOL, E_THRESHOLD, E_AUTH; E_BUDGET for a noise plan below minNoiseMultiplier). */
  code: string;
  /** What was wrong. */
  message: string;
}

/**
 * A step of a client's session, as {@link ClientOptions.onEvent} sees it, in the order they happen.
 * Round results go to onRound.
 */
export type ClientEvent =
  | {
      /** A connection opened (the first, or a reconnect). */
      type: 'connecting';
      /** Connections opened so far, this one included. */
      attempt: number;
    }
  | {
      /** The server authenticated this client. */
      type: 'welcome';
      /** The id the server enrolled this client under. */
      clientId: string;
      /** The task's aggregation. */
      aggregator: 'central-dp' | 'secagg';
    }
  | {
      /** Secure aggregation: the server accepted this client's signing key. */
      type: 'enrolled';
    }
  | {
      /** Checked in: waiting to be sampled. */
      type: 'checked-in';
      /** The number the next round will take. */
      round: number;
    }
  | {
      /** Sampled: training locally on this client's data. */
      type: 'training';
      /** The round. */
      round: number;
    }
  | {
      /** Secure aggregation: this client's message of a SecAgg+ phase was sent. */
      type: 'secagg';
      /** The round. */
      round: number;
      /** The message sent: 'advertise-keys', 'share-keys', 'masked-input', 'consistency-signature' or 'unmasking'. */
      step: ClientMessage['type'];
    }
  | {
      /** This client's update (central DP) or masked input (secure aggregation) was sent. */
      type: 'uploaded';
      /** The round. */
      round: number;
    }
  | ({
      /** A secure-aggregation round this client refused (see {@link RefusedRound}). */
      type: 'refused';
    } & RefusedRound)
  | {
      /** The connection was lost; the client reconnects after retryMs. */
      type: 'disconnected';
      /** The close code. */
      code: number;
      /** Milliseconds until the next attempt. */
      retryMs: number;
    };

/** A round's outcome as the server reports it. */
export interface RoundResult {
  /** The round number. */
  round: number;
  /** 'released' (a new model version), 'withheld' (too few updates) or 'aborted'. */
  status: RoundStatus;
  /** Updates in the aggregate. */
  included: number;
  /** The latest model version. */
  modelVersion: number;
  /** The task's epsilon after the round (for observers of the released models; see privkit/server). */
  epsilon: number;
}

/** What a finished session reports. */
export interface ClientSummary {
  /** The id the server enrolled this client under. */
  clientId: string | undefined;
  /** Rounds this client trained and uploaded for. */
  trainedRounds: number[];
  /** Every round result received. */
  results: RoundResult[];
  /** Connections opened (1 + reconnects). */
  connections: number;
  /** Secure-aggregation rounds this client refused (see {@link RefusedRound}). */
  refusedRounds: RefusedRound[];
}

/** One secure-aggregation round's quantized, noised input of this client (see {@link ClientOptions.onInput}). */
export interface QuantizedInput {
  /** The round. */
  round: number;
  /** The input before masking: values in Z_2^bits, of the rotated length. */
  input: Uint32Array;
}

/** A running client (see {@link connect}). */
export interface ClientSession {
  /** Resolves when the server ends the task (close code 1000) or close() is called; rejects with the PrivkitError that ended it otherwise. */
  readonly done: Promise<ClientSummary>;
  /** Stops the client (no further reconnects); `done` resolves. */
  close(): void;
}

const CLOSE_NORMAL = 1000;
const CLOSE_REFUSED = 4001;

/**
 * Connects a training client to a privkit/server task and keeps it training until the task ends.
 * Calls `ready()` itself.
 *
 * @example
 * ```ts
 * import { connect } from 'privkit/client';
 * import { WebSocket } from 'ws'; // Node 20; browsers and Node >= 22 have a global WebSocket
 * const labels = Uint8Array.of(0, 1, 0, 1);
 * const images = Float32Array.of(0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0);
 * const session = connect({ url: 'ws://127.0.0.1:9', taskId: 'demo', token: 'not-issued', data: { images, labels },
 *   WebSocket: WebSocket as never, attempts: 1, retryMs: 10 });
 * const outcome = await session.done.catch((error) => error.code); // no server on port 9: 'E_PROTOCOL'
 * console.log(outcome);
 * ```
 *
 * @throws {PrivkitError} E_ARG when an option is missing or out of range (the message names it), the URL is ws:// to a non-loopback host without allowInsecureTransport, or no WebSocket implementation is available.
 */
export function connect(given: ClientOptions): ClientSession {
  const options = readOptions(
    given,
    ['url', 'taskId', 'token', 'data', 'WebSocket', 'limits', 'retryMs', 'maxRetryMs', 'attempts', 'onRound', 'onEvent', 'minParticipants', 'minNoiseMultiplier', 'signingKey', 'onInput', 'allowInsecureTransport'],
    'options',
    true,
  ) as ClientOptions;
  for (const key of ['url', 'taskId', 'token'] as const) {
    if (typeof options[key] !== 'string' || options[key].length === 0) {
      throw new PrivkitError('E_ARG', `options.${key} must be a non-empty string, got ${describe(options[key])}`, { argument: `options.${key}` });
    }
  }
  if (!/^wss?:\/\//.test(options.url)) throw new PrivkitError('E_ARG', `options.url must be a ws:// or wss:// URL, got ${describe(options.url)}`, { argument: 'options.url' });
  if (options.allowInsecureTransport !== undefined && typeof options.allowInsecureTransport !== 'boolean') {
    throw new PrivkitError('E_ARG', `options.allowInsecureTransport must be a boolean, got ${describe(options.allowInsecureTransport)}`, { argument: 'options.allowInsecureTransport' });
  }
  checkTransport(options.url, options.allowInsecureTransport === true);
  const givenData = readOptions(options.data, ['images', 'labels'], 'options.data');
  if (options.data === undefined || options.data === null) throw new PrivkitError('E_ARG', 'options.data must be { images: Float32Array, labels: Uint8Array }', { argument: 'options.data' });
  const data: Dataset = {
    images: checkTypedArray('options.data.images', givenData.images, ['Float32Array']),
    labels: checkTypedArray('options.data.labels', givenData.labels, ['Uint8Array']),
  };
  const Socket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof Socket !== 'function') throw new PrivkitError('E_ARG', 'options.WebSocket must be given where there is no global WebSocket (Node 20: the ws package)', { argument: 'options.WebSocket' });
  for (const key of ['onRound', 'onEvent', 'onInput'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') throw new PrivkitError('E_ARG', `options.${key} must be a function`, { argument: `options.${key}` });
  }
  if (options.limits !== undefined) maxFrameBytes(options.limits); // checks them now, not at the first frame
  const retryMs = options.retryMs === undefined ? 250 : assertInteger('options.retryMs', options.retryMs, 1, 2 ** 31 - 1);
  const maxRetryMs = options.maxRetryMs === undefined ? 10000 : assertInteger('options.maxRetryMs', options.maxRetryMs, retryMs, 2 ** 31 - 1);
  const attempts = options.attempts === undefined ? 10 : assertInteger('options.attempts', options.attempts, 1, 2 ** 31 - 1);
  if (options.minParticipants !== undefined) assertInteger('options.minParticipants', options.minParticipants, 1, 65536);
  if (options.minNoiseMultiplier !== undefined) assertNumber('options.minNoiseMultiplier', options.minNoiseMultiplier, 'positive');
  return new Session({ ...options, data }, Socket, retryMs, maxRetryMs, attempts);
}

/** Refuses a ws:// URL to a non-loopback host (the token would travel in the clear), unless the application allows it. */
function checkTransport(url: string, allowInsecure: boolean): void {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch (cause) {
    throw new PrivkitError('E_ARG', `options.url is not a valid URL: ${describe(url)}`, { argument: 'options.url', cause });
  }
  if (url.startsWith('ws://') && !isLoopbackHost(host) && !allowInsecure) {
    throw new PrivkitError(
      'E_ARG',
      `options.url ${describe(url)} would send the bearer token in the clear (ws:// to the non-loopback host ${host}): use wss://, or set options.allowInsecureTransport on a network you trust`,
      { argument: 'options.url' },
    );
  }
}

class Session implements ClientSession {
  readonly done: Promise<ClientSummary>;
  #resolve!: (summary: ClientSummary) => void;
  #reject!: (error: PrivkitError) => void;
  #socket: WebSocketLike | undefined;
  #seqOut = 0;
  #lastSeqIn = 0;
  #failures = 0;
  #stopped = false;
  #model: Model | undefined;
  #rng: Rng | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #summary: ClientSummary = { clientId: undefined, trainedRounds: [], results: [], connections: 0, refusedRounds: [] };
  /** Secure aggregation: the signing key (checked once), the serial queue of protocol work, the round in flight. */
  #signing: Promise<SigningKeyPair> | undefined;
  #queue: Promise<void> = Promise.resolve();
  #secAgg: { round: number; setup: SetupMessage; client: SecAggClient; input: Uint32Array } | undefined;
  #checkedIn = false;

  constructor(
    private readonly options: ClientOptions,
    private readonly Socket: WebSocketConstructor,
    private readonly retryMs: number,
    private readonly maxRetryMs: number,
    private readonly attempts: number,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    void ready().then(
      () => {
        this.#rng = createRng();
        this.#open();
      },
      (error: unknown) => this.#fail(error instanceof PrivkitError ? error : new PrivkitError('E_WASM', 'privkit failed to load', { cause: error })),
    );
  }

  close(): void {
    this.#stop();
    this.#resolve(this.#summary);
  }

  #stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) {
      socket.onclose = null;
      socket.close(CLOSE_NORMAL, 'client stopped');
    }
  }

  #fail(error: PrivkitError): void {
    this.#stop();
    this.#reject(error);
  }

  /** Tells the application (onEvent) about a step; a callback that throws ends the session. */
  #emit(event: ClientEvent): void {
    this.#call('onEvent', event);
  }

  /**
   * Calls one of the application's callbacks (none once the session has ended); one that throws ends the
   * session with E_ARG naming it: the application's fault, never reported as the server's (E_PROTOCOL).
   */
  #call<K extends 'onEvent' | 'onRound' | 'onInput'>(name: K, argument: Parameters<NonNullable<ClientOptions[K]>>[0]): void {
    if (this.#stopped) return;
    try {
      (this.options[name] as ((value: typeof argument) => void) | undefined)?.(argument);
    } catch (error) {
      this.#fail(new PrivkitError('E_ARG', `options.${name} threw`, { argument: `options.${name}`, cause: error }));
    }
  }

  /** Runs secure-aggregation work in order (each step awaits WebCrypto); an unexpected error ends the session. */
  #enqueue(work: () => Promise<void>): void {
    this.#queue = this.#queue
      .then(work)
      .catch((error: unknown) => this.#fail(error instanceof PrivkitError ? error : new PrivkitError('E_PROTOCOL', 'secure aggregation failed', { cause: error })));
  }

  #open(): void {
    if (this.#stopped) return;
    this.#seqOut = 0;
    this.#lastSeqIn = 0;
    this.#enrolSeq = undefined;
    this.#checkedIn = false;
    this.#summary.connections += 1;
    const socket = new this.Socket(this.options.url);
    this.#socket = socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => this.#send({ type: 'hello', taskId: this.options.taskId, token: this.options.token });
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return; // a late frame of a socket this client has left
      try {
        this.#receive(event.data);
      } catch (error) {
        this.#fail(error instanceof PrivkitError ? error : new PrivkitError('E_PROTOCOL', 'the server sent a message this client cannot handle', { cause: error }));
      }
    };
    socket.onerror = () => undefined; // onclose follows and decides
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#closed(event.code, event.reason);
    };
    this.#emit({ type: 'connecting', attempt: this.#summary.connections });
  }

  #closed(code: number, reason: string): void {
    this.#socket = undefined;
    if (this.#stopped) return;
    if (code === CLOSE_NORMAL) {
      this.#stopped = true;
      this.#resolve(this.#summary);
      return;
    }
    if (code === CLOSE_REFUSED) {
      this.#fail(new PrivkitError('E_AUTH', `the server refused this client: ${reason || 'no reason given'}`, { argument: 'options.token' }));
      return;
    }
    this.#failures += 1;
    if (this.#failures >= this.attempts) {
      this.#fail(new PrivkitError('E_PROTOCOL', `could not reach ${this.options.url} in ${this.attempts} attempts (last close code ${code})`, { argument: 'options.url' }));
      return;
    }
    const ceiling = Math.min(this.maxRetryMs, this.retryMs * 2 ** (this.#failures - 1));
    const delay = ceiling * (0.5 + 0.5 * this.#rng!.uniform(1)[0]!);
    this.#retryTimer = setTimeout(() => this.#open(), delay);
    this.#emit({ type: 'disconnected', code, retryMs: delay });
  }

  #send(message: Message): void {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== 1) return;
    this.#seqOut += 1;
    socket.send(encodeFrame(this.#seqOut, message));
  }

  #receive(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) throw new PrivkitError('E_PROTOCOL', 'the server sent a non-binary frame', { argument: 'frame' });
    const { seq, message } = decodeFrame(new Uint8Array(data), this.options.limits);
    if (seq <= this.#lastSeqIn) throw new PrivkitError('E_PROTOCOL', `the server replayed sequence number ${seq}`, { argument: 'frame' });
    this.#lastSeqIn = seq;
    switch (message.type) {
      case 'welcome':
        // secure-aggregation options state that the server must never see this client's update: a central-DP task
        // (a server downgrading the aggregation) would receive it in the clear
        if (message.aggregator !== 'secagg' && (this.options.minParticipants !== undefined || this.options.minNoiseMultiplier !== undefined)) {
          throw new PrivkitError('E_PROTOCOL', `the server offers a ${message.aggregator} task, whose updates it sees in the clear; this client (minParticipants, minNoiseMultiplier) joins only secure aggregation`, {
            argument: 'frame',
          });
        }
        const model: Model = createModel(message.model);
        model.checkData(this.options.data.images, this.options.data.labels);
        this.#model = model;
        this.#welcome = message;
        this.#summary.clientId = message.clientId;
        this.#failures = 0;
        this.#emit({ type: 'welcome', clientId: message.clientId, aggregator: message.aggregator });
        if (message.aggregator === 'secagg') return this.#enrol(message.clientId, message.challenge);
        this.#checkIn();
        return;
      case 'enrolled':
        this.#emit({ type: 'enrolled' });
        this.#checkIn();
        return;
      case 'checked-in':
        this.#emit({ type: 'checked-in', round: message.round });
        return;
      case 'task':
        this.#checkedIn = false;
        this.#train(message);
        return;
      case 'secagg-task':
        this.#checkedIn = false;
        return this.#enqueue(() => this.#startSecAgg(message));
      case 'secagg-relay':
        return this.#enqueue(() => this.#relay(message));
      case 'round-result': {
        const { round, status, included, modelVersion, epsilon } = message;
        const result = { round, status, included, modelVersion, epsilon };
        this.#summary.results.push(result);
        this.#call('onRound', result);
        // secure aggregation: a round over (whatever this client's part) -> ready for the next one
        if (this.#signing !== undefined) {
          this.#enqueue(async () => {
            if (this.#secAgg?.round === round) this.#secAgg = undefined;
            if (this.#secAgg === undefined) this.#checkIn();
          });
        }
        return;
      }
      case 'error':
        // a refused enrolment can not be retried (the identity is bound to another key, or the key to another identity): waiting would be for good
        if (this.#enrolSeq !== undefined && message.refSeq === this.#enrolSeq) {
          throw new PrivkitError(message.code === 'E_AUTH' ? 'E_AUTH' : 'E_PROTOCOL', `the server refused this client's enrolment: ${message.message}`, { argument: 'options.signingKey' });
        }
        // any other refused message of ours: the server changed nothing; an authentication refusal is followed by a close (4001)
        return;
      default:
        throw new PrivkitError('E_PROTOCOL', `the server sent a ${message.type} message, which only clients send`, { argument: 'frame' });
    }
  }

  #welcome: Extract<Message, { type: 'welcome' }> | undefined;
  /** The sequence number of this connection's enrol frame (an error frame naming it refuses the key). */
  #enrolSeq: number | undefined;

  #train(task: Extract<Message, { type: 'task' }>): void {
    const current = this.#model;
    const welcome = this.#welcome;
    if (current === undefined || welcome === undefined) throw new PrivkitError('E_PROTOCOL', 'the server sent a task before its welcome', { argument: 'frame' });
    // a plain task uploads the update in the clear: only in a central-DP session, never in a secure-aggregation one
    if (welcome.aggregator !== 'central-dp') throw new PrivkitError('E_PROTOCOL', `the server sent a central-DP task in a ${welcome.aggregator} session`, { argument: 'frame' });
    const model: Model = current;
    model.checkParams(task.params, 'task.params');
    this.#emit({ type: 'training', round: task.round });
    const { images, labels } = this.options.data;
    const delta = localUpdate(model, task.params, images, labels, {
      epochs: welcome.epochs,
      batchSize: welcome.batchSize,
      learningRate: welcome.learningRate,
      divergence: 'zero', // a diverged client still reports (a zero update), so dropping out never depends on its data
    });
    this.#send({ type: 'update', round: task.round, delta });
    this.#summary.trainedRounds.push(task.round);
    this.#emit({ type: 'uploaded', round: task.round });
    this.#checkIn();
  }

  #checkIn(): void {
    if (this.#checkedIn) return;
    this.#checkedIn = true;
    this.#send({ type: 'check-in' });
  }

  /**
   * Enrols the signing key, signing this connection's welcome challenge with it (the enrolment is good
   * on this connection only); the server answers 'enrolled' when it is, or already was, this client's key.
   */
  #enrol(clientId: string, challenge: Uint8Array): void {
    for (const key of ['minParticipants', 'minNoiseMultiplier'] as const) {
      if (this.options[key] === undefined) {
        throw new PrivkitError('E_ARG', `options.${key} must be given to join a secure-aggregation task (the application chooses it, not the server)`, { argument: `options.${key}` });
      }
    }
    this.#signing ??= this.options.signingKey === undefined ? generateSigningKeyPair() : checkSigningKeyPair(this.options.signingKey, 'options.signingKey');
    this.#enqueue(async () => {
      const key = await this.#signing!;
      const signature = await sign(key.privateKey, enrolmentBytes(this.options.taskId, clientId, key.publicKey, challenge));
      this.#send({ type: 'enrol', signingPublicKey: key.publicKey, signature });
      this.#enrolSeq = this.#seqOut;
    });
  }

  /** A secure-aggregation round: train, clip, rotate, quantize with noise (as SecureAggregator), advertise keys. */
  async #startSecAgg(task: Extract<Message, { type: 'secagg-task' }>): Promise<void> {
    const current = this.#model;
    const welcome = this.#welcome;
    if (current === undefined || welcome === undefined || this.#signing === undefined) {
      throw new PrivkitError('E_PROTOCOL', 'the server sent a secure-aggregation task before its welcome', { argument: 'frame' });
    }
    const model: Model = current;
    model.checkParams(task.params, 'task.params');
    const setup = decodeBinaryMessage(task.setup);
    if (setup.type !== 'setup' || setup.length !== rotationLength(model.paramCount) || task.rotationSeed.length !== 32) {
      throw new PrivkitError('E_PROTOCOL', "the secure-aggregation task does not fit the model (setup, vector length or rotation seed)", { argument: 'frame' });
    }
    const weak = this.#planProblem(task, welcome.clipNorm, setup.length);
    if (weak !== undefined) return this.#refuse(task.round, new PrivkitError('E_BUDGET', weak, { argument: 'options.minNoiseMultiplier' }));
    this.#emit({ type: 'training', round: task.round });
    const { images, labels } = this.options.data;
    const delta = localUpdate(model, task.params, images, labels, { epochs: welcome.epochs, batchSize: welcome.batchSize, learningRate: welcome.learningRate, divergence: 'zero' });
    this.#summary.trainedRounds.push(task.round);
    // the server can not clip what it never sees: the client clips to the task's bound
    const clipped = clipByL2(delta, 1, welcome.clipNorm);
    const options = { scale: task.scale, bits: setup.bits, noiseSigma: task.localSigma, rounding: 'conditional', conditionalBound: task.conditionalBound, rng: this.#rng! } as const;
    let input: Uint32Array;
    try {
      input = quantize(randomizedHadamard(clipped, task.rotationSeed), options);
    } catch (error) {
      // as SecureAggregator: conditional rounding giving up (probability < 1e-21) sends the zero update plus noise
      if (!(error instanceof PrivkitError && error.argument === 'opts.conditionalBound')) throw error;
      input = quantize(new Float32Array(clipped.length), options);
    }
    const client = new SecAggClient(this.#summary.clientId!, { minParticipants: this.options.minParticipants!, signingKey: await this.#signing });
    this.#secAgg = { round: task.round, setup, client, input };
    await this.#protocolStep(task.round, () => client.advertiseKeys(setup));
  }

  /**
   * Why the round's plan gives less privacy than this client's floor, or undefined. In quantized units
   * the clip norm is c = scale x clipNorm; the conditional rounding bound must be at most KLS21's
   * (Thm 31, beta = e^-1/2 as planDistributedDp) for c and the rotated length d, and the noise of
   * minParticipants clients, localSigma x sqrt(minParticipants), at least minNoiseMultiplier x the L2
   * sensitivity planDistributedDp charges, min(conditionalBound, c + sqrt(d)), and x c (the larger):
   * measured against c alone, a plan on a coarse grid (few bits, small c) passed at the floor with many
   * times the epsilon. Relative slack: 1e-9 on the rounding bound (the server computed the same numbers
   * in another order); 1e-3 on the noise, so that the honest plan at noiseMultiplier z passes a floor of
   * z, its sensitivity exceeding c by a relative (d / 4 + c) / (2 c^2) (about 1e-5 at 20 bits).
   */
  #planProblem(task: Extract<Message, { type: 'secagg-task' }>, clipNorm: number, d: number): string | undefined {
    const { scale, localSigma, conditionalBound } = task;
    const c = scale * clipNorm;
    if (![scale, localSigma, conditionalBound, c].every((v) => Number.isFinite(v) && v > 0)) {
      return `the round's plan is not finite and positive (scale ${scale}, localSigma ${localSigma}, conditionalBound ${conditionalBound})`;
    }
    const bound = Math.sqrt(c * c + d / 4 + (c + Math.sqrt(d) / 2));
    if (conditionalBound > bound * (1 + 1e-9)) return `the round's conditional rounding bound ${conditionalBound} exceeds ${bound} (KLS21 for its clip norm)`;
    const m = this.options.minParticipants!;
    const floor = this.options.minNoiseMultiplier!;
    const sensitivity = Math.max(c, Math.min(conditionalBound, c + Math.sqrt(d)));
    const multiplier = (localSigma * Math.sqrt(m)) / sensitivity;
    if (multiplier < floor * (1 - 1e-3)) {
      return `the round's plan adds noise of multiplier ${multiplier.toPrecision(4)} (of its L2 sensitivity) over ${m} clients, below this client's minNoiseMultiplier ${floor}`;
    }
    return undefined;
  }

  /** A relayed server message of the round in flight: the client's next step. */
  async #relay(relay: Extract<Message, { type: 'secagg-relay' }>): Promise<void> {
    const state = this.#secAgg;
    if (state === undefined || relay.round !== state.round) return; // a round this client left (refused or dropped): nothing to answer
    let message;
    try {
      message = decodeBinaryMessage(relay.payload, { setup: state.setup });
    } catch (error) {
      if (error instanceof PrivkitError) return this.#refuse(state.round, error);
      throw error;
    }
    const { client, input } = state;
    await this.#protocolStep(state.round, () => {
      switch (message.type) {
        case 'public-keys':
          return client.shareKeys(message);
        case 'encrypted-shares':
          return client.maskedInput(message, input);
        case 'consistency-check':
          return client.consistencyCheck(message);
        case 'unmask-request':
          return client.unmask(message);
        default:
          throw new PrivkitError('E_PROTOCOL', `the server relayed a '${message.type}' message, which clients send`, { argument: 'frame' });
      }
    });
  }

  /** Runs one SecAggClient step and sends its signed message; a refusal leaves the round (recorded, nothing sent). */
  async #protocolStep(round: number, step: () => Promise<ClientMessage>): Promise<void> {
    let reply: ClientMessage;
    try {
      reply = await step();
    } catch (error) {
      if (error instanceof PrivkitError && ['E_PROTOCOL', 'E_THRESHOLD', 'E_AUTH'].includes(error.code)) return this.#refuse(round, error);
      throw error;
    }
    const state = this.#secAgg!;
    this.#send({ type: 'secagg', round, payload: encodeBinaryMessage(reply, state.setup) });
    this.#emit({ type: 'secagg', round, step: reply.type });
    if (reply.type === 'masked-input') {
      this.#emit({ type: 'uploaded', round });
      this.#call('onInput', { round, input: state.input });
    }
    if (reply.type === 'unmasking') this.#secAgg = undefined; // this client's part is done
  }

  #refuse(round: number, error: PrivkitError): void {
    const refused = { round, code: error.code, message: error.message };
    this.#summary.refusedRounds.push(refused);
    this.#emit({ type: 'refused', ...refused });
    this.#secAgg = undefined;
    this.#checkIn();
  }
}
