// privkit/client: the client side of privkit/server. It connects over WebSocket, authenticates
// with its task's bearer token, checks in, trains the model it is sent on its own data with
// privkit/fl's localUpdate, uploads the update in the binary wire format (src/service/wire.ts) and
// checks in again; a lost connection is retried with capped exponential back-off (randomized from
// privkit's CSPRNG). It uses only the WebSocket and WebCrypto globals (no Node imports), so the same
// code runs in browsers, Web Workers and Node (pass `ws`'s WebSocket where no global one exists).
//
// Adversary: a malicious or broken server or network peer. Every frame is decoded with bounded
// sizes, the server's sequence numbers must increase, the model spec is re-validated (createModel)
// and the parameters must fit it; a violation closes the session with the PrivkitError. The client
// trusts the server with its update in the clear (central DP): its data is protected from everyone
// else by the server's noise, not from the server.
import { PrivkitError } from '../errors.js';
import { createRng, type Rng } from '../dp/rng.js';
import { localUpdate } from '../fl/local.js';
import { createModel, type Model } from '../fl/model.js';
import type { Dataset } from '../fl/data.js';
import { assertInteger, describe, readOptions } from '../validate.js';
import { checkTypedArray } from '../wasm/boundary.js';
import { ready } from '../wasm/runtime.js';
import { decodeFrame, encodeFrame, maxFrameBytes, type Message, type RoundStatus, type WireLimits } from '../service/wire.js';

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
  /** The server's ws:// or wss:// URL. */
  url: string;
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
  /** Called with every round result the server broadcasts. */
  onRound?(result: RoundResult): void;
}

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
 * @throws {PrivkitError} E_ARG when an option is missing or out of range (the message names it), or no WebSocket implementation is available.
 */
export function connect(given: ClientOptions): ClientSession {
  const options = readOptions(given, ['url', 'taskId', 'token', 'data', 'WebSocket', 'limits', 'retryMs', 'maxRetryMs', 'attempts', 'onRound'], 'options', true) as ClientOptions;
  for (const key of ['url', 'taskId', 'token'] as const) {
    if (typeof options[key] !== 'string' || options[key].length === 0) {
      throw new PrivkitError('E_ARG', `options.${key} must be a non-empty string, got ${describe(options[key])}`, { argument: `options.${key}` });
    }
  }
  if (!/^wss?:\/\//.test(options.url)) throw new PrivkitError('E_ARG', `options.url must be a ws:// or wss:// URL, got ${describe(options.url)}`, { argument: 'options.url' });
  const givenData = readOptions(options.data, ['images', 'labels'], 'options.data');
  if (options.data === undefined || options.data === null) throw new PrivkitError('E_ARG', 'options.data must be { images: Float32Array, labels: Uint8Array }', { argument: 'options.data' });
  const data: Dataset = {
    images: checkTypedArray('options.data.images', givenData.images, ['Float32Array']),
    labels: checkTypedArray('options.data.labels', givenData.labels, ['Uint8Array']),
  };
  const Socket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof Socket !== 'function') throw new PrivkitError('E_ARG', 'options.WebSocket must be given where there is no global WebSocket (Node 20: the ws package)', { argument: 'options.WebSocket' });
  if (options.onRound !== undefined && typeof options.onRound !== 'function') throw new PrivkitError('E_ARG', 'options.onRound must be a function', { argument: 'options.onRound' });
  if (options.limits !== undefined) maxFrameBytes(options.limits); // checks them now, not at the first frame
  const retryMs = options.retryMs === undefined ? 250 : assertInteger('options.retryMs', options.retryMs, 1, 2 ** 31 - 1);
  const maxRetryMs = options.maxRetryMs === undefined ? 10000 : assertInteger('options.maxRetryMs', options.maxRetryMs, retryMs, 2 ** 31 - 1);
  const attempts = options.attempts === undefined ? 10 : assertInteger('options.attempts', options.attempts, 1, 2 ** 31 - 1);
  return new Session({ ...options, data }, Socket, retryMs, maxRetryMs, attempts);
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
  readonly #summary: ClientSummary = { clientId: undefined, trainedRounds: [], results: [], connections: 0 };

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

  #open(): void {
    if (this.#stopped) return;
    this.#seqOut = 0;
    this.#lastSeqIn = 0;
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
        const model: Model = createModel(message.model);
        model.checkData(this.options.data.images, this.options.data.labels);
        this.#model = model;
        this.#welcome = message;
        this.#summary.clientId = message.clientId;
        this.#failures = 0;
        this.#send({ type: 'check-in' });
        return;
      case 'checked-in':
        return;
      case 'task':
        this.#train(message);
        return;
      case 'round-result': {
        const { round, status, included, modelVersion, epsilon } = message;
        const result = { round, status, included, modelVersion, epsilon };
        this.#summary.results.push(result);
        this.options.onRound?.(result);
        return;
      }
      case 'error':
        // a refused message of ours: the server changed nothing; an authentication refusal is followed by a close (4001)
        return;
      default:
        throw new PrivkitError('E_PROTOCOL', `the server sent a ${message.type} message, which only clients send`, { argument: 'frame' });
    }
  }

  #welcome: Extract<Message, { type: 'welcome' }> | undefined;

  #train(task: Extract<Message, { type: 'task' }>): void {
    const current = this.#model;
    const welcome = this.#welcome;
    if (current === undefined || welcome === undefined) throw new PrivkitError('E_PROTOCOL', 'the server sent a task before its welcome', { argument: 'frame' });
    const model: Model = current;
    model.checkParams(task.params, 'task.params');
    const { images, labels } = this.options.data;
    const delta = localUpdate(model, task.params, images, labels, {
      epochs: welcome.epochs,
      batchSize: welcome.batchSize,
      learningRate: welcome.learningRate,
      divergence: 'zero', // a diverged client still reports (a zero update), so dropping out never depends on its data
    });
    this.#send({ type: 'update', round: task.round, delta });
    this.#summary.trainedRounds.push(task.round);
    this.#send({ type: 'check-in' });
  }
}
