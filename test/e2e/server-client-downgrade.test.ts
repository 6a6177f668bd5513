// A deviating server against privkit/client: a client that joins with secure-aggregation options
// (minParticipants, minNoiseMultiplier) must never send its update in the clear.
//
// Adversary: a deviating server, played (a) by a real privkit/server whose task is central-DP (a
// server that downgrades the aggregation: it would see the update in the clear), and (b) by a
// WebSocket wrapper around the client's socket that turns the real SecAgg+ server's secagg-task into a
// central-DP task frame mid-session. Each time the client must end the session (E_PROTOCOL) without
// sending an update frame. And a network attacker who stole a client's token (a ws:// hello is in the
// clear) and enrolled its own key first: the client must end with E_AUTH, not wait for good.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, type WebSocketLike } from 'privkit/client';
import { generateSigningKeyPair } from 'privkit/secagg';
import { createServer, decodeFrame, encodeFrame, enrolmentBytes, type Message, type PrivkitServer, type TaskOptions } from 'privkit/server';
import { Raw } from '../support/raw-client.js';
import { serverClientData } from './browser/server-client-data.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const model = { type: 'softmax-regression', inputs: 4, classes: 2 } as const;

async function start(task: Partial<TaskOptions> & { id: string }): Promise<PrivkitServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'privkit-downgrade-'));
  dirs.push(dataDir);
  return createServer({
    port: 0,
    dataDir,
    messagesPerSecond: 1000,
    task: { model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, rounds: 1, clientsPerRound: 3, clipNorm: 1, noiseMultiplier: 1, trainMs: 4000, phaseMs: 2000, ...task },
  });
}

/** A WebSocket class that records every frame the client sends and lets `deliver` rewrite what it receives. */
function recordingSocket(sent: Message[], deliver?: (message: Message) => Message): new (url: string) => WebSocketLike {
  return class extends (WebSocket as unknown as new (url: string) => WebSocketLike) {
    override send(data: Uint8Array): void {
      sent.push(decodeFrame(data).message);
      super.send(data);
    }
    override set onmessage(handler: WebSocketLike['onmessage']) {
      super.onmessage = (event) => {
        if (deliver === undefined) return handler?.(event);
        const { seq, message } = decodeFrame(new Uint8Array(event.data as ArrayBuffer));
        const frame = encodeFrame(seq, deliver(message));
        handler?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
      };
    }
  };
}

const SECAGG_OPTIONS = { minParticipants: 3, minNoiseMultiplier: 0.8 } as const;

describe('privkit/client against a server that downgrades secure aggregation', () => {
  it('a client with secure-aggregation options refuses a central-DP task (its update would reach the server in the clear)', async () => {
    const server = await start({ id: 'downgrade-welcome', aggregator: 'central-dp' });
    const sent: Message[] = [];
    const victim = connect({ url: server.url, taskId: 'downgrade-welcome', token: server.issueToken().token, data: serverClientData(0), WebSocket: recordingSocket(sent), ...SECAGG_OPTIONS });
    const others = [1, 2].map((c) => connect({ url: server.url, taskId: 'downgrade-welcome', token: server.issueToken().token, data: serverClientData(c), WebSocket: WebSocket as never }));
    const outcome = await victim.done.then(() => 'completed the task', (error: unknown) => error);
    expect(sent.filter((m) => m.type === 'update').map((m) => m.type)).toEqual([]);
    expect(outcome).toMatchObject({ code: 'E_PROTOCOL' });
    for (const s of others) s.close();
    await server.close();
  });

  it('a central-DP task frame in a secure-aggregation session is refused: the client ends the session and uploads nothing', async () => {
    const server = await start({ id: 'downgrade-task', aggregator: 'secagg' });
    const sent: Message[] = [];
    // the "server" answers the round's secagg-task with a plain task for the same round and model
    const toPlainTask = (m: Message): Message => (m.type === 'secagg-task' ? { type: 'task', round: m.round, modelVersion: m.modelVersion, deadlineMs: m.deadlineMs, params: m.params } : m);
    const victim = connect({ url: server.url, taskId: 'downgrade-task', token: server.issueToken().token, data: serverClientData(0), WebSocket: recordingSocket(sent, toPlainTask), ...SECAGG_OPTIONS });
    const others = [1, 2].map((c) =>
      connect({ url: server.url, taskId: 'downgrade-task', token: server.issueToken().token, data: serverClientData(c), WebSocket: WebSocket as never, ...SECAGG_OPTIONS }),
    );
    const outcome = await victim.done.then(() => 'completed the task', (error: unknown) => error);
    expect(sent.map((m) => m.type)).toContain('enrol'); // it had joined the secure-aggregation task
    expect(sent.filter((m) => m.type === 'update').map((m) => m.type)).toEqual([]);
    expect(outcome).toMatchObject({ code: 'E_PROTOCOL' });
    for (const s of others) s.close();
    await server.close();
  });

  it('a client whose enrolment is refused (an attacker with its stolen token enrolled a key first) ends with E_AUTH instead of waiting for good', async () => {
    const server = await start({ id: 'enrol-first', aggregator: 'secagg' });
    const victim = server.issueToken();
    // a network attacker who read the token off a ws:// hello enrols its own key for the victim's identity first
    const attacker = new Raw(server.url);
    await attacker.hello('enrol-first', victim.token);
    const pair = await generateSigningKeyPair();
    const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', pair.privateKey, enrolmentBytes('enrol-first', victim.clientId, pair.publicKey, attacker.welcome!.challenge) as Uint8Array<ArrayBuffer>));
    attacker.send({ type: 'enrol', signingPublicKey: pair.publicKey, signature });
    await attacker.next('enrolled');
    attacker.socket.close();
    const session = connect({ url: server.url, taskId: 'enrol-first', token: victim.token, data: serverClientData(0), WebSocket: WebSocket as never, ...SECAGG_OPTIONS });
    const outcome = await Promise.race([session.done.then(() => 'completed', (error: unknown) => error), new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000))]);
    expect(outcome).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('another signing key') });
    session.close();
    await server.close();
  });
});
