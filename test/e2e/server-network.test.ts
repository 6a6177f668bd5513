// privkit/server and privkit/client against a network attacker and an HTTP flood, over real sockets on
// this machine (127.0.0.0/8, and the machine's own non-loopback address where it has one).
//
// Adversaries: (1) a network attacker on the path between client and server, who reads a ws:// hello's
// bearer token or stands in for the server: the client refuses ws:// to non-loopback hosts unless told
// otherwise, the server refuses plain upgrades from non-loopback peers, a wss:// client (the server's tls
// option) refuses a man in the middle without the server's certificate before it sends anything, and a
// token issued with its client's signing key bound cannot re-bind it; (2) a peer flooding GET /task:
// rate-limited per address (429 with Retry-After), while the status is served from a cache that is
// rebuilt only when the ledger or the live state changes.
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer as createHttpsServer, get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, type WebSocketLike } from 'privkit/client';
import { generateSigningKeyPair } from 'privkit/secagg';
import { createServer, enrolmentBytes, type PrivkitServer, type ServerOptions, type TaskOptions } from 'privkit/server';
import { Raw } from '../support/raw-client.js';
import { serverClientData } from './browser/server-client-data.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const model = { type: 'softmax-regression', inputs: 4, classes: 2 } as const;
const tlsFile = (name: string) => readFileSync(join(import.meta.dirname, '../support/tls', name), 'utf8');
const TLS = { key: tlsFile('localhost-key.pem'), cert: tlsFile('localhost-cert.pem') };
const ATTACKER_TLS = { key: tlsFile('attacker-key.pem'), cert: tlsFile('attacker-cert.pem') };
/** The machine's own non-loopback IPv4 address, if it has one (a peer connecting from it is not on loopback). */
const OWN_ADDRESS = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

async function start(task: Partial<TaskOptions> & { id: string }, options: Partial<ServerOptions> = {}): Promise<PrivkitServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'privkit-network-'));
  dirs.push(dataDir);
  return createServer({
    port: 0,
    dataDir,
    messagesPerSecond: 1000,
    ...options,
    task: { model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, rounds: 1, clientsPerRound: 2, clipNorm: 1, noiseMultiplier: 1, trainMs: 4000, phaseMs: 2000, ...task },
  });
}

/** ws's WebSocket that trusts only `ca` (a client pinned to the server's self-signed certificate). */
function trusting(ca: string): new (url: string) => WebSocketLike {
  return class extends (WebSocket as unknown as new (url: string, options: object) => WebSocketLike) {
    constructor(url: string) {
      super(url, { ca });
    }
  };
}

/** GET path from a local address of 127.0.0.0/8: status, Retry-After and body. */
function get(port: number, path: string, localAddress = '127.0.0.1'): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => void (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** How a WebSocket upgrade ends: 'open', or the HTTP status the server answered it with. */
function upgrade(url: string): Promise<'open' | number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.on('open', () => {
      resolve('open');
      socket.close();
    });
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.destroy();
    });
    socket.on('error', () => resolve(0)); // no HTTP answer at all (e.g. plain HTTP to a TLS port)
  });
}

