// The join panel's worker: one real privkit/client session against a running privkit/server, off the
// page's thread. It loads the demo's MNIST digits, keeps a random run of `digits` training digits as
// this client's own data (they never leave the worker; only the update does, clipped and noised by
// the server or masked by SecAgg+), connects with the browser's WebSocket and WebCrypto and forwards
// every step (onEvent) and round result (onRound) to the page. The task's model must take the
// digits: 784 inputs, 10 classes (the client refuses any other with its PrivkitError).
import { PrivkitError, ready } from 'privkit';
import { connect } from 'privkit/client';
import { createRng } from 'privkit/dp';
import { loadDigits } from './digits';
import type { JoinMessage, JoinRequest } from './join-protocol';
import { MNIST_PIXELS } from './train-protocol';

const post = (message: JoinMessage) => postMessage(message);

async function join({ config, dataUrl }: JoinRequest): Promise<void> {
  await ready();
  post({ type: 'progress', text: 'Loading the digits...' });
  const { train } = await loadDigits(dataUrl);
  const first = Math.floor(createRng().uniform(1)[0]! * (train.labels.length - config.digits + 1));
  const data = {
    images: train.images.slice(first * MNIST_PIXELS, (first + config.digits) * MNIST_PIXELS),
    labels: train.labels.slice(first, first + config.digits),
  };
  const { minParticipants, minNoiseMultiplier } = config;
  const session = connect({
    url: config.url,
    taskId: config.taskId,
    token: config.token,
    data,
    ...(minParticipants === undefined ? {} : { minParticipants }),
    ...(minNoiseMultiplier === undefined ? {} : { minNoiseMultiplier }),
    onEvent: (event) => post({ type: 'event', event }),
    onRound: (result) => post({ type: 'round', result }),
  });
  const summary = await session.done;
  post({ type: 'done', trainedRounds: summary.trainedRounds });
}

addEventListener('message', (event: MessageEvent<JoinRequest>) => {
  if (event.data?.type !== 'join') return;
  join(event.data).catch((error: unknown) =>
    post(error instanceof PrivkitError ? { type: 'error', code: error.code, message: error.message } : { type: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
});
