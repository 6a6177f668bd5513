// Sweep rows of privkit/server (createServer, the wire codec, constants) and privkit/client (connect).
// A valid createServer call starts a server on a free port in a fresh data directory and closes it;
// a valid connect call is closed before it opens a socket.
import { rmSync } from 'node:fs';
import * as server from 'privkit/server';
import * as client from 'privkit/client';
import { bool, fn, int, obj, oneOf, opaque, positive, str, typed, type SweepRow } from '../sweep-harness.js';
import { scratchDir } from '../../support/scratch.js';

const entry = 'privkit/server';
const limitsDomain = obj(
  { maxVector: int(1, 2 ** 27, { optional: true }), maxString: int(1, 65535, { optional: true }), maxBytes: int(1, 2 ** 30, { optional: true }) },
  { optional: true },
);

const dataDirs: string[] = [];
const dataDir = (): string => {
  const dir = scratchDir('privkit-sweep-');
  dataDirs.push(dir);
  return dir;
};

const task = () => ({
  id: 'sweep',
  model: { type: 'mlp', inputs: 4, hidden: 3, classes: 2 },
  local: { epochs: 1, batchSize: 2, learningRate: 0.1 },
  rounds: 2,
  clientsPerRound: 2,
  minCheckIns: 3,
  minUpdates: 1,
  clipNorm: 1,
  noiseMultiplier: 1,
  targetEpsilon: 50,
  maxAbortedRounds: 3,
  delta: 1e-5,
  serverLearningRate: 1,
  trainMs: 1000,
});

