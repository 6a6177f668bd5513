// The WebSocket connection layer of privkit/server, shared by the one-process server (server.ts) and
// the aggregators of the Redis scale-out (cluster.ts), so every protection below holds in both modes.
// It listens (HTTP and WebSocket on one port), authenticates clients by the bearer token of their
// hello, and hands each authenticated client's messages to its host (the server or the aggregator),
// which checks them against its task and round.
//
// Adversary on the network path (who reads and alters traffic between clients and the server): the
// bearer token in a hello is the client's identity, so it must not travel in the clear. Given `tls`
// (a key and certificate) the server serves HTTPS and wss:// itself; without it, a WebSocket upgrade
// from a peer that is not on a loopback address is refused (HTTP 403, before any hello is sent) unless
// allowInsecureTransport is set, for a private network the operator trusts. What the server can not
// tell: a peer on loopback may be a reverse proxy that terminates TLS (accepted: the proxy's side is the
// operator's to secure), or a proxy that forwards plain ws:// from elsewhere (privkit/client refuses to
// send its token over ws:// to a non-loopback host on its side). See src/service/transport.ts.
//
// Adversary: any network client, authenticated or not. Every frame goes through, in this order:
//   - a per-connection rate limit (a token bucket of messagesPerSecond);
//   - the wire decoder (binary frames only, bounded sizes checked before allocation: E_PROTOCOL);
//   - per-connection sequence numbers (a replayed or reordered frame: E_PROTOCOL);
//   - authentication: a hello names the task and a bearer token, which the host looks up (in the
//     ledger, or in Redis); anything else before it is E_AUTH;
//   - the host's checks (phase, round, sender), which change nothing unless they pass.
// A refused frame gets an Error frame and changes no state. Before authentication a connection gets
// one refusal and is closed, so it cannot keep a socket busy with refused frames; after it, a second's
// worth of rate-limited frames closes it (its error frames cannot grow the send buffer without bound).
// Frames that arrive while a connection is being closed are not read, and a peer that has not answered
// the server's close frame a second later is cut (its slot freed). A peer that stops reading (a slow
// reader, which could otherwise have every refusal and broadcast queued for it without end) is cut once
// the bytes sent to it and not yet taken pass maxUnsentBytes (4 of the largest frames + 1 MiB: far more
// than one model and a round's relays in flight to an honest client). Slow clients: a connection must
// say hello within helloMs of opening (a hello after that deadline is not read, whether or not the
// timer has fired yet), and at most maxUnauthenticated connections may
// wait to authenticate at once: a new one beyond it is cut before anything is read. Before
// authentication a peer can make the server buffer one frame of the largest size, so this bounds what
// a connection flood costs to maxUnauthenticated such frames (a per-address limit belongs to the
// reverse proxy).
//
// Close codes (privkit/client acts on them):
//   1000  the task finished: the client ends normally;
//   1006  (no close frame) a connection beyond maxUnauthenticated, cut at once, or a peer that stopped
//         reading (over maxUnsentBytes unsent): retry with back-off;
//   1009  a frame over the transport limit (ws's maxPayload);
//   1011  the hello's token could not be looked up (e.g. Redis unreachable): retry with back-off;
//   4000  superseded: the same client authenticated on a newer connection;
//   4001  credentials refused (unknown task or token, a banned client, a message before hello): E_AUTH,
//         the client must not retry;
//   4002  the hello deadline (helloMs) passed: a slow connection, not a refusal; retry with back-off;
//   4003  a protocol violation, or a second's worth of rate-limited frames: the client may reconnect.
import { createHash, getRandomValues } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type * as WsTypes from 'ws';
import { PrivkitError } from '../errors.js';
import { assertInteger, describe, readOptions } from '../validate.js';
import { isLoopbackHost } from '../service/transport.js';
import { decodeFrame, encodeFrame, ENROLMENT_CHALLENGE_BYTES, HEADER_BYTES, maxFrameBytes, withSeq, type Message, type WireLimits } from '../service/wire.js';

