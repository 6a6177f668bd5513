// Slow peers against privkit/server over 127.0.0.1.
//   - A slow reader: an authenticated client that stops reading and keeps sending frames the server
//     refuses (each refusal is an error frame queued for it), at a rate the limiter allows. The server
//     must not queue what the client never reads without bound: it cuts the connection once its unsent
//     bytes pass the connection layer's bound. Adversary: a malicious client with a valid token.
//   - A silent closer: connections that never say hello and never answer the server's close frame.
//     Each holds one of the maxUnauthenticated slots until it is gone, so the server must not wait
//     for them (ws waits 30 s for the peer's close): with helloMs of 300 ms a handful of such sockets
//     locked every new client out for half a minute. Adversary: a network attacker without a token.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createServer } from 'privkit/server';
import { Raw } from '../support/raw-client.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('privkit/server against a client that stops reading', () => {
  it('cuts an authenticated connection whose unsent error frames pass the bound, instead of queueing them without end', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'privkit-slow-reader-'));
    dirs.push(dataDir);
    // a generous rate limit only makes the attack fast enough for a test; at 50 per second it takes minutes, not seconds
    const server = await createServer({
      port: 0,
      dataDir,
      messagesPerSecond: 100000,
      task: { id: 'slow', model: { type: 'softmax-regression', inputs: 4, classes: 2 }, rounds: 1, clientsPerRound: 2, local: { epochs: 1, batchSize: 2, learningRate: 0.1 }, clipNorm: 1, noiseMultiplier: 1 },
    });
    const raw = new Raw(server.url);
    await raw.hello('slow', server.issueToken().token);
    raw.send({ type: 'check-in' });
    await raw.next('checked-in');
    expect(server.status().checkedIn).toBe(1);
    (raw.socket as unknown as { _socket: Socket })._socket.pause(); // reads nothing from now on
    // refused frames (an update out of phase, ~100 bytes of error frame each) until the server lets go of the client, or 30 s
    const deadline = Date.now() + 30000;
    while (server.status().checkedIn === 1 && Date.now() < deadline) {
      for (let i = 0; i < 500; i++) raw.send({ type: 'update', round: 4294967295, delta: new Float32Array(0) });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(server.status().checkedIn).toBe(0); // cut: it no longer holds a check-in (or server memory)
    raw.socket.terminate();
    await server.close();
  }, 45000);

  it('frees the slot of an unauthenticated connection that does not answer its close frame, so helloMs bounds how long it can lock others out', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'privkit-silent-closer-'));
    dirs.push(dataDir);
    const server = await createServer({
      port: 0,
      dataDir,
      maxUnauthenticated: 2,
      helloMs: 300,
      task: { id: 'silent', model: { type: 'softmax-regression', inputs: 4, classes: 2 }, rounds: 1, clientsPerRound: 2, local: { epochs: 1, batchSize: 2, learningRate: 0.1 }, clipNorm: 1, noiseMultiplier: 1 },
    });
    // two WebSocket upgrades by hand over raw TCP: they read what the server sends and never answer it
    const attackers = Array.from({ length: 2 }, () => {
      const socket = tcpConnect(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
      return socket;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const early = new Raw(server.url); // both slots are taken: cut at once
    expect(await early.closed).toBe(1006);
    // well past helloMs (and the grace the server gives a close frame), far before ws's 30 s close timeout
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const honest = new Raw(server.url);
    expect(await Promise.race([honest.hello('silent', server.issueToken().token).then((m) => m.type), honest.closed.then((code) => `closed ${code}`)])).toBe('welcome');
    honest.socket.close();
    attackers.forEach((socket) => socket.destroy());
    await server.close();
  }, 20000);
});