describe('privkit/server and privkit/client against a network attacker', () => {
  it('the client refuses to send its token over ws:// to a non-loopback host (E_ARG naming the URL) unless allowInsecureTransport is set', async () => {
    const base = { taskId: 't', token: 'secret-token', data: serverClientData(0), WebSocket: WebSocket as never, attempts: 1 };
    for (const url of ['ws://192.0.2.7:8080', 'ws://example.com/task', 'ws://[2001:db8::1]:80', 'ws://127.0.0.1.example.com:80', 'ws://10.0.0.1']) {
      let error: unknown;
      try {
        connect({ ...base, url }).close();
      } catch (e) {
        error = e;
      }
      expect(error, url).toMatchObject({ code: 'E_ARG', argument: 'options.url', message: expect.stringContaining(url) });
      expect((error as Error).message).toContain('allowInsecureTransport');
    }
    // loopback hosts, any wss:// URL, and the explicit opt-out are accepted (closed before a socket opens)
    for (const url of ['ws://127.0.0.1:9', 'ws://127.3.4.5:9', 'ws://localhost:9', 'ws://[::1]:9', 'ws://[::ffff:127.0.0.1]:9', 'wss://example.com/task']) connect({ ...base, url }).close();
    connect({ ...base, url: 'ws://192.0.2.7:8080', allowInsecureTransport: true }).close();
    expect(() => connect({ ...base, url: 'ws://192.0.2.7:8080', allowInsecureTransport: 'yes' as never })).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'options.allowInsecureTransport' }));
  });

  it.skipIf(OWN_ADDRESS === undefined)('the server refuses a plain WebSocket upgrade from a non-loopback peer (403, before any hello) unless allowInsecureTransport; its public status stays readable', async () => {
    const strict = await start({ id: 'plain' }, { host: OWN_ADDRESS });
    expect(strict.url).toBe(`ws://${OWN_ADDRESS}:${strict.port}`);
    // the peer connects from the machine's own address: not loopback, no TLS
    expect(await upgrade(strict.url)).toBe(403);
    const token = strict.issueToken().token;
    // privkit/client itself will not send the token there without the opt-out
    expect(() => connect({ url: strict.url, taskId: 'plain', token, data: serverClientData(0), WebSocket: WebSocket as never })).toThrow(expect.objectContaining({ code: 'E_ARG' }));
    const opted = connect({ url: strict.url, taskId: 'plain', token, data: serverClientData(0), WebSocket: WebSocket as never, allowInsecureTransport: true, attempts: 2, retryMs: 10 });
    expect(await opted.done.catch((e: unknown) => e)).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('in 2 attempts') }); // refused at the upgrade both times
    const health = await fetch(`http://${OWN_ADDRESS}:${strict.port}/health`);
    expect(await health.json()).toEqual({ ok: true, task: 'plain' });
    await strict.close();
    // the operator's opt-out for a private network: the same peer is admitted
    const lax = await start({ id: 'plain-lax' }, { host: OWN_ADDRESS, allowInsecureTransport: true });
    const raw = new Raw(lax.url);
    expect(await raw.hello('plain-lax', lax.issueToken().token)).toMatchObject({ type: 'welcome' });
    raw.socket.close();
    await lax.close();
  });

  it('over wss:// (the tls option) clients complete a round; a man in the middle without the server certificate gets no hello, so never sees a token', async () => {
    for (const tls of [{ key: 'not a key', cert: 'not a certificate' }, { key: TLS.key }, 5, { ...TLS, ca: TLS.cert }]) {
      await expect(start({ id: 'tls' }, { tls: tls as never })).rejects.toMatchObject({ code: 'E_ARG', argument: expect.stringMatching(/^options\.tls/) });
    }
    const server = await start({ id: 'tls' }, { tls: TLS });
    expect(server.url).toBe(`wss://127.0.0.1:${server.port}`);
    const sessions = [0, 1].map((c) => connect({ url: server.url, taskId: 'tls', token: server.issueToken().token, data: serverClientData(c), WebSocket: trusting(TLS.cert) }));
    const final = await server.finished;
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 2]]);
    await Promise.all(sessions.map((s) => s.done));
    // a plain (non-TLS) client gets no WebSocket from a TLS server
    expect(await upgrade(server.url.replace('wss://', 'ws://'))).not.toBe('open');
    await server.close();

    // the attacker answers on the path with its own certificate and records every frame a client sends it
    const frames: Buffer[] = [];
    const https = createHttpsServer(ATTACKER_TLS);
    const wss = new WebSocketServer({ server: https });
    wss.on('connection', (socket) => socket.on('message', (data: Buffer) => frames.push(data)));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', () => resolve()));
    const url = `wss://127.0.0.1:${(https.address() as AddressInfo).port}`;
    const victim = connect({ url, taskId: 'tls', token: 'the-victims-token', data: serverClientData(0), WebSocket: trusting(TLS.cert), attempts: 3, retryMs: 10 });
    expect(await victim.done.catch((e: unknown) => e)).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('in 3 attempts') });
    expect(frames).toEqual([]);
    // the same client trusting the attacker's certificate would have sent its hello: the recorder works
    const fooled = connect({ url, taskId: 'tls', token: 'the-victims-token', data: serverClientData(0), WebSocket: trusting(ATTACKER_TLS.cert), attempts: 1 });
    while (frames.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(frames[0]!.includes('the-victims-token')).toBe(true);
    fooled.close();
    for (const client of wss.clients) client.terminate();
    wss.close();
    https.closeAllConnections();
    await new Promise((resolve) => https.close(resolve));
  });

  it('privkit-server --tls-key --tls-cert serves wss:// and HTTPS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'privkit-cli-tls-'));
    dirs.push(dir);
    const taskFile = join(dir, 'task.json');
    writeFileSync(taskFile, JSON.stringify({ id: 'cli-tls', model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, rounds: 1, clientsPerRound: 1, noiseMultiplier: 1 }));
    const tls = join(import.meta.dirname, '../support/tls');
    const cli = join(import.meta.dirname, '../../dist/src/server/cli.js');
    const args = ['--task', taskFile, '--port', '0', '--db', join(dir, 'data'), '--tls-key', join(tls, 'localhost-key.pem'), '--tls-cert', join(tls, 'localhost-cert.pem')];
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        const found = /on (wss:\/\/\S+) /.exec(err);
        if (found !== null) resolve(found[1]!);
      });
      child.once('exit', () => reject(new Error(`privkit-server exited: ${err}`)));
    });
    expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    const health = await new Promise<string>((resolve, reject) => {
      httpsGet(`${url.replace('wss://', 'https://')}/health`, { ca: TLS.cert }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => void (body += chunk.toString()));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    expect(JSON.parse(health)).toEqual({ ok: true, task: 'cli-tls' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });

  it('a token issued with its client key bound can not re-bind it: the thief enrolling its own key is refused (E_AUTH) and the client completes its round', async () => {
    const server = await start({ id: 'bound', aggregator: 'secagg', clientsPerRound: 3, minUpdates: 3 });
    const keys = await Promise.all([0, 1, 2].map(() => generateSigningKeyPair()));
    const issued = server.issueTokens(3, { signingPublicKeys: keys.map((k) => k.publicKey) });
    // the thief read the victim's token off the network before the victim ever connected
    const victim = issued[0]!;
    const thief = new Raw(server.url);
    await thief.hello('bound', victim.token);
    const stolen = await generateSigningKeyPair();
    const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', stolen.privateKey, enrolmentBytes('bound', victim.clientId, stolen.publicKey, thief.welcome!.challenge) as Uint8Array<ArrayBuffer>));
    thief.send({ type: 'enrol', signingPublicKey: stolen.publicKey, signature });
    expect(await thief.next('error')).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('another signing key') });
    // nor can it take the victim's seat: a connection checks in only after proving the enrolled key
    thief.send({ type: 'check-in' });
    expect(await thief.next('error')).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('enrol a signing key (its signed enrolment, on this connection)') });
    thief.socket.close();
    const sessions = issued.map(({ token }, c) =>
      connect({ url: server.url, taskId: 'bound', token, data: serverClientData(c), WebSocket: WebSocket as never, signingKey: keys[c]!, minParticipants: 3, minNoiseMultiplier: 0.8 }),
    );
    const final = await server.finished;
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 3]]);
    expect((await Promise.all(sessions.map((s) => s.done))).map((s) => s.trainedRounds)).toEqual([[1], [1], [1]]);
    await server.close();
  });

  it('issueTokens with signingPublicKeys refuses bad keys (E_ARG) and stores nothing of a refused call', async () => {
    const central = await start({ id: 'keys-central' });
    const key = (await generateSigningKeyPair()).publicKey;
    expect(() => central.issueTokens(1, { signingPublicKeys: [key] })).toThrow(expect.objectContaining({ code: 'E_ARG', message: expect.stringContaining('does not use secure aggregation') }));
    await central.close();
    const server = await start({ id: 'keys', aggregator: 'secagg', clientsPerRound: 3, minUpdates: 3 });
    const fresh = (await generateSigningKeyPair()).publicKey;
    const bad: [number, unknown, string][] = [
      [2, [key], 'an array of 2 keys'],
      [1, [key.subarray(1)], '32-byte Uint8Array'],
      [1, [Array.from(key)], '32-byte Uint8Array'],
      [2, [key, key.slice()], 'repeats a key'],
      [1, key, 'an array of 1 keys'],
    ];
    for (const [count, signingPublicKeys, message] of bad) {
      expect(() => server.issueTokens(count, { signingPublicKeys: signingPublicKeys as Uint8Array[] })).toThrow(expect.objectContaining({ code: 'E_ARG', message: expect.stringContaining(message) }));
    }
    expect(() => server.issueToken({ signingPublicKeys: [key] } as never)).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'options.signingPublicKeys' }));
    server.issueToken({ signingPublicKey: key });
    // a key already bound: refused, and the call's other client (with a fresh key) is not stored either
    expect(() => server.issueTokens(2, { signingPublicKeys: [fresh, key] })).toThrow(expect.objectContaining({ code: 'E_ARG', message: expect.stringContaining('already bound') }));
    expect(server.issueToken({ signingPublicKey: fresh }).clientId).toMatch(/^c-/);
    await server.close();
  });
});