/** The close codes of the file header. */
export const CLOSE_FINISHED = 1000;
export const CLOSE_INTERNAL = 1011;
export const CLOSE_SUPERSEDED = 4000;
export const CLOSE_REFUSED = 4001;
export const CLOSE_HELLO_LATE = 4002;
export const CLOSE_VIOLATION = 4003;

/**
 * Milliseconds a peer has to answer the server's close frame before its socket is cut (ws alone would
 * wait 30 s): until then an unauthenticated connection holds its maxUnauthenticated slot, so a peer
 * that never answers could lock new clients out for 30 s, not helloMs.
 */
const CLOSE_GRACE_MS = 1000;

/**
 * Milliseconds an HTTP connection may go without any progress (a request not read, a response not taken)
 * before it is cut; Node checks twice before it gives up on a response in progress, so a stalled one is cut
 * 5-10 s after its last byte was taken.
 */
const HTTP_STALL_MS = 5000;

/** A refusal: the error frame's code and message, and the close code when the connection must end. */
export class Refusal extends Error {
  constructor(
    readonly code: 'E_PROTOCOL' | 'E_AUTH',
    message: string,
    readonly closeCode?: number,
  ) {
    super(message);
  }
}

/** The listening options both privkit/server modes take (createServer, createAggregator). */
export interface ListenOptions {
  /** TCP port; default 8080, 0 for any free port. */
  port?: number;
  /** Interface to listen on; default '127.0.0.1'. */
  host?: string;
  /** Milliseconds a new connection has to authenticate; default 10000. A later hello is closed with 4002. */
  helloMs?: number;
  /** Messages per second one connection may send (a token bucket of this size); default 50. */
  messagesPerSecond?: number;
  /**
   * Connections that may wait to authenticate at once; a new one beyond it is cut (the client retries
   * with back-off). Each may make the server buffer one frame of the largest size before it is refused,
   * so this bounds the memory of a connection flood. Default 256.
   */
  maxUnauthenticated?: number;
  /**
   * Serve HTTPS and wss:// with this PEM private key and certificate chain (what node:https takes). Without it
   * the server speaks plain ws://, and only to loopback peers unless allowInsecureTransport is true.
   */
  tls?: {
    /** The server's private key, PEM. */
    key: string | Uint8Array;
    /** Its certificate chain, PEM. */
    cert: string | Uint8Array;
  };
  /**
   * Without tls: true admits WebSocket clients from non-loopback addresses over plain ws://, whose bearer tokens
   * anyone on the network path can read (only for a private network the operator trusts). Default false: such
   * an upgrade is refused with HTTP 403 before the client sends its token.
   */
  allowInsecureTransport?: boolean;
}

/** The option names of {@link ListenOptions} (for readOptions). */
export const LISTEN_KEYS = ['port', 'host', 'helloMs', 'messagesPerSecond', 'maxUnauthenticated', 'tls', 'allowInsecureTransport'] as const satisfies readonly (keyof ListenOptions)[];

/** Checked listening options. */
export interface ListenSettings {
  port: number;
  host: string;
  helloMs: number;
  messagesPerSecond: number;
  maxUnauthenticated: number;
  tls: { key: string | Uint8Array; cert: string | Uint8Array } | undefined;
  allowInsecureTransport: boolean;
}

/** Checks {@link ListenOptions}, naming `options.<key>` in errors. */
export function readListenOptions(options: ListenOptions): ListenSettings {
  const host = options.host === undefined ? '127.0.0.1' : options.host;
  if (typeof host !== 'string' || host.length === 0) throw new PrivkitError('E_ARG', 'options.host must be a non-empty string', { argument: 'options.host' });
  return {
    port: options.port === undefined ? 8080 : assertInteger('options.port', options.port, 0, 65535),
    host,
    helloMs: options.helloMs === undefined ? 10000 : assertInteger('options.helloMs', options.helloMs, 1, 2 ** 31 - 1),
    messagesPerSecond: options.messagesPerSecond === undefined ? 50 : assertInteger('options.messagesPerSecond', options.messagesPerSecond, 1, 1e6),
    maxUnauthenticated: options.maxUnauthenticated === undefined ? 256 : assertInteger('options.maxUnauthenticated', options.maxUnauthenticated, 1, 2 ** 20),
    tls: readTls(options.tls),
    allowInsecureTransport: readBoolean('options.allowInsecureTransport', options.allowInsecureTransport),
  };
}

