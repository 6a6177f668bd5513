// Attacks on privkit/server and privkit/client over 127.0.0.1 (random ports, bounded time), each a break
// found by playing the attacker against the service, kept as a regression test:
//   - a secure-aggregation dealer whose shares are not field elements (test/e2e/fixtures/unfit-share-dealer.mjs,
//     in its own process) must be rejected by its holders at the masked-input phase; before, they kept the
//     shares, revealed them, and the server refused their whole unmasking responses: every round it was
//     sampled for was aborted after its charge, nobody was banned, and the task ended by maxAbortedRounds;
//   - privkit/client must not count as loopback a host name that Node resolves through DNS ('localhost.',
//     names under '.localhost'): a network attacker forging the DNS answer would draw the ws:// connection,
//     and the bearer token in its hello, to itself;
//   - the rate limits (per connection, per HTTP peer) must run on a monotonic clock: on Date.now() a wall
//     clock stepped back (NTP, a resumed VM) put every bucket in debt for as long as the step, so the next
//     frame of every authenticated client closed its connection (4003) and every known peer got 429;
//   - a GET /task whose peer stops reading must be cut once it makes no progress: before, a stalled
//     response was kept (with its own copy of the status body, megabytes for a long task) for as long as
//     the peer held the socket, so a few requests a second grew the server's memory and descriptors
//     without bound.
import { spawn } from 'node:child_process';
import { connect as connectTcp } from 'node:net';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { connect } from 'privkit/client';
import { createServer, LEDGER_FILE, type PrivkitServer, type TaskOptions } from 'privkit/server';
import { Raw } from '../support/raw-client.js';
import { serverClientData } from './browser/server-client-data.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const model = { type: 'softmax-regression', inputs: 4, classes: 2 } as const;

async function startSecAgg(task: Pick<TaskOptions, 'id' | 'rounds' | 'clientsPerRound'> & Partial<TaskOptions>): Promise<PrivkitServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'privkit-attacks-'));
  dirs.push(dataDir);
  return createServer({
    port: 0,
    dataDir,
    messagesPerSecond: 1000,
    task: { model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, noiseMultiplier: 1, aggregator: 'secagg', trainMs: 4000, phaseMs: 1000, ...task },
  });
}

/** Runs one of the attacker scripts of test/e2e/fixtures/ against a task until its session ends; returns its JSON lines. */
async function attacker(script: string, url: string, taskId: string, token: string): Promise<Record<string, string>[]> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', script), url, taskId, token], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => void (out += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return out.trim().split('\n').map((line) => JSON.parse(line));
}

describe('privkit/client under attack: the network path', () => {
  it("refuses ws:// to names that only look local ('localhost.', '*.localhost': resolved through DNS by Node), and still takes every spelling of a loopback address", async () => {
    const base = { taskId: 't', token: 'secret-token', data: serverClientData(0), WebSocket: WebSocket as never, attempts: 1 };
    // Node's resolver does not pin these to loopback (getaddrinfo asks DNS: a forged answer is the attacker's address)
    for (const url of ['ws://localhost.:9', 'ws://LOCALHOST.:9', 'ws://attacker.localhost:9', 'ws://evil.localhost.:9', 'ws://localhost.evil.example:9', 'ws://127.0.0.1.nip.io:9']) {
      expect(() => connect({ ...base, url }).close(), url).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'options.url' }));
    }
    // the WHATWG URL parser (as ws and browsers use) turns these into 127.0.0.1, [::1] or [::ffff:7f00:1]: loopback, accepted
    for (const url of ['ws://2130706433:9', 'ws://0x7f.1:9', 'ws://0177.0.0.1:9', 'ws://127.1:9', 'ws://LocalHost:9', 'ws://%6cocalhost:9', 'ws://[0:0:0:0:0:0:0:1]:9', 'ws://[::ffff:127.0.0.1]:9']) {
      connect({ ...base, url }).close();
    }
    // userinfo and backslashes do not smuggle a remote host past the check: the URL's host is what the socket dials
    for (const url of ['ws://127.0.0.1@evil.example:9', 'ws://evil.example\\@127.0.0.1:9', 'ws://127.0.0.1%2f@evil.example:9']) {
      expect(() => connect({ ...base, url }).close(), url).toThrow(expect.objectContaining({ code: 'E_ARG', argument: 'options.url' }));
    }
  });
});

