// privkit/server with aggregator 'secagg' and privkit/client over 127.0.0.1 (random port): clients
// enrol Ed25519 keys and complete SecAgg+ rounds whose unmasked sum is exactly the sum of their
// quantized, noised inputs, charged as FedAvg + SecureAggregator charge; a client that goes silent in
// any phase is a dropout and the round completes above threshold; a message signed by a key other
// than the enrolled one is refused with a code and changes nothing; a server that relays a forged
// key advertisement or a too-small survivor set is refused by the clients.
//
// Adversaries: a network client with a valid token but the wrong key (the server must refuse it),
// and a malicious server as seen by a client (played by a WebSocket wrapper around the client's
// socket that rewrites what the real server relays: the client-side checks must fire).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { RdpAccountant, subsampledDistributedEvent } from 'privkit/accounting';
import { SecureAggregator } from 'privkit/fl';
import { connect, type ClientSummary, type WebSocketLike } from 'privkit/client';
import {
  SecAggClient,
  decodeBinaryMessage,
  dequantize,
  encodeBinaryMessage,
  generateSigningKeyPair,
  inverseRandomizedHadamard,
  planDistributedDp,
  type RevealedShare,
  type SecAggMessage,
  type SetupMessage,
  type UnmaskMessage,
} from 'privkit/secagg';
import { createServer, decodeFrame, encodeFrame, enrolmentBytes, type Message, type PrivkitServer, type TaskOptions } from 'privkit/server';
import { cheatingSocket } from '../support/cheating-socket.js';
import { Raw } from '../support/raw-client.js';
import { serverClientData } from './browser/server-client-data.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const model = { type: 'softmax-regression', inputs: 4, classes: 2 } as const;
const PARAMS = 10;

type Task = Omit<TaskOptions, 'model' | 'local' | 'clipNorm' | 'aggregator' | 'noiseMultiplier'> & Partial<TaskOptions>;

async function start(task: Task): Promise<PrivkitServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'privkit-secagg-'));
  dirs.push(dataDir);
  return createServer({
    port: 0,
    dataDir,
    messagesPerSecond: 1000,
    task: { model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, noiseMultiplier: 1, aggregator: 'secagg', trainMs: 4000, phaseMs: 2000, ...task },
  });
}

/** A frame's SecAgg message, decoded (the setup comes from the client's secagg-task). */
type Rewrite = (message: SecAggMessage, setup: SetupMessage) => SecAggMessage | undefined;

/**
 * A WebSocket class for one client that plays the network: `silentFrom` drops every SecAgg message the
 * client sends from that phase on (a client gone silent), `dropOnly` its messages of one phase, every round, `rewrite` alters what the server relays (a
 * malicious server as the client sees it), and every frame out is counted.
 */
function wiredSocket(opts: {
  silentFrom?: SecAggMessage['type'];
  dropOnly?: SecAggMessage['type'];
  rewrite?: Rewrite;
  rewriteTask?: (task: Extract<Message, { type: 'secagg-task' }>) => Extract<Message, { type: 'secagg-task' }>;
  sent?: Message[];
  received?: Message[];
}): new (url: string) => WebSocketLike {
  const order: SecAggMessage['type'][] = ['advertise-keys', 'share-keys', 'masked-input', 'consistency-signature', 'unmasking'];
  let setup: SetupMessage | undefined;
  let silent = false;
  return class extends (WebSocket as unknown as new (url: string) => WebSocketLike) {
    #onmessage: WebSocketLike['onmessage'] = null;
    override send(data: Uint8Array): void {
      const { message } = decodeFrame(data);
      opts.sent?.push(message);
      const type = message.type === 'secagg' ? decodeBinaryMessage(message.payload, { setup }).type : undefined;
      if (type !== undefined && opts.silentFrom !== undefined && order.indexOf(type) >= order.indexOf(opts.silentFrom)) silent = true;
      if (!silent && (type === undefined || type !== opts.dropOnly)) super.send(data);
    }
    override set onmessage(handler: WebSocketLike['onmessage']) {
      this.#onmessage = handler;
      super.onmessage = (event) => {
        const bytes = new Uint8Array(event.data as ArrayBuffer);
        const { seq, message } = decodeFrame(bytes);
        opts.received?.push(message);
        if (message.type === 'secagg-task') setup = decodeBinaryMessage(message.setup) as SetupMessage;
        if (message.type === 'secagg-task' && opts.rewriteTask !== undefined) {
          const frame = encodeFrame(seq, opts.rewriteTask(message));
          return handler?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
        }
        if (message.type === 'secagg-relay' && opts.rewrite !== undefined && setup !== undefined) {
          const altered = opts.rewrite(decodeBinaryMessage(message.payload, { setup }), setup);
          if (altered !== undefined) {
            const frame = encodeFrame(seq, { ...message, payload: encodeBinaryMessage(altered, setup) });
            return handler?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
          }
        }
        handler?.(event);
      };
    }
    override get onmessage(): WebSocketLike['onmessage'] {
      return this.#onmessage;
    }
  };
}

