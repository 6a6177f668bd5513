// Server suite of `npm run bench`: privkit/server running SecAgg+ rounds (aggregator 'secagg') with
// k privkit/client sessions in this process over real sockets on 127.0.0.1 — 50 clients x 10,000
// parameters (a softmax regression, 999 inputs x 10 classes), 16 neighbours, 20-bit words, every
// client sampled each round. Per round: wall time from the first SecAggTask to the round result (all
// five phases, client training, quantization and WebCrypto work included, everything sharing this
// process's cores), and per client the bytes it sent and received on the wire (frame bytes, headers
// included), against the packed masked input (rotated length x 20 bits / 8): the masked-input frame
// alone, and everything else (keys, shares, signatures, the survivor set and the model). The
// in-process protocol (simulateRound, same clients, length, bits and graph; JSON messages) is the
// baseline of the round time. Prints the table and writes bench/results/server.json. The suite
// server-scale (below) is issue 15's 1,000-client goal, with the clients in other processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { ready } from '../src/index.js';
import { connect, type WebSocketLike } from '../src/client/index.js';
import { decodeFrame, createServer } from '../src/server/index.js';
import { generateSigningKeyPair, rotationLength, SecAggClient, SecAggServer, simulateRound, type ClientMessage } from '../src/secagg/index.js';
import { textTable } from './harness.js';

const CLIENTS = 50;
const INPUTS = 999;
const CLASSES = 10;
const PARAMS = (INPUTS + 1) * CLASSES;
const NEIGHBOURS = 16;
const BITS = 20;
const ROUNDS = 3;
/** The masked-input message's type byte in privkit/secagg's binary form (its schemas' order). */
const MASKED_INPUT_TYPE = 5;

/** Bytes each client sent and received, by frame type, and when the rounds' first task and results arrived. */
interface Traffic {
  sent: Map<string, number>;
  received: Map<string, number>;
}

function countingSocket(traffic: Traffic, events: { taskAt: Map<number, number>; resultAt: Map<number, number> }): new (url: string) => WebSocketLike {
  const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);
  return class extends (WebSocket as unknown as new (url: string) => WebSocketLike) {
    override send(data: Uint8Array): void {
      const { message } = decodeFrame(data);
      // a secagg frame's body: round (u32), payload length (u32), then the binary message, whose first byte is its type
      add(traffic.sent, message.type === 'secagg' && data[20] === MASKED_INPUT_TYPE ? 'masked-input' : message.type, data.byteLength);
      super.send(data);
    }
    override set onmessage(handler: WebSocketLike['onmessage']) {
      super.onmessage = (event) => {
        const bytes = new Uint8Array(event.data as ArrayBuffer);
        const { message } = decodeFrame(bytes);
        add(traffic.received, message.type, bytes.byteLength);
        const now = performance.now();
        if (message.type === 'secagg-task' && !events.taskAt.has(message.round)) events.taskAt.set(message.round, now);
        if (message.type === 'round-result' && !events.resultAt.has(message.round)) events.resultAt.set(message.round, now);
        handler?.(event);
      };
    }
  };
}

