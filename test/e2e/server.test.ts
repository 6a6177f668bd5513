// privkit/server and privkit/client end to end on 127.0.0.1 (random port): honest Node clients
// complete central-DP rounds and the ledger matches an independent accountant; a client that goes
// silent is a dropout; and an attacker's unauthenticated, malformed, oversized, text, replayed,
// duplicated and out-of-phase messages are each refused with a code and change no task state.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { RdpAccountant } from 'privkit/accounting';
import { connect, type ClientSummary } from 'privkit/client';
import { createServer, encodeFrame, maxFrameBytes, type PrivkitServer, type TaskOptions } from 'privkit/server';
import { Raw } from '../support/raw-client.js';
import { serverClientData } from './browser/server-client-data.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const model = { type: 'softmax-regression', inputs: 4, classes: 2 } as const;
const PARAMS = 10;

async function start(task: Omit<TaskOptions, 'model' | 'local' | 'clipNorm'> & Partial<TaskOptions>, helloMs = 10000, messagesPerSecond = 1000): Promise<PrivkitServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'privkit-server-'));
  dirs.push(dataDir);
  return createServer({
    port: 0,
    dataDir,
    limits: { maxVector: PARAMS, maxString: 256 },
    messagesPerSecond,
    helloMs,
    task: { model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, ...task },
  });
}


