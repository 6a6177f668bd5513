// Child process of secagg-ledger.test.ts: privkit/client sessions over real sockets, one per token
// (argv: the server's URL, the tokens as JSON), which outlive the server's crashes and reconnect with
// back-off. Reports, once per round and event, what the clients saw, one line each:
//   "phase <round> <phase>"  the first client to receive a phase's opening message (advertise-keys:
//                            the secagg-task; share-keys, masked-input, consistency-check, unmasking:
//                            the relayed public keys, shares, survivor set, unmask request);
//   "task <round> <version> <sha256 of the params>"  the model a round was started from;
//   "result <round> <status>"  a round result;
// and "done" once every session has ended (the task finished).
import { createHash } from 'node:crypto';
import { WebSocket } from 'ws';
import { connect } from 'privkit/client';
import { decodeFrame } from 'privkit/server';

const [url, tokensJson] = process.argv.slice(2);
const tokens = JSON.parse(tokensJson);
/** The phase whose opening message a relayed SecAgg message is, by its type byte (privkit/secagg's binary form). */
const RELAYED_PHASE = { 2: 'share-keys', 4: 'masked-input', 6: 'consistency-check', 8: 'unmasking' };
const seen = new Set();
const report = (line) => {
  if (seen.has(line)) return;
  seen.add(line);
  process.stdout.write(`${line}\n`);
};

class ReportingSocket extends WebSocket {
  set onmessage(handler) {
    super.onmessage = (event) => {
      const { message } = decodeFrame(new Uint8Array(event.data));
      if (message.type === 'secagg-task') {
        report(`phase ${message.round} advertise-keys`);
        const params = message.params;
        report(`task ${message.round} ${message.modelVersion} ${createHash('sha256').update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength)).digest('hex')}`);
      }
      if (message.type === 'secagg-relay' && RELAYED_PHASE[message.payload[0]] !== undefined) report(`phase ${message.round} ${RELAYED_PHASE[message.payload[0]]}`);
      if (message.type === 'round-result') report(`result ${message.round} ${message.status}`);
      handler(event);
    };
  }
}

await Promise.all(
  tokens.map((token, c) => {
    const labels = Uint8Array.from({ length: 6 }, (_, i) => (i + c) % 2);
    const images = Float32Array.from({ length: 24 }, (_, k) => labels[k >> 2] - 0.5 + 0.3 * Math.sin(k + c));
    return connect({
      url,
      taskId: 'secagg-crash',
      token,
      data: { images, labels },
      WebSocket: ReportingSocket,
      retryMs: 20,
      maxRetryMs: 200,
      attempts: 1000,
      minParticipants: 4,
      minNoiseMultiplier: 1,
    }).done;
  }),
);
process.stdout.write('done\n');