export async function serverSuite(): Promise<void> {
  await ready();
  const dataDir = mkdtempSync(join(tmpdir(), 'privkit-bench-server-'));
  const server = await createServer({
    port: 0,
    dataDir,
    messagesPerSecond: 1000,
    task: {
      id: 'bench',
      model: { type: 'softmax-regression', inputs: INPUTS, classes: CLASSES },
      local: { epochs: 1, batchSize: 4, learningRate: 0.1 },
      rounds: ROUNDS,
      clientsPerRound: CLIENTS,
      minUpdates: CLIENTS - 5,
      clipNorm: 1,
      noiseMultiplier: 1,
      aggregator: 'secagg',
      bits: BITS,
      neighbours: NEIGHBOURS,
      trainMs: 120_000,
      phaseMs: 120_000,
    },
  });
  const events = { taskAt: new Map<number, number>(), resultAt: new Map<number, number>() };
  const traffic: Traffic[] = Array.from({ length: CLIENTS }, () => ({ sent: new Map(), received: new Map() }));
  const sessions = traffic.map((t, c) => {
    const labels = Uint8Array.from({ length: 4 }, (_, i) => (c + i) % CLASSES);
    const images = Float32Array.from({ length: 4 * INPUTS }, (_, k) => Math.sin(k * 0.01 + c));
    return connect({
      url: server.url,
      taskId: 'bench',
      token: server.issueToken().token,
      data: { images, labels },
      WebSocket: countingSocket(t, events),
      minParticipants: CLIENTS - 5, // = minUpdates: the plan's noise multiplier 1 holds for them
      minNoiseMultiplier: 1,
    });
  });
  const final = await server.finished;
  await Promise.all(sessions.map((s) => s.done));
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (final.rounds.some((r) => r.status !== 'released' || r.included !== CLIENTS)) throw new Error(`a round was not released with every client: ${JSON.stringify(final.rounds)}`);

  const roundMs = final.rounds.map((r) => events.resultAt.get(r.round)! - events.taskAt.get(r.round)!);
  const packed = Math.ceil((rotationLength(PARAMS) * BITS) / 8);
  const mean = (pick: (t: Traffic) => number) => traffic.reduce((s, t) => s + pick(t), 0) / CLIENTS / ROUNDS;
  const sum = (map: Map<string, number>, keep: (key: string) => boolean) => [...map].reduce((s, [k, v]) => (keep(k) ? s + v : s), 0);
  const masked = (key: string) => key === 'masked-input';
  const sentMasked = mean((t) => sum(t.sent, masked));
  const sentOther = mean((t) => sum(t.sent, (k) => !masked(k)));
  const receivedModel = mean((t) => sum(t.received, (k) => k === 'secagg-task'));
  const receivedOther = mean((t) => sum(t.received, (k) => k !== 'secagg-task'));

  // baseline: the same round in one thread (no sockets, no training), JSON messages
  const inputs = Array.from({ length: CLIENTS }, () => new Uint32Array(rotationLength(PARAMS)));
  const simulated: number[] = [];
  for (let i = 0; i < ROUNDS; i++) simulated.push((await simulateRound({ inputs, bits: BITS, threshold: NEIGHBOURS / 2 + 1, neighbours: NEIGHBOURS })).timings.totalMs);

  const rows = [
    {
      clients: CLIENTS,
      params: PARAMS,
      rotatedLength: rotationLength(PARAMS),
      neighbours: NEIGHBOURS,
      bits: BITS,
      roundMs,
      simulatedRoundMs: simulated,
      packedMaskedInputBytes: packed,
      sentMaskedInputBytes: sentMasked,
      sentOtherBytes: sentOther,
      receivedTaskBytes: receivedModel,
      receivedOtherBytes: receivedOther,
      maskedInputRatio: sentMasked / packed,
      sentRatio: (sentMasked + sentOther) / packed,
    },
  ];
  const f = (x: number) => x.toFixed(0);
  console.log(`\nprivkit/server SecAgg+ round: ${CLIENTS} clients in this process over 127.0.0.1, ${PARAMS} params (rotated ${rotationLength(PARAMS)}), ${NEIGHBOURS} neighbours, ${BITS} bits`);
  console.log(
    textTable(
      ['round', 'wall ms', 'in-process simulateRound ms'],
      roundMs.map((ms, i) => [String(i + 1), f(ms), f(simulated[i]!)]),
    ),
  );
  console.log(`\nbytes per client per round (packed masked input: ${packed} B)`);
  console.log(
    textTable(
      ['direction', 'bytes', 'x packed masked input'],
      [
        ['sent: masked-input frame', f(sentMasked), (sentMasked / packed).toFixed(3)],
        ['sent: keys, shares, signatures, check-in', f(sentOther), (sentOther / packed).toFixed(3)],
        ['received: secagg-task (model + setup)', f(receivedModel), (receivedModel / packed).toFixed(3)],
        ['received: relays and results', f(receivedOther), (receivedOther / packed).toFixed(3)],
      ],
    ),
  );
  const file = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/server.json');
  mkdirSync(dirname(file), { recursive: true });
  const machine = { cpu: cpus()[0]?.model, cores: cpus().length, platform: `${platform()} ${release()}`, node: process.version };
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2) + '\n');
}

