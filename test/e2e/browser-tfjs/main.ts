// Browser fixture of test/e2e/tfjs-browser.test.ts: DP-SGD with privkit/tfjs in the page, on the
// tfjs cpu backend and on the wasm backend (its .wasm files bundled by Vite as assets, nothing
// fetched from elsewhere). A Dense model learns a separable synthetic task with makePrivate at
// epsilon <= 3; the page reports accuracy, epsilon and the backend that actually ran.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tfl from '@tensorflow/tfjs-layers';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { makePrivate } from 'privkit/tfjs';

export interface BackendReport {
  requested: string;
  backend: string;
  accuracy: number;
  epsilon: number;
  steps: number;
  noiseMultiplier: number;
}

declare global {
  interface Window {
    __tfjs?: { reports: BackendReport[] } | { fatal: string };
  }
}

setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmUrl, 'tfjs-backend-wasm-simd.wasm': simdUrl, 'tfjs-backend-wasm-threaded-simd.wasm': threadedUrl });

async function train(requested: string): Promise<BackendReport> {
  if (!(await tf.setBackend(requested))) throw new Error(`tfjs backend ${requested} did not initialize`);
  const xs = tf.randomNormal([600, 8], 0, 1, 'float32', 5);
  const ys = tf.cast(tf.oneHot(tf.cast(tf.greater(tf.sum(xs, 1), 0), 'int32'), 2), 'float32');
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [8], units: 16, activation: 'relu' }), tfl.layers.dense({ units: 2, activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.momentum(0.5, 0.9), loss: 'categoricalCrossentropy' });
  const dp = makePrivate(model, { targetEpsilon: 3, delta: 1e-5, maxGradNorm: 1, expectedBatchSize: 60, epochs: 5, rng: createRng({ seed: new Uint8Array(32).fill(2) }) });
  await dp.fit(xs, ys);
  const accuracy = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(xs) as tf.Tensor, -1), tf.argMax(ys, -1)), 'float32')).dataSync()[0]!);
  tf.dispose([xs, ys]);
  model.dispose();
  return { requested, backend: tf.getBackend(), accuracy, epsilon: dp.epsilon(), steps: dp.steps, noiseMultiplier: dp.noiseMultiplier! };
}

async function main(): Promise<void> {
  await ready();
  const reports: BackendReport[] = [];
  for (const backend of ['cpu', 'wasm']) reports.push(await train(backend));
  window.__tfjs = { reports };
  document.getElementById('status')!.textContent = JSON.stringify(reports, null, 2);
}

main().catch((error: unknown) => {
  window.__tfjs = { fatal: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) };
});
