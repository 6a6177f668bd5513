// Child process of ledger.test.ts: a privkit/server with 10 in-process clients over real sockets,
// running rounds until it is killed (kill -9). Prints "ready <port>" once listening.
import { createServer } from 'privkit/server';
import { connect } from 'privkit/client';
import { WebSocket } from 'ws';

const dataDir = process.argv[2];
const server = await createServer({
  port: 0,
  dataDir,
  task: {
    id: 'crash',
    model: { type: 'mlp', inputs: 64, hidden: 128, classes: 10 },
    rounds: 100000,
    clientsPerRound: 4,
    minCheckIns: 6,
    minUpdates: 3,
    local: { epochs: 1, batchSize: 4, learningRate: 0.05 },
    clipNorm: 1,
    noiseMultiplier: 4,
    trainMs: 300,
  },
});
for (let c = 0; c < 10; c++) {
  const labels = Uint8Array.from({ length: 8 }, (_, i) => (i + c) % 10);
  const images = Float32Array.from({ length: 8 * 64 }, (_, k) => Math.sin(k * (c + 1)));
  const { token } = server.issueToken();
  connect({ url: server.url, taskId: 'crash', token, data: { images, labels }, WebSocket, retryMs: 20 }).done.catch(() => undefined);
}
process.stdout.write(`ready ${server.port}\n`);
