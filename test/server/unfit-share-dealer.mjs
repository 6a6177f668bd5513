// Child process of e2e/server-attacks.test.ts that plays a malicious SecAgg+ dealer in its own process:
// an honest privkit/client except that every Shamir share it deals (66 bytes, sealed under the single-use
// key of its holder) is the 66-byte value 2^528 - 1, which is not an element of the field GF(2^521 - 1).
// The shares are sealed with the right keys and its ShareKeys message is signed with its own enrolled key,
// so each holder opens them; a holder that keeps such a share reveals it in the unmasking, where the server
// refuses the whole response as malformed (nobody is blamed), instead of rejecting the dealer at once.
//   node unfit-share-dealer.mjs <url> <taskId> <token>
// Prints one JSON line with how its session ended ({ "end": "resolved" } or { "end": code, "message": ... }).
import { WebSocket } from 'ws';
import { connect } from 'privkit/client';
import { generateSigningKeyPair } from 'privkit/secagg';

const [url, taskId, token] = process.argv.slice(2);
const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const SHARE_BYTES = 66;
const subtle = globalThis.crypto.subtle;
const encrypt = subtle.encrypt.bind(subtle);
subtle.encrypt = (algorithm, key, plaintext) =>
  encrypt(algorithm, key, algorithm.name === 'AES-GCM' && plaintext.byteLength === SHARE_BYTES ? new Uint8Array(SHARE_BYTES).fill(0xff) : plaintext);

const images = Float32Array.from({ length: 24 }, (_, k) => Math.sin(k));
const labels = Uint8Array.of(0, 1, 0, 1, 0, 1);
const signingKey = await generateSigningKeyPair();
const session = connect({ url, taskId, token, data: { images, labels }, WebSocket, signingKey, minParticipants: 3, minNoiseMultiplier: 0.8, retryMs: 50, attempts: 20 });
await session.done.then(
  () => print({ end: 'resolved' }),
  (error) => print({ end: error.code, message: error.message }),
);
process.exit(0);