function join_(server: PrivkitServer, taskId: string, c: number, extra: Partial<Parameters<typeof connect>[0]> = {}) {
  return connect({ url: server.url, taskId, token: server.issueToken().token, data: serverClientData(c), WebSocket: WebSocket as never, minParticipants: 3, minNoiseMultiplier: 0.8, ...extra });
}

/** Runs test/e2e/fixtures/convicted-dealer.mjs (a cheating dealer in its own process) until its session ends; returns its JSON lines. */
async function attacker(url: string, taskId: string, token: string): Promise<{ error?: string; end?: string; message?: string }[]> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/convicted-dealer.mjs'), url, taskId, token], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => void (out += chunk.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  return out.trim().split('\n').map((line) => JSON.parse(line));
}

describe('privkit/server SecAgg+ over 127.0.0.1', () => {
  it('6 enrolled clients complete 2 SecAgg+ rounds: the model moves by exactly the sum of their quantized inputs, charged as SecureAggregator', async () => {
    const server = await start({ id: 'secagg', rounds: 2, clientsPerRound: 6, minCheckIns: 6, minUpdates: 4, neighbours: 4 });
    const params: Float32Array[] = [server.params];
    const received: Message[] = [];
    const inputs: { round: number; input: Uint32Array }[] = [];
    const sessions = Array.from({ length: 6 }, (_, c) =>
      join_(server, 'secagg', c, {
        onInput: (q) => void inputs.push(q),
        ...(c > 0 ? {} : { WebSocket: wiredSocket({ received }), onRound: (r) => void (r.status === 'released' && params.push(server.params)) }),
      }),
    );
    const final = await server.finished;
    const summaries: ClientSummary[] = await Promise.all(sessions.map((s) => s.done));
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([
      ['released', 6],
      ['released', 6],
    ]);
    expect(summaries.every((s) => s.refusedRounds.length === 0)).toBe(true);
    const plan = planDistributedDp({ clipNorm: 1, dimension: PARAMS, clients: 6, noiseClients: 4, noiseMultiplier: 1, bits: 20 });
    // the in-process FedAvg + SecureAggregator charges a round of 5 survivors (sampled at q = 1 here) with this event: of the
    // 6 survivors, colludingClients = 1 may be the observer's, whose noise it knows (a malicious client adds none)
    const inProcess = new SecureAggregator({ dimension: PARAMS, clipNorm: 1, noiseMultiplier: 1, clientsPerRound: 6, minClients: 4, neighbours: 4, wire: 'structured-clone' });
    const { event } = await inProcess.aggregate(Array.from({ length: 5 }, () => new Float32Array(PARAMS)), 1);
    expect(event).toMatchObject({ clients: 5 });
    const fedAvgCharge = subsampledDistributedEvent(event!, 1, 'without-replacement');
    const independent = new RdpAccountant();
    for (const [i, r] of final.rounds.entries()) {
      // the unmasked sum is the sum mod 2^bits of every client's quantized input; the server steps by eta / k of its inverse rotation
      const sum = new Uint32Array(plan.dimension);
      const ofRound = inputs.filter((q) => q.round === r.round);
      expect(ofRound.length).toBe(6);
      for (const { input } of ofRound) {
        for (let j = 0; j < sum.length; j++) sum[j] = (sum[j]! + input[j]!) % 2 ** 20;
      }
      const seed = received.flatMap((m) => (m.type === 'secagg-task' && m.round === r.round ? [m.rotationSeed] : []))[0]!;
      const step = inverseRandomizedHadamard(dequantize(sum, { scale: plan.scale, bits: 20 }), seed, PARAMS);
      const expected = params[i]!.slice();
      for (let j = 0; j < PARAMS; j++) expected[j] += (1 / 6) * step[j]!;
      expect(params[i + 1]).toEqual(expected);
      expect(r.event).toEqual(fedAvgCharge);
      independent.step(fedAvgCharge);
      expect(r.epsilonAfter).toBeCloseTo(independent.getEpsilon(1e-5).epsilon, 12);
    }
    expect(final.epsilonAgainstServer).toBeCloseTo(independent.getEpsilon(1e-5).epsilon, 12); // q = 1 here: the same
    await server.close();
  });

  const PHASES = ['advertise-keys', 'share-keys', 'masked-input', 'consistency-signature', 'unmasking'] as const;
  it.each(PHASES)('a client silent from its %s message on is a dropout; the round completes above threshold', async (phase) => {
    const server = await start({ id: `silent-${phase}`, rounds: 1, clientsPerRound: 6, minUpdates: 4, neighbours: 4, trainMs: 1500, phaseMs: 400 });
    const sessions = Array.from({ length: 6 }, (_, c) => join_(server, `silent-${phase}`, c, c === 0 ? { WebSocket: wiredSocket({ silentFrom: phase }) } : {}));
    const final = await server.finished;
    const summaries = await Promise.all(sessions.map((s) => s.done));
    // silent before its masked input: out of the sum; after it (no signature, no shares): its input is recovered
    const inSum = phase === 'consistency-signature' || phase === 'unmasking';
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', inSum ? 6 : 5]]);
    expect(summaries[1]!.results).toEqual([expect.objectContaining({ round: 1, status: 'released', included: inSum ? 6 : 5 })]);
    await server.close();
  });

  it('a round below threshold before the charge is withheld (nothing charged); one that fails after it is aborted and keeps its charge', async () => {
    const until = async (server: PrivkitServer, status: string) => {
      while (!server.status().rounds.some((r) => r.status === status)) await new Promise((r) => setTimeout(r, 20));
      return server.status();
    };
    // 3 of 6 silent before their masked input: 3 < minUpdates = 4 masked inputs
    const short = await start({ id: 'withheld', rounds: 5, clientsPerRound: 6, minUpdates: 4, neighbours: 4, trainMs: 2000, phaseMs: 300 });
    const a = Array.from({ length: 6 }, (_, c) => join_(short, 'withheld', c, c < 3 ? { WebSocket: wiredSocket({ silentFrom: 'masked-input' }) } : {}));
    const withheld = await until(short, 'withheld');
    expect(withheld.rounds[0]).toMatchObject({ round: 1, status: 'withheld', included: 3 });
    expect(withheld.rounds[0]!.event).toBeUndefined();
    expect(withheld.epsilon).toBe(0);
    await short.close();
    a.forEach((s) => s.close());
    // 4 of 6 sign the survivor set but never reveal: the charge is committed, the unmasking fails
    const late = await start({ id: 'aborted', rounds: 5, clientsPerRound: 6, minUpdates: 4, neighbours: 4, trainMs: 2000, phaseMs: 300 });
    const b = Array.from({ length: 6 }, (_, c) => join_(late, 'aborted', c, c < 4 ? { WebSocket: wiredSocket({ silentFrom: 'unmasking' }) } : {}));
    const aborted = await until(late, 'aborted');
    expect(aborted.rounds[0]).toMatchObject({ round: 1, status: 'aborted', included: 6 });
    expect(aborted.rounds[0]!.event).toMatchObject({ mechanism: 'distributed-discrete-gaussian', clients: 5 }); // 6 survivors, 1 colluding
    expect(aborted.epsilon).toBeGreaterThan(0);
    expect(aborted.modelVersion).toBe(0); // nothing released
    await late.close();
    b.forEach((s) => s.close());
  });

  it('an enrolled client whose messages are signed by another key is refused (E_AUTH) and changes nothing', async () => {
    const server = await start({ id: 'wrong-key', rounds: 1, clientsPerRound: 4, minUpdates: 3, neighbours: 4, trainMs: 3000, phaseMs: 1000 });
    const sessions = [1, 2, 3].map((c) => join_(server, 'wrong-key', c));
    const raw = new Raw(server.url);
    const welcome = await raw.hello('wrong-key', server.issueToken().token);
    raw.send({ type: 'check-in' });
    expect(await raw.next('error')).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('enrol a signing key') });
    const [enrolled, other] = [await generateSigningKeyPair(), await generateSigningKeyPair()];
    const sign = async (key: CryptoKey, bytes: Uint8Array) => new Uint8Array(await crypto.subtle.sign('Ed25519', key, bytes as Uint8Array<ArrayBuffer>));
    // an enrolment signed by another key than the one it enrols: refused
    raw.send({ type: 'enrol', signingPublicKey: enrolled.publicKey, signature: await sign(other.privateKey, enrolmentBytes('wrong-key', welcome.clientId, enrolled.publicKey, welcome.challenge)) });
    expect(await raw.next('error')).toMatchObject({ code: 'E_AUTH' });
    raw.send({ type: 'enrol', signingPublicKey: enrolled.publicKey, signature: await sign(enrolled.privateKey, enrolmentBytes('wrong-key', welcome.clientId, enrolled.publicKey, welcome.challenge)) });
    await raw.next('enrolled');
    // a second key for the same client: refused, the first stays bound
    raw.send({ type: 'enrol', signingPublicKey: other.publicKey, signature: await sign(other.privateKey, enrolmentBytes('wrong-key', welcome.clientId, other.publicKey, welcome.challenge)) });
    expect(await raw.next('error')).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('another signing key') });
    raw.send({ type: 'check-in' });
    const task = await raw.next('secagg-task');
    const setup = decodeBinaryMessage(task.setup) as SetupMessage;
    const advertise = async (signingKey: typeof enrolled) => {
      const message = await new SecAggClient(welcome.clientId, { minParticipants: 3, signingKey }).advertiseKeys(setup);
      raw.send({ type: 'secagg', round: task.round, payload: encodeBinaryMessage(message, setup) });
    };
    // out of phase (another round) and undecodable payloads: refused before SecAggServer sees them
    raw.send({ type: 'secagg', round: task.round + 1, payload: new Uint8Array(4) });
    expect(await raw.next('error')).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('out of phase') });
    raw.send({ type: 'secagg', round: task.round, payload: Uint8Array.of(1, 2, 3) });
    expect(await raw.next('error')).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('malformed binary message') });
    await advertise(other); // signed with (and advertising) a key other than the enrolled one
    expect(await raw.next('error')).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('other than the expected') });
    // nothing was kept of it: the same client can still advertise under its enrolled key, which is accepted (no error) ...
    await advertise(enrolled);
    const relay = await raw.next('secagg-relay');
    expect(decodeBinaryMessage(relay.payload, { setup }).type).toBe('public-keys');
    // ... a message in another client's name is refused before SecAggServer sees it, and a server message sent back too
    const someoneElse = setup.clients.find((id) => id !== welcome.clientId)!;
    const impersonation = await new SecAggClient(someoneElse, { minParticipants: 3, signingKey: enrolled }).advertiseKeys(setup);
    raw.send({ type: 'secagg', round: task.round, payload: encodeBinaryMessage(impersonation, setup) });
    expect(await raw.next('error')).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('another client') });
    raw.send({ type: 'secagg', round: task.round, payload: relay.payload });
    expect(await raw.next('error')).toMatchObject({ code: 'E_PROTOCOL' });
    // the raw client goes silent: a dropout; the three others finish the round
    const final = await server.finished;
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 3]]);
    raw.socket.close();
    await Promise.all(sessions.map((s) => s.done));
    await server.close();
  });

  it('the enrolled key survives a restart: the ledger refuses another key for the client, and the same key for another client', async () => {
    const first = await start({ id: 'durable', rounds: 1, clientsPerRound: 2 });
    const dataDir = dirs.at(-1)!;
    const [alice, bob] = [first.issueToken(), first.issueToken()];
    const [key, other] = [await generateSigningKeyPair(), await generateSigningKeyPair()];
    const enrol = async (raw: Raw, clientId: string, pair: typeof key) => {
      const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', pair.privateKey, enrolmentBytes('durable', clientId, pair.publicKey, raw.welcome!.challenge) as Uint8Array<ArrayBuffer>));
      raw.send({ type: 'enrol', signingPublicKey: pair.publicKey, signature });
    };
    const a1 = new Raw(first.url);
    await a1.hello('durable', alice.token);
    await enrol(a1, alice.clientId, key);
    await a1.next('enrolled');
    await first.close();
    const second = await createServer({ port: 0, dataDir, task: { id: 'durable', model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, noiseMultiplier: 1, aggregator: 'secagg', trainMs: 4000, phaseMs: 2000, rounds: 1, clientsPerRound: 2 } });
    const a2 = new Raw(second.url);
    await a2.hello('durable', alice.token);
    await enrol(a2, alice.clientId, other);
    expect(await a2.next('error')).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('another signing key') });
    await enrol(a2, alice.clientId, key); // its own key again: acknowledged, nothing changes
    await a2.next('enrolled');
    const b2 = new Raw(second.url);
    await b2.hello('durable', bob.token);
    await enrol(b2, bob.clientId, key); // alice's key, with a valid signature over bob's id
    expect(await b2.next('error')).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('another client') });
    b2.send({ type: 'check-in' });
    expect(await b2.next('error')).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('enrol a signing key') });
    for (const raw of [a1, a2, b2]) raw.socket.close();
    await second.close();
  });

  it('issueTokens enrols clients at once; enrolments committed together keep their order: one key enrolled twice at once goes to one client', async () => {
    const server = await start({ id: 'batched', rounds: 1, clientsPerRound: 2 });
    expect(() => server.issueTokens(0)).toThrow(expect.objectContaining({ code: 'E_ARG' }));
    const issued = server.issueTokens(3);
    expect(new Set(issued.map((t) => t.clientId)).size).toBe(3);
    const raws = issued.map(() => new Raw(server.url));
    await Promise.all(raws.map((raw, i) => raw.hello('batched', issued[i]!.token))); // every token authenticates
    const [shared, own] = [await generateSigningKeyPair(), await generateSigningKeyPair()];
    const enrol = async (raw: Raw, clientId: string, pair: typeof shared) => {
      const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', pair.privateKey, enrolmentBytes('batched', clientId, pair.publicKey, raw.welcome!.challenge) as Uint8Array<ArrayBuffer>));
      raw.send({ type: 'enrol', signingPublicKey: pair.publicKey, signature });
    };
    const answer = async (raw: Raw): Promise<Message> => {
      const settled = () => raw.inbox.findIndex((m) => m.type === 'enrolled' || m.type === 'error');
      while (settled() < 0) await new Promise((resolve) => setTimeout(resolve, 5));
      return raw.inbox.splice(settled(), 1)[0]!;
    };
    // the same key, validly signed for two clients, sent together (gathered into one transaction)
    await Promise.all([enrol(raws[0]!, issued[0]!.clientId, shared), enrol(raws[1]!, issued[1]!.clientId, shared), enrol(raws[2]!, issued[2]!.clientId, own)]);
    const answers = await Promise.all(raws.map(answer));
    expect(answers[2]).toMatchObject({ type: 'enrolled' });
    const outcomes = answers.slice(0, 2).map((m) => (m.type === 'error' ? m.code : m.type)).sort();
    expect(outcomes).toEqual(['E_AUTH', 'enrolled']);
    const loser = answers[0]!.type === 'error' ? raws[0]! : raws[1]!;
    loser.send({ type: 'check-in' }); // nothing was stored for the refused one
    expect(await loser.next('error')).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('enrol a signing key') });
    for (const raw of raws) raw.socket.close();
    await server.close();
  });

  it('a forged key advertisement relayed by the server is refused by the client (its keys rejected: below threshold, nothing shared)', async () => {
    const server = await start({ id: 'forged', rounds: 1, clientsPerRound: 6, minUpdates: 4, neighbours: 4, trainMs: 3000, phaseMs: 800 });
    const forged = new Uint8Array(await crypto.subtle.exportKey('raw', ((await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair).publicKey));
    const sent: Message[] = [];
    // the "server" replaces every neighbour's mask key with its own (the neighbours' signatures no longer match)
    const rewrite: Rewrite = (m) => (m.type === 'public-keys' ? { ...m, keys: m.keys.map((k) => (k.id === m.recipient ? k : { ...k, sPublicKey: forged })) } : undefined);
    const sessions = Array.from({ length: 6 }, (_, c) => join_(server, 'forged', c, c === 0 ? { WebSocket: wiredSocket({ rewrite, sent }) } : {}));
    const final = await server.finished;
    const [victim] = await Promise.all(sessions.map((s) => s.done));
    expect(victim!.refusedRounds).toEqual([{ round: 1, code: 'E_THRESHOLD', message: expect.stringContaining('keys rejected') }]);
    const secaggSent = sent.flatMap((m) => (m.type === 'secagg' ? [decodeBinaryMessage(m.payload).type] : []));
    expect(secaggSent).toEqual(['advertise-keys']); // no shares dealt under forged keys
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 5]]);
    await server.close();
  });

  it('a survivor set smaller than minParticipants relayed by the server is refused by the client (nothing signed)', async () => {
    const server = await start({ id: 'small-set', rounds: 1, clientsPerRound: 6, minUpdates: 4, neighbours: 4, trainMs: 3000, phaseMs: 800 });
    const sent: Message[] = [];
    const rewrite: Rewrite = (m, setup) =>
      m.type === 'consistency-check' ? { ...m, survivors: setup.clients.filter((id) => id === m.recipient || id === m.survivors.find((s) => s !== m.recipient)) } : undefined;
    const sessions = Array.from({ length: 6 }, (_, c) => join_(server, 'small-set', c, c === 0 ? { WebSocket: wiredSocket({ rewrite, sent }) } : {}));
    const final = await server.finished;
    const [victim] = await Promise.all(sessions.map((s) => s.done));
    expect(victim!.refusedRounds).toEqual([{ round: 1, code: 'E_THRESHOLD', message: expect.stringContaining('survivor set has 2 clients') }]);
    const types = sent.flatMap((m) => (m.type === 'secagg' ? [decodeBinaryMessage(m.payload).type] : []));
    expect(types).toEqual(['advertise-keys', 'share-keys', 'masked-input']); // no signature on the forged set, no shares revealed
    // its masked input is in the real survivor set; its neighbours reveal its shares
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 6]]);
    await server.close();
  });
  it('a survivor set lied to one client (S without one other member) gets its signature refused by the server (E_PROTOCOL): it reveals nothing, its input stays in the real S', async () => {
    const server = await start({ id: 'two-sets', rounds: 1, clientsPerRound: 6, minUpdates: 4, neighbours: 4, trainMs: 3000, phaseMs: 800 });
    const [sent, received]: Message[][] = [[], []];
    // the victim is shown S' = S minus a client outside its neighbourhood (with that client's statement and key dropped)
    const rewrite: Rewrite = (m) => {
      if (m.type !== 'consistency-check') return undefined;
      const near = new Set([m.recipient, ...m.statements.map((st) => st.sender)]);
      const dropped = m.survivors.find((id) => !near.has(id))!;
      return { ...m, survivors: m.survivors.filter((id) => id !== dropped), signingKeys: m.signingKeys.filter((k) => k.id !== dropped) };
    };
    const sessions = Array.from({ length: 6 }, (_, c) => join_(server, 'two-sets', c, c === 0 ? { WebSocket: wiredSocket({ rewrite, sent, received }) } : {}));
    const final = await server.finished;
    await Promise.all(sessions.map((s) => s.done));
    const types = sent.flatMap((m) => (m.type === 'secagg' ? [decodeBinaryMessage(m.payload).type] : []));
    expect(types).toEqual(['advertise-keys', 'share-keys', 'masked-input', 'consistency-signature']); // signed S', revealed nothing
    expect(received.filter((m) => m.type === 'error')).toEqual([expect.objectContaining({ code: 'E_PROTOCOL', message: expect.stringContaining('signed another survivor set') })]);
    expect(received.some((m) => m.type === 'secagg-relay' && decodeBinaryMessage(m.payload).type === 'unmask-request')).toBe(false);
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 6]]);
    await server.close();
  });

  it('a cheating holder (a validly signed unmasking with a share its dealer never sent) is discarded, banned for good (listed in the status, refused at its hello, also after a restart) and the unmasking retried: the round is released, not aborted after its charge', async () => {
    const task = { id: 'cheat', rounds: 1, clientsPerRound: 6, minUpdates: 4, neighbours: 4, trainMs: 3000, phaseMs: 800 };
    const server = await start(task);
    const dataDir = dirs.at(-1)!;
    const signingKey = await generateSigningKeyPair();
    // the cheater signs, with its own enrolled key, an Unmasking whose share of another owner is altered
    const flip = (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === b.length - 1 ? x ^ 1 : x));
    const Cheating = cheatingSocket<UnmaskMessage>(signingKey, 'unmasking', (m) => {
      const alter = (r: RevealedShare) => (r.owner === m.sender ? r : { ...r, share: flip(r.share) });
      return { ...m, selfMaskShares: m.selfMaskShares.map(alter), keyShares: m.keyShares.map(alter) };
    });
    const cheater = server.issueToken();
    const sessions = Array.from({ length: 6 }, (_, c) =>
      c === 0 ? connect({ url: server.url, taskId: 'cheat', token: cheater.token, data: serverClientData(0), WebSocket: Cheating, signingKey, minParticipants: 3, minNoiseMultiplier: 0.8 }) : join_(server, 'cheat', c),
    );
    // the cheater's end, caught at once: its session is cut (and its promise rejects) before the task finishes
    const cheaterEnd = sessions[0]!.done.catch((e: unknown) => e);
    // (an aborted round does not count: before the fix the cheater aborted every round, each charged, and the task never ended)
    const final = await server.finished;
    // its neighbours' shares suffice (t = 3 of each neighbourhood of 5): every masked input is in the released sum
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 6]]);
    expect(final.rounds[0]!.event).toMatchObject({ clients: 5 });
    // banned in the ledger, listed in the public status, its session cut with 4001 (E_AUTH: it must not retry)
    const banned = { count: 1, clients: [{ clientId: cheater.clientId, round: 1, reason: expect.stringContaining('revealed a share its dealer never sent') }] };
    expect(final.banned).toEqual(banned);
    expect(await cheaterEnd).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('the server refused this client: banned') });
    await Promise.all(sessions.slice(1).map((s) => s.done));
    await server.close();
    // a restart on the same ledger: still banned, its hello refused (4001), and still listed
    const second = await createServer({
      port: 0,
      dataDir,
      messagesPerSecond: 1000,
      task: { model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, noiseMultiplier: 1, aggregator: 'secagg', ...task },
    });
    expect(second.status().banned).toEqual(banned);
    const again = new Raw(second.url);
    await again.opened();
    again.send({ type: 'hello', taskId: 'cheat', token: cheater.token });
    expect(await again.next('error')).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('revealed a share its dealer never sent (by its own signed unmasking response) in round 1: banned from the task') });
    expect(await again.closed).toBe(4001);
    await second.close();
  });

  it('a dealer convicted by its own signed commitment (an attacker in its own process) aborts one round after its charge and is banned for good: closed with 4001, its reconnects refused, also after a server restart', async () => {
    const task = { id: 'convicted', rounds: 2, clientsPerRound: 6, minUpdates: 4, neighbours: 4, trainMs: 3000, phaseMs: 800 };
    const first = await start(task);
    const dataDir = dirs.at(-1)!;
    const attackerToken = first.issueToken().token;
    const honest = Array.from({ length: 5 }, (_, c) => join_(first, 'convicted', c + 1, { retryMs: 50, maxRetryMs: 200, attempts: 60 }));
    const attack = await attacker(first.url, 'convicted', attackerToken);
    // its own signatures convict it in round 1, after the charge: the round is aborted, the dealer banned and cut
    expect(attack.at(-1)).toMatchObject({ end: 'E_AUTH' });
    expect(attack.filter((l) => l.error !== undefined).at(-1)).toMatchObject({ error: 'E_AUTH', message: expect.stringContaining('convicted of dealing inconsistent shares') });
    const status = first.status();
    expect(status.rounds.map((r) => [r.round, r.status, r.abortedBy, r.included])).toEqual([[1, 'aborted', 'protocol', 6]]);
    expect(status.banned).toEqual({ count: 1, clients: [{ clientId: expect.stringMatching(/^c-/), round: 1, reason: expect.stringContaining('convicted of dealing inconsistent shares') }] });
    expect(status.rounds[0]!.event).toMatchObject({ clients: 5 }); // charged: the unmasking had started
    // the attacker comes back: refused at its hello (4001), so it never checks in again
    const again = new Raw(first.url);
    await again.opened();
    again.send({ type: 'hello', taskId: 'convicted', token: attackerToken });
    expect(await again.next('error')).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('in round 1: banned from the task') });
    expect(await again.closed).toBe(4001);
    // the server restarts on its ledger: the ban holds, the attacker's client process is refused at once
    await first.close();
    const second = await createServer({
      port: first.port,
      dataDir,
      messagesPerSecond: 1000,
      task: { model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, noiseMultiplier: 1, aggregator: 'secagg', ...task },
    });
    const reattack = await attacker(second.url, 'convicted', attackerToken);
    expect(reattack).toEqual([
      { error: 'E_AUTH', message: expect.stringContaining('in round 1: banned from the task') },
      { end: 'E_AUTH', message: expect.stringContaining('the server refused this client') },
    ]);
    // the honest clients (and a new one in the attacker's seat) carry on without it
    const newcomer = join_(second, 'convicted', 0);
    const final = await second.finished;
    expect(final.rounds.map((r) => [r.round, r.status, r.included])).toEqual([
      [1, 'aborted', 6],
      [2, 'released', 6],
      [3, 'released', 6],
    ]);
    await Promise.all([...honest, newcomer].map((s) => s.done));
    await second.close();
  });

  it('a task stops after maxAbortedRounds rounds aborted after their charge (clients silent in the unmasking phase), says so in its status, and stays stopped after a restart; each aborted round keeps its charge', async () => {
    const task = { id: 'abort-cap', rounds: 5, clientsPerRound: 6, minUpdates: 4, neighbours: 4, trainMs: 2000, phaseMs: 300, maxAbortedRounds: 2 };
    const server = await start(task);
    const dataDir = dirs.at(-1)!;
    // 4 of 6 sign the survivor set but never answer an unmask request (dropouts, not convicted): every round fails after its charge
    const sessions = Array.from({ length: 6 }, (_, c) => join_(server, 'abort-cap', c, c < 4 ? { WebSocket: wiredSocket({ dropOnly: 'unmasking' }) } : {}));
    const final = await server.finished;
    await Promise.all(sessions.map((s) => s.done)); // closed with 1000: the task is over
    expect(final.finishedBy).toBe('aborts');
    expect(final.state).toBe('finished');
    expect(final.rounds.map((r) => [r.round, r.status, r.abortedBy, r.included])).toEqual([
      [1, 'aborted', 'protocol', 6],
      [2, 'aborted', 'protocol', 6],
    ]);
    expect(final.modelVersion).toBe(0); // nothing released
    // conservative: every aborted round is charged (its unmasking had started), and the epsilon composes both
    const independent = new RdpAccountant();
    for (const r of final.rounds) {
      expect(r.event).toMatchObject({ mechanism: 'distributed-discrete-gaussian', clients: 5 });
      independent.step(r.event!);
      expect(r.epsilonAfter).toBeCloseTo(independent.getEpsilon(1e-5).epsilon, 12);
    }
    expect(final.epsilon).toBeCloseTo(independent.getEpsilon(1e-5).epsilon, 12);
    await server.close();
    const restarted = await createServer({
      port: 0,
      dataDir,
      task: { model, local: { epochs: 1, batchSize: 2, learningRate: 0.2 }, clipNorm: 1, noiseMultiplier: 1, aggregator: 'secagg', ...task },
    });
    expect(restarted.status()).toMatchObject({ state: 'finished', finishedBy: 'aborts', epsilon: final.epsilon });
    expect((await restarted.finished).rounds).toEqual(final.rounds);
    await restarted.close();
  });

  it('an enrolment replayed on another task, or by another client, does not verify (it is signed over task and client id)', async () => {
    const first = await start({ id: 'enrol-a', rounds: 1, clientsPerRound: 2 });
    const second = await start({ id: 'enrol-b', rounds: 1, clientsPerRound: 2 });
    const key = await generateSigningKeyPair();
    const victim = new Raw(first.url);
    const { clientId, challenge } = await victim.hello('enrol-a', first.issueToken().token);
    const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', key.privateKey, enrolmentBytes('enrol-a', clientId, key.publicKey, challenge) as Uint8Array<ArrayBuffer>));
    const captured: Message = { type: 'enrol', signingPublicKey: key.publicKey, signature };
    victim.send(captured);
    await victim.next('enrolled');
    for (const [server, taskId] of [[second, 'enrol-b'], [first, 'enrol-a']] as const) {
      const attacker = new Raw(server.url);
      await attacker.hello(taskId, server.issueToken().token);
      const before = JSON.stringify(server.status());
      attacker.send(captured);
      expect(await attacker.next('error')).toMatchObject({ code: 'E_AUTH', message: expect.stringContaining('does not verify') });
      attacker.send({ type: 'check-in' });
      expect(await attacker.next('error')).toMatchObject({ code: 'E_PROTOCOL', message: expect.stringContaining('enrol a signing key') });
      expect(JSON.stringify(server.status())).toBe(before);
      attacker.socket.close();
    }
    victim.socket.close();
    await Promise.all([first.close(), second.close()]);
  });

  it("a client's token and enrolment read off its connection and replayed on a new one take no seat (the enrolment signs that connection's welcome challenge); the client still completes its round", async () => {
    const server = await start({ id: 'enrol-replay', rounds: 1, clientsPerRound: 3, minCheckIns: 3, minUpdates: 3 });
    // the network path of the victim, as a reader of plain ws:// or a proxy log sees it: every frame it sends
    const sent: Message[] = [];
    const victim = join_(server, 'enrol-replay', 0, { WebSocket: wiredSocket({ sent }), retryMs: 1000 });
    while (!sent.some((m) => m.type === 'check-in')) await new Promise((resolve) => setTimeout(resolve, 5)); // enrolled, then checked in
    const hello = sent.find((m) => m.type === 'hello')!;
    const enrol = sent.find((m) => m.type === 'enrol')!;
    const attacker = new Raw(server.url);
    await attacker.hello('enrol-replay', (hello as Extract<Message, { type: 'hello' }>).token); // the token alone authenticates (superseding the victim's connection)
    // the server's answer, whichever it is (accepted, the attack would go on: 'enrolled', then 'checked-in')
    const answer = async (): Promise<Message> => {
      const settled = () => attacker.inbox.findIndex((m) => ['enrolled', 'checked-in', 'error'].includes(m.type));
      while (settled() < 0) await new Promise((resolve) => setTimeout(resolve, 5));
      return attacker.inbox.splice(settled(), 1)[0]!;
    };
    attacker.send(enrol);
    expect(await answer()).toMatchObject({ type: 'error', code: 'E_AUTH', message: expect.stringContaining('does not verify') });
    attacker.send({ type: 'check-in' });
    expect(await answer()).toMatchObject({ type: 'error', code: 'E_PROTOCOL', message: expect.stringContaining('enrol a signing key') });
    attacker.socket.close();
    // the victim reconnects, enrols on its new connection and takes part with two more clients
    const sessions = [victim, join_(server, 'enrol-replay', 1), join_(server, 'enrol-replay', 2)];
    const final = await server.finished;
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 3]]);
    const summaries = await Promise.all(sessions.map((s) => s.done));
    expect(summaries[0]).toMatchObject({ connections: 2, trainedRounds: [1] });
    expect(sent.filter((m) => m.type === 'enrol')).toHaveLength(2); // a second enrolment, for the new connection's challenge
    await server.close();
  });

  // The plan comes from the server: one that cuts the noise (sigma 0, a tenth of it, or a looser rounding bound) is
  // refused before the client advertises a key. The honest plan (z = 1 over minUpdates = 4) gives 3 clients
  // z sqrt(3/4) = 0.866, above the harness's floor of 0.8; a client asking for 0.9 refuses it too.
  it.each([
    ['sigma 0', { localSigma: 0 }, 'not finite and positive'],
    ['a tenth of the noise', (t: { localSigma: number }) => ({ localSigma: t.localSigma / 10 }), 'below this client'],
    ['a looser rounding bound', (t: { conditionalBound: number }) => ({ conditionalBound: 2 * t.conditionalBound }), 'conditional rounding bound'],
    ['a larger clip norm at the same noise', (t: { scale: number }) => ({ scale: 2 * t.scale }), 'below this client'],
    ['the honest plan, to a client whose floor is above it', {}, 'below this client'],
    // c = 1 quantized unit: the noise is 0.866 c as planned, but the rounding sets the sensitivity (sqrt(8) for d = 16)
    ['a coarse grid whose rounding outweighs the clip norm', { scale: 1, localSigma: 0.5, conditionalBound: Math.sqrt(8) }, 'below this client'],
  ] as const)('a noise plan of %s is refused by the client (E_BUDGET, no key advertised); the others complete the round', async (name, change, expected) => {
    const id = `plan-${name.replace(/[^a-z]+/g, '-')}`;
    const server = await start({ id, rounds: 1, clientsPerRound: 6, minUpdates: 4, neighbours: 4, trainMs: 1500, phaseMs: 800 });
    const sent: Message[] = [];
    const rewriteTask = (task: Extract<Message, { type: 'secagg-task' }>) => ({ ...task, ...(typeof change === 'function' ? change(task as never) : change) });
    const honest = Object.keys(change).length === 0 && typeof change !== 'function';
    const victimOptions = { WebSocket: wiredSocket({ rewriteTask, sent }), ...(honest ? { minNoiseMultiplier: 0.9 } : {}) };
    const sessions = Array.from({ length: 6 }, (_, c) => join_(server, id, c, c === 0 ? victimOptions : {}));
    const final = await server.finished;
    const [victim] = await Promise.all(sessions.map((s) => s.done));
    expect(victim!.refusedRounds).toEqual([{ round: 1, code: 'E_BUDGET', message: expect.stringContaining(expected) }]);
    expect(victim!.trainedRounds).toEqual([]); // refused before training: nothing of its data was used
    expect(sent.filter((m) => m.type === 'secagg')).toEqual([]);
    expect(final.rounds.map((r) => [r.status, r.included])).toEqual([['released', 5]]);
    await server.close();
  });

  it('a client without minNoiseMultiplier can not join a secure-aggregation task (E_ARG: the floor is the application\'s)', async () => {
    const server = await start({ id: 'no-floor', rounds: 1, clientsPerRound: 2 });
    const session = connect({ url: server.url, taskId: 'no-floor', token: server.issueToken().token, data: serverClientData(0), WebSocket: WebSocket as never, minParticipants: 2 });
    await expect(session.done).rejects.toMatchObject({ code: 'E_ARG', argument: 'options.minNoiseMultiplier' });
    await server.close();
  });
});