export const serverRows: SweepRow[] = [
  ...['LEDGER_FILE', 'MessageType', 'WIRE_VERSION', 'HEADER_BYTES'].map((name) => ({ entry, export: name, constant: true as const })),
  {
    entry,
    export: 'createServer',
    params: [
      {
        name: 'options',
        domain: obj({
          task: obj({
            id: str(64),
            model: obj({ type: oneOf(['softmax-regression', 'mlp']), inputs: int(1, 1 << 16, { optional: true }), classes: int(2, 256, { optional: true }), hidden: int(1, 1 << 16, { optional: true }) }),
            local: obj({ epochs: int(1, 1000), batchSize: int(1), learningRate: positive() }),
            rounds: int(1, 2 ** 20),
            clientsPerRound: int(1, 2),
            minCheckIns: int(2, 2 ** 30, { optional: true }),
            minUpdates: int(1, 2, { optional: true }),
            colludingClients: int(0, 2, { optional: true }), // below the row's minCheckIns (3)
            clipNorm: positive(),
            noiseMultiplier: positive(),
            targetEpsilon: positive({ optional: true }),
            maxAbortedRounds: int(1, 2 ** 20, { optional: true }),
            delta: { kind: 'number', above: 0, below: 1, optional: true },
            serverLearningRate: positive({ optional: true }),
            trainMs: int(1, 2 ** 31 - 1, { optional: true }),
            aggregator: oneOf(['central-dp', 'secagg'], { optional: true }),
            bits: int(1, 32, { optional: true }),
            neighbours: oneOf([2, 4, 16], { optional: true }),
            phaseMs: int(1, 2 ** 31 - 1, { optional: true }),
          }),
          port: int(0, 65535, { optional: true }),
          host: { ...opaque('an interface name; a name that cannot be listened on is E_ARG options.host (DNS lookups of random names are not run)'), optional: true },
          dataDir: { ...opaque('a directory path: any string names one, and creating it is the valid outcome'), optional: true },
          limits: limitsDomain,
          helloMs: int(1, 2 ** 31 - 1, { optional: true }),
          maxUnauthenticated: int(1, 2 ** 20, { optional: true }),
          messagesPerSecond: int(1, 1e6, { optional: true }),
          httpRequestsPerSecond: int(1, 1e6, { optional: true }),
          allowInsecureTransport: bool({ optional: true }),
          tls: { ...opaque('a PEM key and certificate for node:https: a value it can not use is E_ARG options.tls (test/e2e/server-network.test.ts)'), optional: true },
        }),
      },
    ],
    // each call gets its own data directory; after each call every one made so far is removed (a later call's is recreated by the ledger)
    args: () => [{ task: task(), port: 0, host: '127.0.0.1', dataDir: dataDir(), limits: { maxVector: 64, maxString: 128 }, helloMs: 1000, messagesPerSecond: 10 }],
    call: async ([options]) => {
      try {
        const running = await server.createServer(options);
        const { state, id, epsilon } = running.status();
        await running.close();
        return { state, id, epsilon };
      } finally {
        for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      }
    },
    notApplicable: { 'options.dataDir=missing': 'the default ./data would be created in the working directory' },
    aliases: { 'options.task.model': ['spec'], 'options.limits': ['limits'] },
  },
  {
    entry,
    export: 'encodeFrame',
    params: [
      { name: 'seq', domain: int(1, 2 ** 32 - 1) },
      { name: 'message', domain: obj({ type: oneOf(['checked-in']), round: int(0, 2 ** 32 - 1) }) },
    ],
    args: () => [3, { type: 'checked-in', round: 7 }],
    call: ([seq, message]) => server.encodeFrame(seq, message),
  },
  {
    entry,
    export: 'decodeFrame',
    params: [
      { name: 'bytes', domain: typed('Uint8Array') },
      { name: 'limits', domain: limitsDomain },
    ],
    args: () => [server.encodeFrame(3, { type: 'update', round: 2, delta: Float32Array.of(1, 2) }), { maxVector: 8, maxString: 16 }],
    call: ([bytes, limits]) => server.decodeFrame(bytes, limits),
  },
  {
    entry,
    export: 'enrolmentBytes',
    params: [
      { name: 'taskId', domain: str() },
      { name: 'clientId', domain: str() },
      { name: 'signingPublicKey', domain: typed('Uint8Array') },
      { name: 'challenge', domain: typed('Uint8Array') },
    ],
    args: () => ['task', 'c-1', new Uint8Array(32).fill(7), new Uint8Array(32).fill(9)],
    call: ([taskId, clientId, key, challenge]) => server.enrolmentBytes(taskId, clientId, key, challenge),
  },
  {
    entry,
    export: 'maxFrameBytes',
    params: [{ name: 'limits', domain: limitsDomain }],
    args: () => [{ maxVector: 8, maxString: 16 }],
    call: ([limits]) => server.maxFrameBytes(limits),
  },
  {
    entry: 'privkit/client',
    export: 'connect',
    params: [
      {
        name: 'options',
        domain: obj({
          url: str(),
          taskId: str(),
          token: str(),
          data: obj({ images: typed('Float32Array'), labels: typed('Uint8Array') }),
          WebSocket: fn({ optional: true }),
          limits: limitsDomain,
          retryMs: int(1, 2 ** 31 - 1, { optional: true }),
          maxRetryMs: int(1, 2 ** 31 - 1, { optional: true }),
          attempts: int(1, 2 ** 31 - 1, { optional: true }),
          onRound: fn({ optional: true }),
          onEvent: fn({ optional: true }),
          minParticipants: int(1, 65536, { optional: true }),
          minNoiseMultiplier: positive({ optional: true }),
          onInput: fn({ optional: true }),
          allowInsecureTransport: bool({ optional: true }),
          signingKey: opaque('an Ed25519 key pair: checked (a working pair) when the client enrols it, after it connects'),
        }),
      },
    ],
    args: () => [
      {
        url: 'ws://127.0.0.1:9',
        taskId: 'sweep',
        token: 'token',
        data: { images: new Float32Array(8), labels: Uint8Array.of(0, 1) },
        WebSocket: class {},
        limits: { maxVector: 8 },
        retryMs: 10,
        maxRetryMs: 100,
        attempts: 2,
        onRound: () => undefined,
      },
    ],
    call: ([options]) => {
      const session = client.connect(options);
      session.close(); // before it opens a socket (that waits for ready())
      return 'started';
    },
  },
];
