// Child process of the cluster bench suite: privkit/client sessions, one per token, spread over the
// aggregators round-robin. stdin: JSON { taskId, urls, tokens, inputs }. Each client holds one sample
// of `inputs` features, so its local training is small next to the transfer of the model and update.
// Prints "cpu <ms>" (its CPU time) when the task has ended.
import { WebSocket } from 'ws';
import { connect } from '../src/client/index.js';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const { taskId, urls, tokens, inputs } = JSON.parse(Buffer.concat(chunks).toString()) as { taskId: string; urls: string[]; tokens: string[]; inputs: number };
await Promise.all(
  tokens.map((token, i) => {
    const images = Float32Array.from({ length: inputs }, (_, k) => Math.sin(k + i));
    const labels = Uint8Array.of(i % 10);
    return connect({ url: urls[i % urls.length]!, taskId, token, data: { images, labels }, WebSocket: WebSocket as never, retryMs: 100 }).done.catch(() => undefined);
  }),
);
const { user, system } = process.cpuUsage();
process.stdout.write(`cpu ${(user + system) / 1000}\n`); // once the task has ended every session
