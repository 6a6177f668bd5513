// A hand-driven privkit/server client for the attacker tests: raw frames out, decoded frames in,
// and the close code the server ended the connection with.
import { WebSocket } from 'ws';
import { decodeFrame, encodeFrame, type Message } from 'privkit/server';

export class Raw {
  readonly socket: WebSocket;
  readonly inbox: Message[] = [];
  /** The close code the connection ended with (1006: cut without a close frame). */
  readonly closed: Promise<number>;
  seq = 0;
  /** The welcome of this connection (its hello's answer), whose challenge an enrolment on it signs. */
  welcome: Extract<Message, { type: 'welcome' }> | undefined;
  #waiters: (() => void)[] = [];

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.binaryType = 'arraybuffer';
    this.socket.on('message', (data: ArrayBuffer) => {
      this.inbox.push(decodeFrame(new Uint8Array(data)).message);
      this.#waiters.splice(0).forEach((w) => w());
    });
    this.socket.on('error', () => undefined); // a cut connection reports through 'close'
    this.closed = new Promise((resolve) => this.socket.on('close', (code) => resolve(code)));
  }

  opened(): Promise<void> {
    return new Promise((resolve) => (this.socket.readyState === WebSocket.OPEN ? resolve() : this.socket.once('open', () => resolve())));
  }

  /** Sends a message with the next sequence number; returns the frame (for replays). */
  send(message: Message): Uint8Array {
    const bytes = encodeFrame(++this.seq, message);
    this.socket.send(bytes);
    return bytes;
  }

  /** The next received message of a type (waiting for it). */
  async next<T extends Message['type']>(type: T): Promise<Extract<Message, { type: T }>> {
    for (;;) {
      const k = this.inbox.findIndex((m) => m.type === type);
      if (k >= 0) return this.inbox.splice(k, 1)[0] as Extract<Message, { type: T }>;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Opens, says hello and waits for the welcome. */
  async hello(taskId: string, token: string): Promise<Extract<Message, { type: 'welcome' }>> {
    await this.opened();
    this.send({ type: 'hello', taskId, token });
    this.welcome = await this.next('welcome');
    return this.welcome;
  }

  /** Whether the connection is still open after `ms` milliseconds. */
  async openAfter(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms))]);
  }
}
