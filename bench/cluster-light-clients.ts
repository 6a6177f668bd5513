// Child process of the cluster bench suite: "light" clients of a central-DP task, one WebSocket per
// token, spread round-robin over the aggregators it is given (urls). They speak the wire protocol directly and do no
// local work: an update is the same precomputed vector every round (a client's training is its own
// device's time, not the service's), encoded once per round for every client of the process; each
// client sends a copy numbered for its connection as ONE WebSocket frame, as privkit/client sends its
// update (two fragments, header then a shared body, would cost the aggregator a reassembly per update
// that no real client causes). A task frame is read no further than its type and round. So the aggregators, not the clients, are the
// bottleneck, which is what the scale-out goal is about: the serving capacity of aggregator processes.
// The aggregators still decode, check, clip and add every update as they would a trained one (its L2
// norm is 2, above the bench's clipNorm of 1, so clipping scales it).
// stdin: JSON { taskId, urls, tokens, params } on the first line; then each line "cpu" is answered
// with "cpu <json>" (cluster-usage.ts: this process's CPU time so far, and the task frames it received from each aggregator). Prints "done" once every connection has closed; exits when stdin closes.
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { encodeFrame, HEADER_BYTES, MessageType, withSeq } from '../src/service/wire.js';
import { processUsage } from './cluster-usage.js';

const lines = createInterface({ input: process.stdin });
const first = await new Promise<string>((resolve) => lines.once('line', resolve));
const { taskId, urls, tokens, params } = JSON.parse(first) as { taskId: string; urls: string[]; tokens: string[]; params: number };
lines.on('line', (line) => {
  if (line === 'cpu') process.stdout.write(`cpu ${JSON.stringify({ ...processUsage(), tasks })}\n`);
});

const delta = Float32Array.from({ length: params }, (_, k) => Math.sin(k + 1));
const norm = Math.sqrt(delta.reduce((s, x) => s + x * x, 0));
for (let k = 0; k < params; k++) delta[k] = (2 * delta[k]!) / norm;

/** The update frame of a round, encoded once for every client of this process (each sends a copy renumbered for its connection). */
const updates = new Map<number, Uint8Array>();
function updateFrame(round: number): Uint8Array {
  let frame = updates.get(round);
  if (frame === undefined) {
    updates.clear();
    frame = encodeFrame(1, { type: 'update', round, delta });
    updates.set(round, frame);
  }
  return frame;
}

let refused = 0;
/** Task frames received so far from each aggregator (urls[a]): its sampled clients of this process, over the rounds. */
const tasks = urls.map(() => 0);
/** One client: connects, and reconnects after a cut (the aggregator admits maxUnauthenticated at once) until the task ends its session. */
function session(aggregator: number, token: string): Promise<void> {
  return new Promise((resolve) => {
    const open = () => {
      const socket = new WebSocket(urls[aggregator]!, { perMessageDeflate: false });
      let seq = 0;
      const send = (message: Parameters<typeof encodeFrame>[1]) => socket.send(encodeFrame(++seq, message));
      socket.on('open', () => send({ type: 'hello', taskId, token }));
      socket.on('message', (data: Buffer) => {
        switch (data[1]) {
          case MessageType.Welcome:
            return send({ type: 'check-in' });
          case MessageType.Task: {
            tasks[aggregator]! += 1;
            socket.send(withSeq(updateFrame(data.readUInt32LE(HEADER_BYTES)), ++seq)); // the body's first field: the round
            return send({ type: 'check-in' }); // as privkit/client: ready for the next round once uploaded
          }
          case MessageType.Error:
            refused += 1;
            return;
          default:
            return; // checked-in, round-result: nothing to do
        }
      });
      socket.on('error', () => undefined);
      // 1000: the task finished; 4001: refused for good; anything else (a cut): again, after 50-150 ms
      socket.on('close', (code) => (code === 1000 || code === 4001 ? resolve() : setTimeout(open, 50 + 100 * Math.random())));
    };
    open();
  });
}

await Promise.all(tokens.map((token, i) => session(i % urls.length, token)));
process.stdout.write(`done ${refused}\n`);