describe('GET /task under a flood', () => {
  it('each address is rate-limited (429 with Retry-After) while others are served; the status is cached until the ledger or the live state changes', async () => {
    const server = await start({ id: 'flood', clientsPerRound: 2 }, { httpRequestsPerSecond: 5 });
    // the attacker: 60 requests at once from 127.0.0.1
    const flood = await Promise.all(Array.from({ length: 60 }, () => get(server.port, '/task')));
    const served = flood.filter((r) => r.status === 200);
    const refused = flood.filter((r) => r.status === 429);
    expect(served.length).toBeGreaterThanOrEqual(5);
    expect(served.length).toBeLessThanOrEqual(8); // the bucket of 5, and what refills while the flood lasts
    expect(served.length + refused.length).toBe(60);
    for (const r of refused) {
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(r.body)).toEqual({ error: 'E_PROTOCOL', message: 'too many requests' });
    }
    // an honest monitor on another address is served meanwhile, and the attacker again after Retry-After
    expect(await get(server.port, '/task', '127.0.0.2')).toMatchObject({ status: 200 });
    await new Promise((r) => setTimeout(r, 1000 * Number(refused[0]!.retryAfter)));
    expect(await get(server.port, '/health')).toMatchObject({ status: 200 });

    // the cache: the same (frozen) status while nothing changes; a new one once a client checks in, and once the round commits
    const before = server.status();
    expect(server.status()).toBe(before);
    expect(Object.isFrozen(before) && Object.isFrozen(before.rounds) && Object.isFrozen(before.banned)).toBe(true);
    expect(JSON.parse(served[0]!.body)).toEqual(JSON.parse(JSON.stringify(before)));
    const sessions = [0, 1].map((c) => connect({ url: server.url, taskId: 'flood', token: server.issueToken().token, data: serverClientData(c), WebSocket: WebSocket as never }));
    while (server.status().checkedIn === 0 && server.status().rounds.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(server.status()).not.toBe(before);
    await server.finished;
    const after = JSON.parse((await get(server.port, '/task', '127.0.0.3')).body);
    expect(after).toMatchObject({ state: 'finished', completedRounds: 1, modelVersion: 1, banned: { count: 0, clients: [] } });
    expect(after.rounds.map((r: { status: string }) => r.status)).toEqual(['released']);
    expect(after.epsilon).toBeGreaterThan(0);
    await Promise.all(sessions.map((s) => s.done));
    await server.close();
  });
});
