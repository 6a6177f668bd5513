// Simulated Node clients of a running privkit-server, over real sockets: `npm run clients -- --count
// 100 --server ws://127.0.0.1:8080` (after `npm run serve`, which writes 100 tokens to
// data/tokens.jsonl). Each client holds one shard of MNIST's training digits and trains the task's
// model with privkit/client until the server ends the task; client 0 prints every round's result.
// Against a server with TLS: `--server wss://host:8080`, and `--ca cert.pem` when its certificate is
// self-signed (the clients then trust only that certificate).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { connect } from 'privkit/client';
import { splitClients } from 'privkit/fl';
import { loadMnist } from './mnist.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100' },
    server: { type: 'string', default: 'ws://127.0.0.1:8080' },
    tokens: { type: 'string', default: 'data/tokens.jsonl' },
    task: { type: 'string', default: 'mnist' },
    ca: { type: 'string' },
  },
});
const ca = values.ca === undefined ? undefined : readFileSync(values.ca, 'utf8');
/** ws's WebSocket, trusting only --ca when it is given. */
const Socket = ca === undefined ? WebSocket : class extends WebSocket {
  constructor(url: string) {
    super(url, { ca });
  }
};
const count = Number(values.count);
const tokens = readFileSync(values.tokens, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => (JSON.parse(line) as { token: string }).token);
if (!(Number.isInteger(count) && count >= 1 && count <= tokens.length)) {
  throw new RangeError(`--count must be an integer in [1, ${tokens.length}] (the tokens in ${values.tokens}), got ${values.count}`);
}
const { train } = await loadMnist();
const shards = splitClients(count, train);
const started = performance.now();
const sessions = shards.map((data, c) =>
  connect({
    url: values.server,
    taskId: values.task,
    token: tokens[c]!,
    data,
    WebSocket: Socket as never,
    onRound: c === 0 ? (r) => console.log(`round ${r.round}: ${r.status}, ${r.included} updates, model v${r.modelVersion}, epsilon ${r.epsilon.toFixed(3)}`) : undefined,
  }),
);
const summaries = await Promise.all(sessions.map((s) => s.done));
const trained = summaries.reduce((n, s) => n + s.trainedRounds.length, 0);
console.log(`${count} clients done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${trained} local updates uploaded`);