describe('privkit/server with privkit/client over 127.0.0.1', () => {
  it('10 clients complete 3 central-DP rounds; the ledger matches an independent accountant at rate k / checked-in', async () => {
    const server = await start({ id: 'amplified', rounds: 3, clientsPerRound: 4, minCheckIns: 8, noiseMultiplier: 1.5, trainMs: 5000 });
    const health = await (await fetch(`http://127.0.0.1:${server.port}/health`)).json();
    expect(health).toEqual({ ok: true, task: 'amplified' });
    const sessions = Array.from({ length: 10 }, (_, c) =>
      connect({ url: server.url, taskId: 'amplified', token: server.issueToken().token, data: serverClientData(c), WebSocket: WebSocket as never }),
    );
    const final = await server.finished;
    const summaries: ClientSummary[] = await Promise.all(sessions.map((s) => s.done));
    const status = await (await fetch(`http://127.0.0.1:${server.port}/task`)).json();
    expect(status.state).toBe('finished');
    expect(status.rounds).toEqual(final.rounds);
    expect(final.rounds.map((r) => r.status)).toEqual(['released', 'released', 'released']);
    expect(final.modelVersion).toBe(3);
    const independent = new RdpAccountant();
    for (const r of final.rounds) {
      expect(r.checkedIn).toBeGreaterThanOrEqual(8);
      expect(r.included).toBe(4);
      // colludingClients defaults to 1: q = k / (n - 1)
      independent.step({ noiseMultiplier: 1.5, sampleRate: Math.min(1, 4 / (r.checkedIn - 1)), sampling: 'without-replacement', neighbours: 'replace-one', slack: (r.event as { slack: number }).slack, tailMass: (r.event as { tailMass: number }).tailMass });
      expect(r.epsilonAfter).toBeCloseTo(independent.getEpsilon(1e-5).epsilon, 12);
    }
    expect(final.epsilon).toBeCloseTo(independent.getEpsilon(1e-5).epsilon, 12);
    expect(summaries.flatMap((s) => s.trainedRounds).length).toBe(12); // 4 per round, each trained once
    for (const s of summaries) expect(s.results.at(-1)).toMatchObject({ round: 3, status: 'released', epsilon: final.epsilon });
    await server.close();
  });

  it('clients reconnect with back-off to a restarted server, which resumes the task from its ledger', async () => {
    const first = await start({ id: 'restarted', rounds: 4, clientsPerRound: 3, minCheckIns: 4, noiseMultiplier: 2, trainMs: 3000 });
    const dataDir = dirs.at(-1)!;
    const port = first.port;
    const tokens = Array.from({ length: 5 }, () => first.issueToken().token);
    const released: number[] = [];
    const sessions = tokens.map((token, c) =>
      connect({ url: first.url, taskId: 'restarted', token, data: serverClientData(c), WebSocket: WebSocket as never, retryMs: 50, maxRetryMs: 400, attempts: 40, onRound: (r) => void (c === 0 && released.push(r.round)) }),
    );
    while (first.status().completedRounds < 2) await new Promise((r) => setTimeout(r, 10));
    const before = first.status();
    await first.close(); // as a crash for the clients: their sockets are cut; a round in flight stays unreleased
    const second = await createServer({
      port,
      dataDir,
      limits: { maxVector: PARAMS, maxString: 256 },
      messagesPerSecond: 1000,
      task: { id: 'restarted', model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, rounds: 4, clientsPerRound: 3, minCheckIns: 4, noiseMultiplier: 2, trainMs: 3000 },
    });
    const final = await second.finished;
    const summaries = await Promise.all(sessions.map((s) => s.done));
    // the rounds committed before the restart are unchanged; an in-flight one became aborted; numbering continues
    for (const r of before.rounds.filter((x) => x.status === 'released')) expect(final.rounds[r.round - 1]).toEqual(r);
    expect(final.rounds.map((r) => r.round)).toEqual(final.rounds.map((_, i) => i + 1));
    expect(final.rounds.filter((r) => r.status === 'released').length).toBe(4);
    expect(final.rounds.every((r) => r.status === 'released' || r.status === 'aborted')).toBe(true);
    const replay = new RdpAccountant();
    for (const r of final.rounds) if (r.event !== undefined) replay.step(r.event);
    expect(final.epsilon).toBeCloseTo(replay.getEpsilon(1e-5).epsilon, 12);
    expect(final.modelVersion).toBe(4);
    expect(summaries.every((s) => s.connections >= 2)).toBe(true); // every client reconnected
    // results reach the clients connected when a round ends: in order, each once (one that reconnects after the end misses the last)
    expect(released[0]).toBe(1);
    expect(released.every((r, i) => i === 0 || r > released[i - 1]!)).toBe(true);
    await second.close();
  });

  it('stops the task before a round whose charge would pass targetEpsilon', async () => {
    const oneRound = new RdpAccountant().step({ noiseMultiplier: 3, sampleRate: 1, sampling: 'without-replacement', neighbours: 'replace-one' }).getEpsilon(1e-5).epsilon;
    const server = await start({ id: 'budgeted', rounds: 5, clientsPerRound: 2, noiseMultiplier: 3, targetEpsilon: 1.2 * oneRound });
    const sessions = [0, 1].map((c) => connect({ url: server.url, taskId: 'budgeted', token: server.issueToken().token, data: serverClientData(c), WebSocket: WebSocket as never }));
    const final = await server.finished;
    expect(final.finishedBy).toBe('budget');
    expect(final.rounds.map((r) => r.status)).toEqual(['released']); // a second round would charge past the budget: never opened
    expect(final.epsilon).toBeGreaterThanOrEqual(oneRound);
    expect(final.epsilon).toBeLessThanOrEqual(1.2 * oneRound);
    await Promise.all(sessions.map((s) => s.done));
    await server.close();
  });

  it('rate-limits a flooding connection: frames over messagesPerSecond are refused and change nothing', async () => {
    const server = await start({ id: 'flooded', rounds: 1, clientsPerRound: 1, minCheckIns: 2, noiseMultiplier: 1 }, 10000, 3);
    const raw = new Raw(server.url);
    await raw.hello('flooded', server.issueToken().token); // 1 of 3
    raw.send({ type: 'check-in' }); // 2 of 3
    await raw.next('checked-in');
    const before = JSON.stringify(server.status());
    for (let i = 0; i < 4; i++) raw.send({ type: 'check-in' }); // the first is refused as a repeat, the rest by the limit
    const errors = [await raw.next('error'), await raw.next('error'), await raw.next('error'), await raw.next('error')];
    expect(errors.map((e) => e.code)).toEqual(['E_PROTOCOL', 'E_PROTOCOL', 'E_PROTOCOL', 'E_PROTOCOL']);
    expect(errors.filter((e) => /rate limit of 3 messages per second/.test(e.message)).length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(server.status())).toBe(before);
    await server.close();
  });

  it('privkit-server --tokens narrows an existing, world-readable tokens file to its owner before writing the tokens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'privkit-cli-'));
    dirs.push(dir);
    const taskFile = join(dir, 'task.json');
    writeFileSync(taskFile, JSON.stringify({ id: 'cli', model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, rounds: 1, clientsPerRound: 1, noiseMultiplier: 1 }));
    const tokens = join(dir, 'tokens.jsonl');
    writeFileSync(tokens, 'left from an earlier run\n');
    chmodSync(tokens, 0o644); // writeFileSync's mode applies only when it creates the file
    const cli = join(import.meta.dirname, '../../dist/src/server/cli.js');
    const child = spawn(process.execPath, [cli, '--task', taskFile, '--port', '0', '--db', join(dir, 'data'), '--issue', '2', '--tokens', tokens], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        if (err.includes(' on ws://')) resolve();
      });
      child.once('exit', () => reject(new Error(`privkit-server exited: ${err}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    expect(statSync(tokens).mode & 0o077).toBe(0);
  });

  it('a flood cannot keep a socket busy: an unauthenticated connection gets one refusal, an authenticated one is closed after a second of refused frames', async () => {
    const server = await start({ id: 'flood-close', rounds: 1, clientsPerRound: 1, minCheckIns: 2, noiseMultiplier: 1 }, 10000, 3);
    // unauthenticated garbage: one error frame, then the socket is closed (no error frame per garbage frame for helloMs)
    const stranger = new Raw(server.url);
    await stranger.opened();
    for (let i = 0; i < 20; i++) stranger.socket.send(Uint8Array.of(1, 2, 3));
    expect(await stranger.closed).toBe(4003); // a protocol violation, not a refused token
    expect(stranger.inbox.filter((m) => m.type === 'error')).toHaveLength(1);
    // an authenticated flood of 40 frames at 3 per second: refused, then closed, long before 40 error frames
    const raw = new Raw(server.url);
    await raw.hello('flood-close', server.issueToken().token);
    raw.send({ type: 'check-in' });
    await raw.next('checked-in');
    const before = server.status();
    for (let i = 0; i < 40; i++) raw.send({ type: 'check-in' });
    expect(await raw.closed).toBe(4003); // an honest client may reconnect after it (4001 would end it with E_AUTH)
    expect(raw.inbox.filter((m) => m.type === 'error').length).toBeLessThanOrEqual(6);
    expect({ ...server.status(), checkedIn: 1 }).toEqual(before); // refused: nothing changed but the lapse of its check-in with the socket
    await server.close();
  });

  it('a connection flood is bounded: beyond maxUnauthenticated waiting connections a new one is cut at once; authenticated ones do not count; an honest client gets in once a slot frees', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'privkit-server-'));
    dirs.push(dataDir);
    const server = await createServer({
      port: 0,
      dataDir,
      maxUnauthenticated: 3,
      limits: { maxVector: PARAMS, maxString: 256 },
      task: { id: 'conn-flood', model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, rounds: 1, clientsPerRound: 1, noiseMultiplier: 1, trainMs: 3000 },
    });
    // three never-hello connections fill the bound (each could make the server buffer a frame of the largest size)
    const flood = [new Raw(server.url), new Raw(server.url), new Raw(server.url)];
    await Promise.all(flood.map((r) => r.opened()));
    const cut = new Raw(server.url);
    expect(await cut.closed).toBe(1006); // terminated at once, nothing buffered or answered
    expect(cut.inbox).toEqual([]);
    // one of them authenticates: it no longer counts, so one more may wait
    await flood[0]!.hello('conn-flood', server.issueToken().token);
    const waiting = new Raw(server.url);
    await waiting.opened();
    const stillOpen = await Promise.race([waiting.closed.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 200))]);
    expect(stillOpen).toBe(true);
    // an honest client retries with back-off while the bound is full, and gets in once a flood socket leaves
    const honest = connect({ url: server.url, taskId: 'conn-flood', token: server.issueToken().token, data: serverClientData(0), WebSocket: WebSocket as never, retryMs: 50, maxRetryMs: 100, attempts: 50 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.status().checkedIn).toBe(0);
    flood[1]!.socket.close();
    const final = await server.finished;
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 1]]);
    expect((await honest.done).connections).toBeGreaterThan(1);
    for (const raw of [...flood, waiting]) raw.socket.terminate();
    await server.close();
  });

  it('a hello that arrives after helloMs is closed with 4002 (retry) and not read: it cannot supersede the live connection of its client', async () => {
    const server = await start({ id: 'late-hello', rounds: 1, clientsPerRound: 2, noiseMultiplier: 1 }, 300);
    const { token } = server.issueToken();
    const live = new Raw(server.url);
    await live.hello('late-hello', token);
    const late = new Raw(server.url);
    await late.opened();
    late.send({ type: 'hello', taskId: 'late-hello', token });
    // this process is the server too: blocking it past the deadline makes the hello arrive late, whether the
    // server's timer (close 4002) or its read of the hello runs first when it resumes
    const blockedUntil = Date.now() + 450;
    while (Date.now() < blockedUntil);
    expect(await late.closed).toBe(4002);
    expect(late.inbox.some((m) => m.type === 'welcome')).toBe(false);
    // a late hello read while the close is in progress would have authenticated and superseded the live connection (4000)
    expect(await live.openAfter(100)).toBe(true);
    live.send({ type: 'check-in' });
    expect(await live.next('checked-in')).toEqual({ type: 'checked-in', round: 1 });
    expect(server.status().checkedIn).toBe(1);
    live.socket.close();
    await server.close();
  });

  it('refuses every attack with a code and no state change; a silent client is a dropout; too few updates withhold a round', async () => {
    const server = await start({ id: 'attacked', rounds: 2, clientsPerRound: 3, minCheckIns: 3, minUpdates: 2, noiseMultiplier: 1, trainMs: 700 }, 400);
    // the whole task state; while honest clients act concurrently, the ledger's rounds only
    const snapshot = (scope: 'all' | 'rounds') => JSON.stringify(scope === 'all' ? server.status() : server.status().rounds);
    const url = server.url;
    const refused = async (raw: Raw, send: () => void, code: string, pattern: RegExp, scope: 'all' | 'rounds' = 'all') => {
      const before = snapshot(scope);
      send();
      const error = await raw.next('error');
      expect(error.code).toBe(code);
      expect(error.message).toMatch(pattern);
      expect(snapshot(scope)).toBe(before);
    };

    // unauthenticated: a check-in before hello, an unknown token, another task: refused and disconnected (4001)
    for (const attempt of [
      (r: Raw) => r.send({ type: 'check-in' }),
      (r: Raw) => r.send({ type: 'hello', taskId: 'attacked', token: 'guessed' }),
      (r: Raw) => r.send({ type: 'hello', taskId: 'other', token: server.issueToken().token }),
    ]) {
      const raw = new Raw(url);
      await raw.opened();
      await refused(raw, () => attempt(raw), 'E_AUTH', /before authentication|unknown token|unknown task/);
      expect(await raw.closed).toBe(4001);
    }

    // a slow client that never says hello is cut after helloMs, with the retry code (4001 would end an honest client)
    const slow = new Raw(url);
    await slow.opened();
    expect(await slow.closed).toBe(4002);

    const attacker = new Raw(url);
    await attacker.hello('attacked', server.issueToken().token);
    await refused(attacker, () => attacker.socket.send(Uint8Array.of(1, 2, 3)), 'E_PROTOCOL', /shorter than the 12-byte header/);
    await refused(attacker, () => attacker.socket.send('{"type":"check-in"}'), 'E_PROTOCOL', /text frames/);
    await refused(attacker, () => attacker.send({ type: 'welcome', clientId: 'x', model, epochs: 1, batchSize: 1, learningRate: 1, clipNorm: 1, aggregator: 'central-dp', challenge: new Uint8Array(32) }), 'E_PROTOCOL', /sent by the server/);
    await refused(attacker, () => attacker.send({ type: 'update', round: 1, delta: new Float32Array(PARAMS) }), 'E_PROTOCOL', /out of phase/);
    await refused(attacker, () => attacker.send({ type: 'hello', taskId: 'attacked', token: 'again' }), 'E_PROTOCOL', /already authenticated/);
    const oversized = encodeFrame(++attacker.seq, { type: 'update', round: 1, delta: new Float32Array(PARAMS + 1) });
    await refused(attacker, () => attacker.socket.send(oversized), 'E_PROTOCOL', /exceeds the limit of 10/);
    const checkIn = attacker.send({ type: 'check-in' });
    expect(await attacker.next('checked-in')).toEqual({ type: 'checked-in', round: 1 });
    await refused(attacker, () => attacker.socket.send(checkIn), 'E_PROTOCOL', /replayed/);
    await refused(attacker, () => attacker.send({ type: 'check-in' }), 'E_PROTOCOL', /already checked in/);
    expect(server.status().checkedIn).toBe(1);

    // a silent client: authenticates and checks in before every round, never uploads
    const silent = new Raw(url);
    await silent.hello('attacked', server.issueToken().token);
    silent.send({ type: 'check-in' });
    await silent.next('checked-in');
    const honestResults: number[] = [];
    const honest = connect({ url, taskId: 'attacked', token: server.issueToken().token, data: serverClientData(1), WebSocket: WebSocket as never, onRound: (r) => honestResults.push(r.included) });

    // round 1 samples all three: the attacker uploads once (accepted), then again (refused), then a wrong-length update (refused)
    const task = await attacker.next('task');
    expect(task.round).toBe(1);
    attacker.send({ type: 'update', round: 1, delta: new Float32Array(PARAMS).fill(0.01) });
    await refused(attacker, () => attacker.send({ type: 'update', round: 1, delta: new Float32Array(PARAMS) }), 'E_PROTOCOL', /second update/, 'rounds');
    await refused(attacker, () => attacker.send({ type: 'update', round: 2, delta: new Float32Array(PARAMS) }), 'E_PROTOCOL', /out of phase/, 'rounds');
    const first = await attacker.next('round-result');
    expect(first).toMatchObject({ round: 1, status: 'released', included: 2, modelVersion: 1 }); // the silent client dropped out, the duplicate did not count

    // round 2: the attacker checks in again but stays silent too: one update < minUpdates 2, withheld, nothing charged
    attacker.send({ type: 'check-in' });
    silent.send({ type: 'check-in' });
    const second = await attacker.next('round-result');
    expect(second).toMatchObject({ round: 2, status: 'withheld', included: 1, modelVersion: 1 });
    await honest.done;
    const final = server.status();
    expect(final.rounds.map((r) => [r.status, r.sampled, r.included, r.event === undefined])).toEqual([
      ['released', 3, 2, false],
      ['withheld', 3, 1, true],
    ]);
    expect(final.epsilon).toBeCloseTo(new RdpAccountant().step(final.rounds[0]!.event!).getEpsilon(1e-5).epsilon, 12);
    expect(honestResults).toEqual([2, 1]);
    // an oversized frame (beyond the transport limit) closes the connection with 1009 before it is read
    const big = new Raw(url);
    await big.opened();
    big.socket.send(new Uint8Array(maxFrameBytes({ maxVector: PARAMS, maxString: 256 }) + 1));
    expect(await big.closed).toBe(1009);
    await server.close();
  });
});
