// privkit/client against a hostile or broken server (a bare ws server playing one): every frame it
// cannot trust ends the session with a coded PrivkitError, a refusal of its token ends it with
// E_AUTH, and an unreachable server is retried with back-off until the attempts run out. Also: the
// steps of an honest central-DP round as onEvent reports them.
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import { connect, type ClientEvent, type RoundResult } from 'privkit/client';
import { decodeFrame, encodeFrame, type Message } from 'privkit/server';

const model = { type: 'softmax-regression', inputs: 2, classes: 2 } as const;
const welcome: Message = { type: 'welcome', clientId: 'c', model, epochs: 1, batchSize: 1, learningRate: 0.1, clipNorm: 1, aggregator: 'central-dp', challenge: new Uint8Array(32) };
const data = { images: Float32Array.of(0, 1, 1, 0), labels: Uint8Array.of(0, 1) };
let wss: WebSocketServer | undefined;
afterEach(() => new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve())));

/** A fake server that answers the client's hello with `reply` (raw frames) or closes with `closeCode`. */
async function fakeServer(reply: (send: (frame: Uint8Array | string) => void) => void, closeCode?: number): Promise<string> {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss!.once('listening', resolve));
  wss.on('connection', (socket) =>
    socket.once('message', () => (closeCode === undefined ? reply((frame) => socket.send(frame)) : socket.close(closeCode, 'E_AUTH'))),
  );
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

async function outcome(url: string, attempts = 1): Promise<string> {
  const session = connect({ url, taskId: 't', token: 'x', data, WebSocket: WebSocket as never, attempts, retryMs: 5, maxRetryMs: 20 });
  try {
    await session.done;
    return 'done';
  } catch (error) {
    expect(error).toBeInstanceOf(PrivkitError);
    return `${(error as PrivkitError).code} ${(error as PrivkitError).message}`;
  }
}