function readBoolean(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new PrivkitError('E_ARG', `${name} must be a boolean, got ${describe(value)}`, { argument: name });
  return value;
}

function readTls(given: ListenOptions['tls']): ListenSettings['tls'] {
  if (given === undefined) return undefined;
  const tls = readOptions(given, ['key', 'cert'], 'options.tls', true) as NonNullable<ListenOptions['tls']>;
  for (const key of ['key', 'cert'] as const) {
    const value = tls[key];
    if (!((typeof value === 'string' && value.length > 0) || (value instanceof Uint8Array && value.length > 0))) {
      throw new PrivkitError('E_ARG', `options.tls.${key} must be a non-empty PEM string or Uint8Array, got ${describe(value)}`, { argument: `options.tls.${key}` });
    }
  }
  return { key: tls.key, cert: tls.cert };
}

/** Loads the optional peer dependency ws. */
export function loadWs(): typeof WsTypes {
  try {
    return createRequire(import.meta.url)('ws') as typeof WsTypes;
  } catch (cause) {
    throw new PrivkitError('E_ARG', 'privkit/server needs its optional peer dependency ws 8.x: npm install ws@8', { argument: 'ws', cause });
  }
}

/** The SHA-256 of a bearer token, as the ledger (and Redis) store it. */
export function tokenHash(token: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(token, 'utf8').digest());
}

/** What a host decides about its clients (the layer does the rest). */
export interface ConnectionHandlers {
  /** The client a hello's bearer token authenticates (looked up in the ledger, or in Redis); throws (or rejects with) a Refusal when none may. */
  authenticate(token: string): string | Promise<string>;
  /** A connection has just authenticated (an earlier one of the same client is already superseded): welcome it. */
  welcome(connection: Connection): void;
  /** Checks an authenticated client's message; returns the state change to apply, or throws a Refusal (changing nothing). */
  check(connection: Connection, clientId: string, message: Message): () => void;
  /** An authenticated client's connection ended (closed, or superseded): whatever it held in the task lapses. */
  left(clientId: string): void;
}

/**
 * A message encoded once for many connections (a round's model goes to every sampled client: 10^5-10^6
 * parameters each). Each connection sends it as two fragments of one WebSocket message: its own copy
 * of the header, numbered with its sequence number, then the body, one buffer for every connection
 * (no copy per connection: at 1,000 clients that was 400 MB of buffers to allocate and collect).
 */
export class SharedFrame {
  readonly #frame: Uint8Array;
  /** The frame after its header (never written once encoded: sockets may hold it until they drain). */
  readonly body: Uint8Array;

  constructor(message: Message) {
    this.#frame = encodeFrame(1, message);
    this.body = this.#frame.subarray(HEADER_BYTES);
  }

  /** The header numbered `seq` (a copy). */
  header(seq: number): Uint8Array {
    return withSeq(this.#frame.subarray(0, HEADER_BYTES), seq);
  }
}

/** One WebSocket connection and what it has proven. */
export class Connection {
  // the fields below are the connection layer's; hosts read clientId and lastSeqIn, and call send and close
  /** The client it authenticated as (undefined before its hello is accepted). */
  clientId: string | undefined;
  /** The sequence number of the last frame accepted from it. */
  lastSeqIn = 0;
  #seqOut = 0;
  /** While its hello's token is looked up (asynchronously): no second hello, no other message. */
  authenticating = false;
  /** Rate-limit tokens left (a bucket of messagesPerSecond, refilled continuously) and when it was last refilled. */
  tokens: number;
  refilledAt = performance.now();
  /** When its hello is due (performance.now() milliseconds: a monotonic clock, which a step of the wall clock does not move). */
  readonly helloDeadline: number;
  /**
   * This connection's enrolment challenge (sent in its welcome): fresh CSPRNG bytes, so a signed
   * enrolment verifies on the connection it was made for and on no other (checkEnrolment).
   */
  readonly challenge = getRandomValues(new Uint8Array(ENROLMENT_CHALLENGE_BYTES));
  helloTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly socket: WsTypes.WebSocket,
    rate: number,
    helloMs: number,
    readonly maxUnsentBytes: number,
  ) {
    this.tokens = rate;
    this.helloDeadline = this.refilledAt + helloMs;
  }

