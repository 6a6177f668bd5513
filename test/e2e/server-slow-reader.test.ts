// A slow reader against privkit/server over 127.0.0.1: an authenticated client that stops reading and
// keeps sending frames the server refuses (each refusal is an error frame queued for it), at a rate the
// limiter allows. The server must not queue what the client never reads without bound: it cuts the
// connection once its unsent bytes pass the connection layer's bound.
//
// Adversary: a malicious client with a valid token (slowloris on the server's sending side).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
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
});
