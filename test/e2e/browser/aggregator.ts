// The Node aggregator of the secure-aggregation browser tests: a SecAggServer behind a message front
// end that every client, in the Chromium page or in Node, talks to in the same way (the Exchange of
// secagg-round.ts). A client sends its message as JSON text and waits; once every client still in
// the round has sent its message for the current round, the server closes the round and each waiting
// client gets the JSON text of its next server message. A client that drops calls leave(id), as a
// closed connection would tell a real server. Any error (a rejected message, a failed close, a round
// that stalls) fails the whole round: every waiting client and `result` reject with it.
import { decodeMessage, encodeMessage, type ClientMessage, type SecAggResult, type SecAggServer, type ServerMessage } from 'privkit/secagg';

interface Waiter {
  resolve(text: string | null): void;
  reject(error: unknown): void;
}

export class Aggregator {
  readonly result: Promise<SecAggResult>;
  /** Messages and JSON bytes received from each client. */
  readonly received = new Map<string, { messages: number; bytes: number }>();
  readonly #server: SecAggServer;
  readonly #active: Set<string>;
  readonly #waiting = new Map<string, Waiter>();
  readonly #timeoutMs: number;
  #setup: Promise<string> | undefined;
  #closing = false;
  #done = false;
  #failure: Error | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #settle!: { resolve(result: SecAggResult): void; reject(error: unknown): void };

  constructor(server: SecAggServer, clients: readonly string[], timeoutMs = 20_000) {
    this.#server = server;
    this.#active = new Set(clients);
    this.#timeoutMs = timeoutMs;
    this.result = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    this.result.catch(() => {}); // awaited by the test; never an unhandled rejection
    this.#armTimer();
  }

  /** The Exchange of a client: `text` null joins the round and resolves with the setup message. */
  exchange(id: string, text: string | null): Promise<string | null> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (!this.#active.has(id)) return Promise.reject(this.#fail(new Error(`${JSON.stringify(id)} is not (or no longer) in the round`)));
    if (this.#waiting.has(id)) return Promise.reject(this.#fail(new Error(`${JSON.stringify(id)} sent twice without waiting for the reply`)));
    if (text === null) {
      this.#setup ??= this.#server.setup().then((setup) => JSON.stringify(encodeMessage(setup)));
      return this.#setup;
    }
    return this.#accept(id, text);
  }

  /** Hands a client's message to the server (which checks its signature) and waits for the round to close. */
  async #accept(id: string, text: string): Promise<string | null> {
    try {
      const message = decodeMessage(text, { setup: this.#server.setupMessage! }) as ClientMessage;
      if (message.sender !== id) throw new Error(`${JSON.stringify(id)} sent a message signed ${JSON.stringify(message.sender)}`);
      await this.#server.receive(message);
    } catch (error) {
      throw this.#fail(error);
    }
    const count = this.received.get(id) ?? { messages: 0, bytes: 0 };
    this.received.set(id, { messages: count.messages + 1, bytes: count.bytes + text.length });
    const reply = new Promise<string | null>((resolve, reject) => this.#waiting.set(id, { resolve, reject }));
    void this.#maybeClose();
    return reply;
  }

  /** Ends the round: stops the stall timer and, unless the round finished, fails it so no client waits forever. */
  dispose(): void {
    clearTimeout(this.#timer);
    if (!this.#done) this.#fail(new Error('the round was abandoned'));
  }

  /** Client `id` dropped out: the current and later rounds close without it. */
  leave(id: string): void {
    this.#active.delete(id);
    void this.#maybeClose();
  }

  async #maybeClose(): Promise<void> {
    if (this.#closing || this.#failure !== undefined || this.#waiting.size === 0) return;
    for (const id of this.#active) if (!this.#waiting.has(id)) return;
    this.#closing = true;
    try {
      let replies: Map<string, ServerMessage>;
      const round = this.#server.round;
      switch (round) {
        case 'advertise-keys':
          replies = this.#server.closeAdvertiseKeys();
          break;
        case 'share-keys':
          replies = this.#server.closeShareKeys();
          break;
        case 'masked-input':
          replies = this.#server.closeMaskedInput();
          break;
        case 'consistency-check':
          replies = this.#server.closeConsistencyCheck();
          break;
        case 'unmasking':
          this.#settle.resolve(await this.#server.closeUnmasking());
          this.#done = true;
          clearTimeout(this.#timer);
          replies = new Map();
          break;
        default:
          throw new Error(`the server has no round to close (state '${round}')`);
      }
      if (round !== 'unmasking') this.#armTimer();
      const waiting = [...this.#waiting];
      this.#waiting.clear();
      for (const [id, { resolve }] of waiting) {
        const reply = replies.get(id);
        resolve(reply === undefined ? null : JSON.stringify(encodeMessage(reply)));
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#closing = false;
    }
  }

  #armTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const missing = [...this.#active].filter((id) => !this.#waiting.has(id));
      this.#fail(new Error(`round '${this.#server.round}' stalled for ${this.#timeoutMs} ms waiting for ${missing.join(', ')}`));
    }, this.#timeoutMs);
  }

  #fail(error: unknown): Error {
    const failure = error instanceof Error ? error : new Error(String(error));
    if (this.#failure !== undefined || this.#done) return failure;
    this.#failure = failure;
    clearTimeout(this.#timer);
    for (const { reject } of this.#waiting.values()) reject(failure);
    this.#waiting.clear();
    this.#settle.reject(failure);
    return failure;
  }
}