// ---- server-scale: issue 15's goal --------------------------------------------------------------
// One SecAgg+ round of 1,000 clients x 100,000 parameters (softmax regression, 9,999 inputs x 10
// classes; rotated to 131,072 words of 20 bits), 16 neighbours, every client sampled: the server in
// this process, the clients in SCALE_PROCESSES other processes (bench/server-clients.ts) over real
// sockets on 127.0.0.1, all on this machine's cores. Reported per round: wall time from the first
// client's secagg-task to the last client's round result; the server's CPU time (this process,
// process.cpuUsage, sampled when the round opens and when it completes) per client; the frame bytes
// per client by kind. The server's CPU for the session start (1,000 connections, hellos, Ed25519
// enrolments, check-ins) is reported apart, and so is how many cores the session got (the CPU time of
// the server and client processes over its wall time: the wall time follows the machine's load, the
// CPU times much less). Baseline: the same round run in one thread through
// privkit/secagg's SecAggServer and SecAggClient (no wire, no sockets: messages passed as objects),
// timing the CPU of only the server's calls — the "in-process simulation's server cost" of the goal.
const SCALE_CLIENTS = 1000;
const SCALE_INPUTS = 9999;
const SCALE_PARAMS = (SCALE_INPUTS + 1) * CLASSES;
const SCALE_PROCESSES = 2;
const SCALE_ROUNDS = 1;
const SCALE_MIN_UPDATES = SCALE_CLIENTS - 50;

interface ClientReport {
  sent: Record<string, number>;
  received: Record<string, number>;
  taskAt: Record<string, number>;
  resultAt: Record<string, number>;
  cpuMs: number;
}

/** CPU milliseconds of this process since `since`. */
const cpuMsSince = (since: NodeJS.CpuUsage): number => {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
};

/** The server's CPU ms per client of one round of the same size, in one thread, messages as objects (no wire); and the round's wall ms. */
async function inProcessServerMsPerClient(clients: number, length: number): Promise<{ serverMs: number; totalMs: number }> {
  const ids = Array.from({ length: clients }, (_, i) => `c-${String(i).padStart(12, '0')}`); // as long as the server's ids
  const signingKeys = await Promise.all(ids.map(() => generateSigningKeyPair()));
  const expectedParticipants = ids.map((id, i) => ({ id, signingPublicKey: signingKeys[i]!.publicKey }));
  const started = performance.now();
  let serverMs = 0;
  // CPU time, as the service's is measured (process-wide, WebCrypto's threads included): only the server works meanwhile
  const timed = async <T>(work: () => T | Promise<T>): Promise<T> => {
    const since = process.cpuUsage();
    const out = await work();
    serverMs += cpuMsSince(since);
    return out;
  };
  const threshold = NEIGHBOURS / 2 + 1;
  const server = await timed(() => new SecAggServer({ clients: ids, bits: BITS, length, threshold, neighbours: NEIGHBOURS, minSurvivors: SCALE_MIN_UPDATES, expectedParticipants }));
  const parties = ids.map((id, i) => new SecAggClient(id, { minParticipants: SCALE_MIN_UPDATES, signingKey: signingKeys[i]!, expectedParticipants }));
  const setup = await timed(() => server.setup());
  const input = new Uint32Array(length);
  // each phase: the clients' messages (not timed), then the server receives them all and closes the phase (timed)
  const phase = async <R>(messages: Promise<ClientMessage>[], close: () => R | Promise<R>): Promise<R> => {
    const ready = await Promise.all(messages);
    return timed(async () => {
      for (const message of ready) await server.receive(message);
      return close();
    });
  };
  const keys = await phase(parties.map((p) => p.advertiseKeys(setup)), () => server.closeAdvertiseKeys());
  const shares = await phase(parties.map((p) => p.shareKeys(keys.get(p.id)!)), () => server.closeShareKeys());
  // masked inputs one client at a time: 1,000 masked vectors held at once is the server's part, not the clients'
  const masked: ClientMessage[] = [];
  for (const p of parties) masked.push(await p.maskedInput(shares.get(p.id)!, input));
  const checks = await phase(masked.map((m) => Promise.resolve(m)), () => server.closeMaskedInput());
  masked.length = 0;
  const requests = await phase(parties.map((p) => p.consistencyCheck(checks.get(p.id)!)), () => server.closeConsistencyCheck());
  const result = await phase(parties.map((p) => p.unmask(requests.get(p.id)!)), () => server.closeUnmasking());
  if (result.included.length !== clients) throw new Error('the in-process baseline round lost clients');
  return { serverMs: serverMs / clients, totalMs: performance.now() - started };
}

