// Child process of the cluster bench suite: privkit/client sessions, one per token, spread round-robin over the
// aggregators it is given (urls). stdin: JSON { taskId, urls, tokens, inputs } on the first line; then each
// line "cpu" is answered with "cpu <json>" (cluster-usage.ts: this process's CPU time so far). Each client holds one
// sample of `inputs` features, so its local training is small next to the transfer of the model and
// update. Prints "done" once the task has ended every session; exits when stdin closes.
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { connect } from '../src/client/index.js';
import { processUsage } from './cluster-usage.js';

const lines = createInterface({ input: process.stdin });
const first = await new Promise<string>((resolve) => lines.once('line', resolve));
const { taskId, urls, tokens, inputs } = JSON.parse(first) as { taskId: string; urls: string[]; tokens: string[]; inputs: number };
lines.on('line', (line) => {
  if (line === 'cpu') process.stdout.write(`cpu ${JSON.stringify(processUsage())}\n`);
});
await Promise.all(
  tokens.map((token, i) => {
    const images = Float32Array.from({ length: inputs }, (_, k) => Math.sin(k + i));
    const labels = Uint8Array.of(i % 10);
    return connect({ url: urls[i % urls.length]!, taskId, token, data: { images, labels }, WebSocket: WebSocket as never, retryMs: 100 }).done.catch(() => undefined);
  }),
);
process.stdout.write('done\n');
