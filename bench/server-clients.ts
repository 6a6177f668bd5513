// Child process of the server-scale bench suite: privkit/client sessions over real sockets, one per
// token. stdin: JSON { url, taskId, tokens, inputs, minParticipants }. Each client holds one sample
// of `inputs` features, so its local training is small next to the protocol and the transfers.
// Counts, over all its clients, the frame bytes sent and received by kind (the masked-input frame
// apart), and the wall-clock instants (ms since the epoch) at which the first client got each round's
// secagg-task and the last one its round result. Prints "result <JSON>" once every session has ended.
import { WebSocket } from 'ws';
import { connect, type WebSocketLike } from '../src/client/index.js';
import { decodeFrame } from '../src/server/index.js';

/** The masked-input message's type byte in privkit/secagg's binary form (its schemas' order). */
const MASKED_INPUT_TYPE = 5;

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const { url, taskId, tokens, inputs, minParticipants } = JSON.parse(Buffer.concat(chunks).toString()) as {
  url: string;
  taskId: string;
  tokens: string[];
  inputs: number;
  minParticipants: number;
};

const sent = new Map<string, number>();
const received = new Map<string, number>();
const taskAt = new Map<number, number>();
const resultAt = new Map<number, number>();
const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);
const now = () => performance.timeOrigin + performance.now();

class CountingSocket extends (WebSocket as unknown as new (url: string) => WebSocketLike) {
  override send(data: Uint8Array): void {
    const { message } = decodeFrame(data);
    // a secagg frame's body: round (u32), payload length (u32), then the binary message, whose first byte is its type
    add(sent, message.type === 'secagg' && data[20] === MASKED_INPUT_TYPE ? 'masked-input' : message.type, data.byteLength);
    super.send(data);
  }
  override set onmessage(handler: WebSocketLike['onmessage']) {
    super.onmessage = (event) => {
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      const { message } = decodeFrame(bytes);
      add(received, message.type, bytes.byteLength);
      if (message.type === 'secagg-task' && !taskAt.has(message.round)) taskAt.set(message.round, now());
      if (message.type === 'round-result') resultAt.set(message.round, now());
      handler?.(event);
    };
  }
}

await Promise.all(
  tokens.map((token, i) => {
    const images = Float32Array.from({ length: inputs }, (_, k) => Math.sin(k + i));
    const labels = Uint8Array.of(i % 10);
    return connect({
      url,
      taskId,
      token,
      data: { images, labels },
      WebSocket: CountingSocket,
      retryMs: 500,
      maxRetryMs: 5000,
      attempts: 100,
      minParticipants,
      minNoiseMultiplier: 1,
    }).done;
  }),
);
const { user, system } = process.cpuUsage();
process.stdout.write(
  `result ${JSON.stringify({ sent: Object.fromEntries(sent), received: Object.fromEntries(received), taskAt: Object.fromEntries(taskAt), resultAt: Object.fromEntries(resultAt), cpuMs: (user + system) / 1000 })}\n`,
);