export async function serverScaleSuite(): Promise<void> {
  await ready();
  const here = dirname(fileURLToPath(import.meta.url));
  const dataDir = mkdtempSync(join(tmpdir(), 'privkit-bench-server-scale-'));
  const server = await createServer({
    port: 0,
    dataDir,
    messagesPerSecond: 1000,
    maxUnauthenticated: SCALE_CLIENTS,
    helloMs: 300_000,
    task: {
      id: 'bench-scale',
      model: { type: 'softmax-regression', inputs: SCALE_INPUTS, classes: CLASSES },
      local: { epochs: 1, batchSize: 1, learningRate: 0.1 },
      rounds: SCALE_ROUNDS,
      clientsPerRound: SCALE_CLIENTS,
      minUpdates: SCALE_MIN_UPDATES,
      clipNorm: 1,
      noiseMultiplier: 1,
      aggregator: 'secagg',
      bits: BITS,
      neighbours: NEIGHBOURS,
      trainMs: 600_000,
      phaseMs: 600_000,
    },
  });
  const children: ChildProcess[] = [];
  try {
    const tokens = server.issueTokens(SCALE_CLIENTS).map((t) => t.token);
    const loadBefore = loadavg()[0]!;
    const sessionCpu = process.cpuUsage();
    const sessionStart = performance.now();
    const reports = Array.from({ length: SCALE_PROCESSES }, (_, p) => {
      const child = spawn(process.execPath, [join(here, 'server-clients.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(child);
      const share = tokens.filter((_, i) => i % SCALE_PROCESSES === p);
      child.stdin!.end(JSON.stringify({ url: server.url, taskId: 'bench-scale', tokens: share, inputs: SCALE_INPUTS, minParticipants: SCALE_MIN_UPDATES }));
      return new Promise<ClientReport>((resolve, reject) => {
        let seen = '';
        child.once('exit', (code) => reject(new Error(`a client process exited with ${code} before its result`)));
        child.stdout!.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          const line = seen.split('\n').find((l) => l.startsWith('result '));
          if (line !== undefined) resolve(JSON.parse(line.slice('result '.length)) as ClientReport);
        });
      });
    });
    for (const report of reports) report.catch(() => undefined); // awaited below
    // the server's CPU at each round's opening and completion (polled: within a poll of the instant)
    const roundCpu: { startMs?: number; endMs?: number }[] = [];
    let startupCpuMs = 0;
    const watch = setInterval(() => {
      const status = server.status();
      const opened = status.rounds.length;
      if (status.state === 'training' && roundCpu.length < opened) {
        const at = cpuMsSince(sessionCpu);
        if (opened === 1) startupCpuMs = at;
        roundCpu.push({ startMs: at });
      }
      if (status.completedRounds > 0 && roundCpu[status.completedRounds - 1]?.endMs === undefined && roundCpu.length >= status.completedRounds) {
        roundCpu[status.completedRounds - 1]!.endMs = cpuMsSince(sessionCpu);
      }
    }, 10);
    const final = await server.finished;
    clearInterval(watch);
    // the last round's completion finishes the task, which resolves `finished` before the next poll
    for (const cpu of roundCpu) cpu.endMs ??= cpuMsSince(sessionCpu);
    const sessionMs = performance.now() - sessionStart;
    const sessionServerCpuMs = cpuMsSince(sessionCpu);
    const clientReports = await Promise.all(reports);
    const loadAfter = loadavg()[0]!;
    if (final.rounds.some((r) => r.status !== 'released' || r.included !== SCALE_CLIENTS)) {
      throw new Error(`a round was not released with every client: ${JSON.stringify(final.rounds.map(({ round, status, included }) => ({ round, status, included })))}`);
    }
    const merged = (pick: (r: ClientReport) => Record<string, number>) => {
      const out = new Map<string, number>();
      for (const r of clientReports) for (const [k, v] of Object.entries(pick(r))) out.set(k, (out.get(k) ?? 0) + v);
      return out;
    };
    const sent = merged((r) => r.sent);
    const received = merged((r) => r.received);
    const perClient = (map: Map<string, number>, keep: (key: string) => boolean) => [...map].reduce((s, [k, v]) => (keep(k) ? s + v : s), 0) / SCALE_CLIENTS / SCALE_ROUNDS;
    const packed = Math.ceil((rotationLength(SCALE_PARAMS) * BITS) / 8);
    const rounds = final.rounds.map((r, i) => {
      const first = Math.min(...clientReports.map((c) => c.taskAt[r.round]!));
      const last = Math.max(...clientReports.map((c) => c.resultAt[r.round]!));
      const cpu = roundCpu[i]!;
      return { round: r.round, wallMs: last - first, serverCpuMs: cpu.endMs! - cpu.startMs!, serverCpuMsPerClient: (cpu.endMs! - cpu.startMs!) / SCALE_CLIENTS };
    });
    const clientCpuMsPerClient = clientReports.reduce((s, r) => s + r.cpuMs, 0) / SCALE_CLIENTS;
    // how many of the machine's cores the session got: its CPU time (server and clients) over its wall time
    const coresUsed = (sessionServerCpuMs + clientCpuMsPerClient * SCALE_CLIENTS) / sessionMs;
    await server.close();
    const baseline = await inProcessServerMsPerClient(SCALE_CLIENTS, rotationLength(SCALE_PARAMS));

    const bytes = {
      packedMaskedInputBytes: packed,
      sentMaskedInputBytes: perClient(sent, (k) => k === 'masked-input'),
      sentOtherBytes: perClient(sent, (k) => k !== 'masked-input'),
      receivedTaskBytes: perClient(received, (k) => k === 'secagg-task'),
      receivedOtherBytes: perClient(received, (k) => k !== 'secagg-task'),
    };
    const f = (x: number, d = 0) => x.toFixed(d);
    console.log(
      `\nprivkit/server SecAgg+ at scale: ${SCALE_CLIENTS} clients in ${SCALE_PROCESSES} other processes over 127.0.0.1, ${SCALE_PARAMS} params (rotated ${rotationLength(SCALE_PARAMS)}), ${NEIGHBOURS} neighbours, ${BITS} bits; ` +
        `load average ${f(loadBefore, 1)} before, ${f(loadAfter, 1)} after; the session (start and round) used ${f(coresUsed, 2)} of ${cpus().length} cores (its CPU time / its wall time)`,
    );
    console.log(
      textTable(
        ['round', 'wall ms (goal <= 60000)', 'server CPU ms', 'server CPU ms / client', 'in-process server ms / client', 'ratio (goal <= 3)'],
        rounds.map((r) => [String(r.round), f(r.wallMs), f(r.serverCpuMs), f(r.serverCpuMsPerClient, 2), f(baseline.serverMs, 2), f(r.serverCpuMsPerClient / baseline.serverMs, 2)]),
      ),
    );
    // the round's opening (encoding the model and setup for every client) may run before the poll sees it: then it
    // counts in the session start, so the bound with the whole session start is given too
    const startPerClient = startupCpuMs / SCALE_CLIENTS;
    console.log(
      `session start (connections, hellos, enrolments, check-ins): server CPU ${f(startupCpuMs)} ms (${f(startPerClient, 2)} ms / client); ` +
        `round 1 with it: ${f(rounds[0]!.serverCpuMsPerClient + startPerClient, 2)} ms / client (ratio ${f((rounds[0]!.serverCpuMsPerClient + startPerClient) / baseline.serverMs, 2)}); ` +
        `client processes' CPU over the whole session ${f(clientCpuMsPerClient, 1)} ms / client; in-process baseline round ${f(baseline.totalMs)} ms in one thread`,
    );
    console.log(`\nbytes per client per round (packed masked input: ${packed} B)`);
    console.log(
      textTable(
        ['direction', 'bytes', 'x packed masked input'],
        [
          ['sent: masked-input frame', f(bytes.sentMaskedInputBytes), f(bytes.sentMaskedInputBytes / packed, 3)],
          ['sent: keys, shares, signatures, hello, enrol, check-in', f(bytes.sentOtherBytes), f(bytes.sentOtherBytes / packed, 3)],
          ['received: secagg-task (model + setup)', f(bytes.receivedTaskBytes), f(bytes.receivedTaskBytes / packed, 3)],
          ['received: relays and results', f(bytes.receivedOtherBytes), f(bytes.receivedOtherBytes / packed, 3)],
        ],
      ),
    );
    const file = join(here, '../../bench/results/server-scale.json');
    mkdirSync(dirname(file), { recursive: true });
    const machine = { cpu: cpus()[0]?.model, cores: cpus().length, platform: `${platform()} ${release()}`, node: process.version };
    writeFileSync(
      file,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          machine,
          loadAverage: { before: loadBefore, after: loadAfter },
          sessionMs,
          sessionServerCpuMs,
          coresUsed,
          clients: SCALE_CLIENTS,
          clientProcesses: SCALE_PROCESSES,
          params: SCALE_PARAMS,
          rotatedLength: rotationLength(SCALE_PARAMS),
          neighbours: NEIGHBOURS,
          bits: BITS,
          rounds,
          startupServerCpuMsPerClient: startupCpuMs / SCALE_CLIENTS,
          clientCpuMsPerClient,
          inProcessServerMsPerClient: baseline.serverMs,
          inProcessRoundMs: baseline.totalMs,
          bytes,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