describe('privkit/client against a hostile server', () => {
  it('refuses parameters that do not fit the model it was given', async () => {
    const url = await fakeServer((send) => {
      send(encodeFrame(1, welcome));
      send(encodeFrame(2, { type: 'task', round: 1, modelVersion: 0, deadlineMs: 1000, params: new Float32Array(5) }));
    });
    expect(await outcome(url)).toMatch(/^E_(SHAPE|ARG) .*params/);
  });

  it('refuses a replayed sequence number, a malformed frame, a text frame and a client-only message', async () => {
    const cases: [(send: (frame: Uint8Array | string) => void) => void, RegExp][] = [
      [(send) => [encodeFrame(1, welcome), encodeFrame(1, { type: 'checked-in', round: 1 })].forEach(send), /^E_PROTOCOL .*replayed sequence number 1/],
      [(send) => send(Uint8Array.of(1, 16, 0)), /^E_PROTOCOL .*shorter than the 12-byte header/],
      [(send) => send('hello'), /^E_PROTOCOL .*non-binary/],
      [(send) => send(encodeFrame(1, { type: 'check-in' })), /^E_PROTOCOL .*which only clients send/],
      [(send) => send(encodeFrame(1, { type: 'task', round: 1, modelVersion: 0, deadlineMs: 1, params: new Float32Array(6) })), /^E_PROTOCOL .*before its welcome/],
      [(send) => send(encodeFrame(1, { ...welcome, model: { type: 'softmax-regression', inputs: 2, classes: 1000 } } as Message)), /^E_ARG /],
    ];
    for (const [reply, pattern] of cases) {
      const url = await fakeServer(reply);
      expect(await outcome(url)).toMatch(pattern);
      await new Promise<void>((resolve) => wss!.close(() => resolve()));
      wss = undefined;
    }
  });

  it('ends with E_AUTH when the server refuses its token (close 4001), and resolves on a normal close (1000)', async () => {
    expect(await outcome(await fakeServer(() => undefined, 4001))).toMatch(/^E_AUTH /);
    await new Promise<void>((resolve) => wss!.close(() => resolve()));
    wss = undefined;
    expect(await outcome(await fakeServer(() => undefined, 1000))).toBe('done');
  });

  it('retries an unreachable server `attempts` times with back-off, then fails with E_PROTOCOL', async () => {
    const url = await fakeServer(() => undefined);
    await new Promise<void>((resolve) => wss!.close(() => resolve())); // the port is now closed
    wss = undefined;
    const started = performance.now();
    expect(await outcome(url, 4)).toMatch(/^E_PROTOCOL .*could not reach .* in 4 attempts/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(2.5 + 5 + 10); // the three waits: >= half of 5, 10 and 20 ms
  });
});

describe('privkit/client progress', () => {
  it('tells onEvent each step of a central-DP round (connected, welcome, checked in, training, uploaded) and onRound its result', async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss!.once('listening', resolve));
    // the server's side: welcome the hello, sample the first check-in for round 1, answer the next with round 1's result and end the task
    wss.on('connection', (socket) => {
      let seq = 0;
      const send = (message: Message) => socket.send(encodeFrame(++seq, message));
      let checkIns = 0;
      socket.on('message', (raw) => {
        const { message } = decodeFrame(new Uint8Array(raw as Buffer));
        if (message.type === 'hello') send(welcome);
        if (message.type !== 'check-in') return;
        checkIns += 1;
        send({ type: 'checked-in', round: checkIns });
        if (checkIns === 1) send({ type: 'task', round: 1, modelVersion: 0, deadlineMs: 1000, params: new Float32Array(6) });
        else {
          send({ type: 'round-result', round: 1, status: 'released', included: 1, modelVersion: 1, epsilon: 0.5 });
          socket.close(1000, 'task finished');
        }
      });
    });
    const events: ClientEvent[] = [];
    const results: RoundResult[] = [];
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const session = connect({ url, taskId: 't', token: 'x', data, WebSocket: WebSocket as never, onEvent: (e) => void events.push(e), onRound: (r) => void results.push(r) });
    expect((await session.done).trainedRounds).toEqual([1]);
    expect(events).toEqual([
      { type: 'connecting', attempt: 1 },
      { type: 'welcome', clientId: 'c', aggregator: 'central-dp' },
      { type: 'checked-in', round: 1 },
      { type: 'training', round: 1 },
      { type: 'uploaded', round: 1 },
      { type: 'checked-in', round: 2 },
    ]);
    expect(results).toEqual([{ round: 1, status: 'released', included: 1, modelVersion: 1, epsilon: 0.5 }]);
  });

  it('ends the session with E_ARG when onEvent throws', async () => {
    const url = await fakeServer((send) => send(encodeFrame(1, welcome)));
    const session = connect({ url, taskId: 't', token: 'x', data, WebSocket: WebSocket as never, onEvent: () => {
      throw new Error('display failed');
    } });
    await expect(session.done).rejects.toMatchObject({ code: 'E_ARG', argument: 'options.onEvent' });
  });

  it('ends the session with E_ARG naming onRound when it throws (the application\'s fault: before, reported as the server\'s, E_PROTOCOL)', async () => {
    const url = await fakeServer((send) => {
      send(encodeFrame(1, welcome));
      send(encodeFrame(2, { type: 'round-result', round: 1, status: 'withheld', included: 0, modelVersion: 0, epsilon: 0 }));
    });
    const events: ClientEvent[] = [];
    const session = connect({ url, taskId: 't', token: 'x', data, WebSocket: WebSocket as never, onEvent: (e) => void events.push(e), onRound: () => {
      throw new Error('display failed');
    } });
    await expect(session.done).rejects.toMatchObject({ code: 'E_ARG', argument: 'options.onRound', message: expect.stringContaining('options.onRound threw') });
    // once ended, no callback is called again
    const seen = events.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events.length).toBe(seen);
  });
});
