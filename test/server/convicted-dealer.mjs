// Child process of server-secagg.test.ts that plays a malicious SecAgg+ client in its own process:
// a privkit/client over a real socket whose ShareKeys message commits to another self-mask seed than
// the one it shares, signed again with its own enrolled key (so its own signatures convict it).
//   node convicted-dealer.mjs <url> <taskId> <token>
// Prints one JSON line per error frame the server sends it ({ "error": code, "message": ... }), then
// one line with how its session ended ({ "end": "resolved" } or { "end": code, "message": ... }).
import { WebSocket } from 'ws';
import { connect } from 'privkit/client';
import { decodeBinaryMessage, encodeBinaryMessage, generateSigningKeyPair, signMessage } from 'privkit/secagg';
import { decodeFrame, encodeFrame } from 'privkit/server';

const [url, taskId, token] = process.argv.slice(2);
const signingKey = await generateSigningKeyPair();
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

class CheatingSocket extends WebSocket {
  #setup;
  send(data) {
    const { seq, message } = decodeFrame(data);
    const setup = this.#setup;
    if (message.type !== 'secagg' || setup === undefined) return super.send(data);
    const { signature: _, ...unsigned } = decodeBinaryMessage(message.payload, { setup });
    if (unsigned.type !== 'share-keys') return super.send(data);
    const cheat = { ...unsigned, selfMaskCommitment: unsigned.selfMaskCommitment.map((b) => b ^ 0xff) };
    void signMessage(cheat, signingKey.privateKey).then((signed) => super.send(encodeFrame(seq, { ...message, payload: encodeBinaryMessage(signed, setup) })));
  }
  set onmessage(handler) {
    super.onmessage = (event) => {
      const { message } = decodeFrame(new Uint8Array(event.data));
      if (message.type === 'secagg-task') this.#setup = decodeBinaryMessage(message.setup);
      if (message.type === 'error') print({ error: message.code, message: message.message });
      handler?.(event);
    };
  }
}

const images = Float32Array.from({ length: 24 }, (_, k) => Math.sin(k));
const labels = Uint8Array.of(0, 1, 0, 1, 0, 1);
const session = connect({ url, taskId, token, data: { images, labels }, WebSocket: CheatingSocket, signingKey, minParticipants: 3, minNoiseMultiplier: 0.8, retryMs: 50, attempts: 20 });
await session.done.then(
  () => print({ end: 'resolved' }),
  (error) => print({ end: error.code, message: error.message }),
);
process.exit(0);