describe('privkit/server when the wall clock steps back', () => {
  afterEach(() => void vi.useRealTimers());

  it('an hour back: authenticated connections are still read (not closed as flooding) and GET /task is still served', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'privkit-attacks-'));
    dirs.push(dataDir);
    const server = await createServer({
      port: 0,
      dataDir,
      httpRequestsPerSecond: 5,
      task: { id: 'clock', model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, noiseMultiplier: 1, rounds: 1, clientsPerRound: 2 },
    });
    const raw = new Raw(server.url);
    await raw.hello('clock', server.issueToken().token);
    expect((await fetch(`http://127.0.0.1:${server.port}/task`)).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 3_600_000);
    // before the fix: an error frame (rate limit exceeded) and close 4003; and 429 with Retry-After 3600
    raw.send({ type: 'check-in' });
    expect(await Promise.race([raw.next('checked-in'), raw.next('error')])).toMatchObject({ type: 'checked-in', round: 1 });
    const status = await fetch(`http://127.0.0.1:${server.port}/task`);
    expect([status.status, status.headers.get('retry-after')]).toEqual([200, null]);
    vi.useRealTimers();
    raw.socket.close();
    await server.close();
  });
});

describe('GET /task against a peer that stops reading', () => {
  it('a response that makes no progress is cut (5-10 s without progress), not kept with its copy of the body for as long as the peer likes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'privkit-attacks-'));
    dirs.push(dataDir);
    const task = { id: 'stall', model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, noiseMultiplier: 1, rounds: 2 ** 20, clientsPerRound: 2 };
    await (await createServer({ port: 0, dataDir, task })).close();
    // a long-running task's ledger: 200,000 withheld rounds, a status body of about 15 MB (more than loopback's socket buffers hold)
    const db = new Database(join(dataDir, LEDGER_FILE));
    const insert = db.prepare("INSERT INTO rounds (task_id, round, status, checked_in, sampled, included) VALUES ('stall', ?, 'withheld', 2, 2, 0)");
    db.transaction(() => {
      for (let round = 1; round <= 200_000; round++) insert.run(round);
    })();
    db.close();
    const server = await createServer({ port: 0, dataDir, task });
    const bodyBytes = Buffer.byteLength(JSON.stringify(server.status()));
    expect(bodyBytes).toBeGreaterThan(12e6);
    // the slow reader asks for the status and stops reading; 12 s later it reads what it can get
    const socket = connectTcp(server.port, '127.0.0.1');
    socket.write('GET /task HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    let received = 0;
    socket.on('data', (chunk: Buffer) => void (received += chunk.length));
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.resume();
    await closed;
    // before the fix the server had kept the whole response for it: every byte arrived
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(bodyBytes);
    await server.close();
  }, 40_000);
});

describe('privkit/server under attack: secure aggregation', () => {
  it('a dealer of shares that are not field elements is rejected by its holders (left out of the survivor set): the rounds are released without it, not aborted after their charge', async () => {
    const task = { id: 'unfit-shares', rounds: 2, clientsPerRound: 6, minUpdates: 4, neighbours: 4, maxAbortedRounds: 2 };
    const server = await startSecAgg(task);
    const honest = Array.from({ length: 5 }, (_, c) =>
      connect({ url: server.url, taskId: task.id, token: server.issueToken().token, data: serverClientData(c), WebSocket: WebSocket as never, minParticipants: 3, minNoiseMultiplier: 0.8 }),
    );
    const [attack, final] = await Promise.all([attacker('unfit-share-dealer.mjs', server.url, task.id, server.issueToken().token), server.finished]);
    // before the fix: [[1, 'aborted', 6], [2, 'aborted', 6]], finishedBy 'aborts', both charges kept and nothing released
    expect(final.rounds.map((r) => [r.round, r.status, r.included])).toEqual([
      [1, 'released', 5],
      [2, 'released', 5],
    ]);
    expect(final.finishedBy).toBe('rounds');
    expect(attack.at(-1)).toEqual({ end: 'resolved' }); // closed with 1000 at the end of the task, as everyone
    const summaries = await Promise.all(honest.map((s) => s.done));
    // every honest client took part in both rounds (none of them refused a round or was refused)
    for (const summary of summaries) {
      expect(summary.trainedRounds).toEqual([1, 2]);
      expect(summary.refusedRounds).toEqual([]);
    }
    await server.close();
  });
});