  /**
   * Sends a message, or a message encoded once for many connections (dropped once the socket is no
   * longer open); a peer holding more than maxUnsentBytes unread is cut.
   */
  send(message: Message | SharedFrame): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.#seqOut += 1;
    if (message instanceof SharedFrame) {
      // one message in two fragments, sent back to back (nothing can come between them)
      this.socket.send(message.header(this.#seqOut), { fin: false });
      this.socket.send(message.body);
    } else {
      this.socket.send(encodeFrame(this.#seqOut, message));
    }
    if (this.socket.bufferedAmount > this.maxUnsentBytes) this.socket.terminate(); // a slow reader: see the file header
  }

  /** Closes the connection with a close code of the file header; a peer that has not answered the close frame CLOSE_GRACE_MS later is cut. */
  close(code: number, reason: string): void {
    this.socket.close(code, reason);
    setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
  }
}

/**
 * The connections of one task's service on one port: listens, authenticates, rate-limits, refuses
 * and routes (see the file header).
 */
export class Connections {
  /** The TCP port bound. */
  readonly port: number;
  /** ws://host:port (wss:// with tls): what clients connect to. */
  readonly url: string;

  readonly #http: HttpServer;
  readonly #wss: WsTypes.WebSocketServer;
  readonly #taskId: string;
  readonly #limits: WireLimits;
  readonly #settings: ListenSettings;
  #handlers: ConnectionHandlers | undefined;
  readonly #clients = new Map<string, Connection>(); // by client id, the authenticated ones
  #unauthenticated = 0;
  #closing = false;

  /** @internal use {@link listen}. */
  constructor(parts: { http: HttpServer; wss: WsTypes.WebSocketServer; port: number; taskId: string; limits: WireLimits; settings: ListenSettings }) {
    this.#http = parts.http;
    this.#wss = parts.wss;
    this.#taskId = parts.taskId;
    this.#limits = parts.limits;
    this.#settings = parts.settings;
    this.port = parts.port;
    const host = parts.settings.host;
    this.url = `${parts.settings.tls === undefined ? 'ws' : 'wss'}://${host.includes(':') ? `[${host}]` : host}:${parts.port}`;
    this.#wss.on('connection', (socket) => this.#accept(socket));
  }

  /** Starts admitting connections, whose clients `handlers` decide about (the host calls it once, when it is built). */
  serve(handlers: ConnectionHandlers): void {
    this.#handlers = handlers;
  }

  /** The HTTP server on the same port (for a host's GET endpoints). */
  get http(): HttpServer {
    return this.#http;
  }

  /** The authenticated connection of a client, if it has one. */
  get(clientId: string): Connection | undefined {
    return this.#clients.get(clientId);
  }

  /** Every authenticated connection. */
  authenticated(): IterableIterator<Connection> {
    return this.#clients.values();
  }

  /** How many clients are connected and authenticated. */
  get size(): number {
    return this.#clients.size;
  }

  /** Stops listening and cuts every connection. */
  async close(): Promise<void> {
    this.#closing = true;
    const stopped = new Promise<void>((resolve) => this.#http.close(() => resolve())); // no new connections
    for (const client of this.#wss.clients) client.terminate();
    this.#wss.close();
    this.#http.closeAllConnections(); // upgrades and requests still in progress
    await stopped;
  }

  #accept(socket: WsTypes.WebSocket): void {
    // a flood of connections that never authenticate: cut beyond the bound, before any frame is buffered
    if (this.#closing || this.#handlers === undefined || this.#unauthenticated >= this.#settings.maxUnauthenticated) return void socket.terminate();
    this.#unauthenticated += 1;
    const connection = new Connection(socket, this.#settings.messagesPerSecond, this.#settings.helloMs, 4 * maxFrameBytes(this.#limits) + 2 ** 20);
    connection.helloTimer = setTimeout(() => connection.close(CLOSE_HELLO_LATE, 'no hello in time: retry'), this.#settings.helloMs);
    socket.on('message', (data, isBinary) => this.#receive(connection, data as Buffer, isBinary));
    socket.on('close', () => this.#disconnect(connection));
    socket.on('error', () => socket.terminate());
  }

  #disconnect(connection: Connection): void {
    clearTimeout(connection.helloTimer);
    const id = connection.clientId;
    if (id === undefined) this.#unauthenticated -= 1;
    else if (this.#clients.get(id) === connection) {
      this.#clients.delete(id);
      this.#handlers!.left(id);
    }
  }

  #receive(connection: Connection, data: Buffer, isBinary: boolean): void {
    // a connection being closed (refused, banned, superseded, late) is not read: ws still delivers frames until the peer's close arrives
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    let seq = 0;
    try {
      this.#spendToken(connection);
      if (!isBinary) throw new Refusal('E_PROTOCOL', 'text frames are not part of the protocol');
      let frame;
      try {
        frame = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), this.#limits);
      } catch (error) {
        throw new Refusal('E_PROTOCOL', error instanceof Error ? error.message : 'undecodable frame');
      }
      seq = frame.seq;
      if (frame.seq <= connection.lastSeqIn) throw new Refusal('E_PROTOCOL', `sequence number ${frame.seq} replayed (last accepted ${connection.lastSeqIn})`);
      const accept = this.#check(connection, frame.message, frame.seq); // throws a Refusal; changes nothing
      connection.lastSeqIn = frame.seq;
      accept();
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      this.#refuse(connection, error, seq);
    }
  }

  #refuse(connection: Connection, refusal: Refusal, seq: number): void {
    connection.send({ type: 'error', code: refusal.code, message: refusal.message.slice(0, 240), refSeq: seq }); // <= 960 UTF-8 bytes: within a client's default limit
    // an unauthenticated connection gets one refusal: it cannot keep a socket busy with refused frames
    const closeCode = refusal.closeCode ?? (connection.clientId === undefined ? (refusal.code === 'E_AUTH' ? CLOSE_REFUSED : CLOSE_VIOLATION) : undefined);
    if (closeCode !== undefined) connection.close(closeCode, refusal.code);
  }

  #spendToken(connection: Connection): void {
    const rate = this.#settings.messagesPerSecond;
    const now = performance.now(); // monotonic: with Date.now() a wall clock stepped back an hour put every bucket an hour in debt (the next frame closed the connection)
    connection.tokens = Math.min(rate, connection.tokens + ((now - connection.refilledAt) / 1000) * rate) - 1;
    connection.refilledAt = now;
    // over the limit a message is refused; a second's worth of refused messages closes the connection,
    // so a flood (whose every frame would cost an error frame) cannot grow the send buffer without bound
    if (connection.tokens < 0) throw new Refusal('E_PROTOCOL', `rate limit of ${rate} messages per second exceeded`, connection.tokens <= -rate ? CLOSE_VIOLATION : undefined);
  }

  #check(connection: Connection, message: Message, seq: number): () => void {
    if (message.type === 'hello') {
      if (connection.clientId !== undefined || connection.authenticating) throw new Refusal('E_PROTOCOL', 'already authenticated');
      // past its deadline a hello is not read, even when it is read before the timer's close (a busy event loop)
      if (performance.now() >= connection.helloDeadline) {
        throw new Refusal('E_PROTOCOL', `a hello after the ${this.#settings.helloMs} ms deadline: retry`, CLOSE_HELLO_LATE);
      }
      if (message.taskId !== this.#taskId) throw new Refusal('E_AUTH', 'unknown task', CLOSE_REFUSED);
      const found = this.#handlers!.authenticate(message.token); // throws a Refusal (unknown token, banned client)
      if (!(found instanceof Promise)) return () => this.#admit(connection, found);
      return () => {
        connection.authenticating = true;
        found.then(
          (clientId) => {
            connection.authenticating = false;
            if (connection.socket.readyState === connection.socket.OPEN) this.#admit(connection, clientId);
          },
          (error: unknown) => {
            connection.authenticating = false;
            // a refusal of the client, or a failure of the lookup itself: not the client's fault, so not 4001
            this.#refuse(connection, error instanceof Refusal ? error : new Refusal('E_PROTOCOL', 'the token could not be checked now: retry', CLOSE_INTERNAL), seq);
          },
        );
      };
    }
    const id = connection.clientId;
    if (id === undefined) throw new Refusal('E_AUTH', `${message.type} before authentication`, CLOSE_REFUSED);
    return this.#handlers!.check(connection, id, message);
  }

  /** The hello is accepted: the connection becomes the client's (superseding an earlier one) and is welcomed. */
  #admit(connection: Connection, clientId: string): void {
    clearTimeout(connection.helloTimer);
    this.#unauthenticated -= 1;
    const previous = this.#clients.get(clientId);
    if (previous !== undefined) {
      // a reconnect supersedes the old socket; what it held lapses with it
      this.#clients.delete(clientId);
      this.#handlers!.left(clientId);
      previous.close(CLOSE_SUPERSEDED, 'superseded by a new connection');
    }
    connection.clientId = clientId;
    this.#clients.set(clientId, connection);
    this.#handlers!.welcome(connection);
  }
}

/**
 * Binds HTTP and WebSocket on one port for a task's clients (frames up to maxFrameBytes(limits)) and
 * returns the connection layer; it admits connections once its host calls serve().
 *
 * @throws {PrivkitError} E_ARG (as a rejection) when the port or host cannot be bound, or ws is not installed.
 */
export async function listen(settings: ListenSettings, parts: { taskId: string; limits: WireLimits }): Promise<Connections> {
  const ws = loadWs();
  const timeouts = { headersTimeout: 10000, requestTimeout: 10000 };
  let http: HttpServer;
  try {
    const pem = (value: string | Uint8Array) => (typeof value === 'string' ? value : Buffer.from(value));
    // an https.Server is an http.Server with TLS underneath (the same request, upgrade and close API)
    http = settings.tls === undefined ? createHttpServer(timeouts) : (createHttpsServer({ ...timeouts, key: pem(settings.tls.key), cert: pem(settings.tls.cert) }) as unknown as HttpServer);
  } catch (cause) {
    throw new PrivkitError('E_ARG', `options.tls could not be used: ${cause instanceof Error ? cause.message : String(cause)}`, { argument: 'options.tls', cause });
  }
  // a response the peer stops reading (a large GET /task) is cut after HTTP_STALL_MS without progress; without
  // it Node keeps it, with its unsent bytes, for as long as the peer holds the socket (ws clears the timeout of
  // an upgraded socket: WebSocket connections are bounded by the rules of the file header instead)
  http.timeout = HTTP_STALL_MS;
  const wss = new ws.WebSocketServer({
    server: http,
    maxPayload: maxFrameBytes(parts.limits),
    // the network adversary of the file header: no plain upgrade from off the machine (the hello's token would follow in the clear)
    verifyClient: (info: { secure: boolean; req: { socket: { remoteAddress?: string } } }, done: (ok: boolean, code?: number, message?: string) => void) => {
      const plainRemote = !info.secure && !isLoopbackHost(info.req.socket.remoteAddress ?? '');
      if (plainRemote && !settings.allowInsecureTransport) return done(false, 403, 'plain ws:// from a non-loopback address: use wss://');
      done(true);
    },
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', (cause: NodeJS.ErrnoException) => {
      const argument = cause.code === 'EADDRINUSE' || cause.code === 'EACCES' ? 'options.port' : 'options.host';
      reject(new PrivkitError('E_ARG', `cannot listen on ${describe(settings.host)} port ${settings.port}: ${cause.code ?? cause.message}`, { argument, cause }));
    });
    http.listen(settings.port, settings.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  return new Connections({ http, wss, port, taskId: parts.taskId, limits: parts.limits, settings });
}
