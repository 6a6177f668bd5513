// Child process of secagg-ledger.test.ts: a privkit/server running a SecAgg+ task (distributed
// discrete Gaussian) until it is killed (kill -9) or the task finishes. argv: data directory, port
// (0: any), how many tokens to issue. Prints one line "ready <port> <tokens as JSON>" once listening,
// and "finished" when the task has finished.
import { createServer } from 'privkit/server';

const [dataDir, port, issue] = process.argv.slice(2);
const server = await createServer({
  port: Number(port),
  dataDir,
  messagesPerSecond: 1000,
  task: {
    id: 'secagg-crash',
    model: { type: 'softmax-regression', inputs: 4, classes: 2 },
    local: { epochs: 1, batchSize: 2, learningRate: 0.2 },
    rounds: Number(process.env.PRIVKIT_CRASH_ROUNDS),
    clientsPerRound: 5,
    minCheckIns: 6,
    minUpdates: 4,
    clipNorm: 1,
    noiseMultiplier: 1,
    aggregator: 'secagg',
    trainMs: 5000,
    phaseMs: 5000,
  },
});
const tokens = Array.from({ length: Number(issue) }, () => server.issueToken().token);
process.stdout.write(`ready ${server.port} ${JSON.stringify(tokens)}\n`);
await server.finished;
await server.close();
process.stdout.write('finished\n');
