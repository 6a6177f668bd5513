// Browser fixture of test/e2e/tfjs-browser.test.ts: DP-SGD with privkit/tfjs in the page, on the
// tfjs cpu, wasm (its .wasm files bundled by Vite as assets, nothing fetched from elsewhere) and
// webgl backends (headless Chromium renders WebGL with SwiftShader, a software GPU, which tfjs
// refuses unless SOFTWARE_WEBGL_ENABLED is set). On each backend the page checks the backend
// assumption of the privacy argument (src/tfjs/noised-sum.ts, step 1: an example's ghost norm and
// clipped contribution are bit-identical alone and in batches of other sizes), then a Dense model
// learns a separable synthetic task with makePrivate at epsilon <= 3; the page reports accuracy,
// epsilon, the backend that actually ran and, for webgl, the float format tfjs computes in.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgl';
import wasmUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tfl from '@tensorflow/tfjs-layers';
import { ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { makePrivate } from 'privkit/tfjs';
import { LayerChain } from '../../../dist/src/tfjs/layers.js';

/** The float format of the webgl backend, from tfjs' environment flags. */
export interface WebglFloats {
  /** WEBGL_VERSION: 1 or 2. */
  version: number;
  /** WEBGL_RENDER_FLOAT32_ENABLED: false means tfjs computes and stores in float16 textures. */
  renderFloat32: boolean;
  /** WEBGL_DOWNLOAD_FLOAT_ENABLED: values read back (dataSync) as float32 textures. */
  downloadFloat: boolean;
  /** WEBGL_PACK: 2x2 packed textures (4 values per texel). */
  pack: boolean;
  /** The GPU's renderer string (SwiftShader here). */
  renderer: string;
  /** Whether makePrivate refuses the backend when tfjs is told to use float16 textures. */
  float16Refused: boolean;
}

export interface BackendReport {
  requested: string;
  backend: string;
  accuracy: number;
  epsilon: number;
  steps: number;
  noiseMultiplier: number;
  /** Examples whose ghost norm or contribution differed bit for bit between a batch and alone (must be none). */
  rowMismatches: string[];
  /** How many (example, batch) pairs were compared. */
  rowComparisons: number;
  /** Wall time of the row check and of the training, ms. */
  rowsMs: number;
  trainMs: number;
  webgl?: WebglFloats;
}

declare global {
  interface Window {
    __tfjs?: { reports: BackendReport[] } | { fatal: string };
  }
}

setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmUrl, 'tfjs-backend-wasm-simd.wasm': simdUrl, 'tfjs-backend-wasm-threaded-simd.wasm': threadedUrl });
// SwiftShader is a software WebGL: tfjs asks for a context that fails on it unless this is set
tf.env().set('SOFTWARE_WEBGL_ENABLED', true);
// shapes as uniforms: one compiled shader per op for all batch sizes (Poisson batches vary), not one per size
tf.env().set('WEBGL_USE_SHAPES_UNIFORMS', true);

function webglFloats(): WebglFloats {
  const gl = (tf.backend() as unknown as { gpgpu: { gl: WebGLRenderingContext } }).gpgpu.gl;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  return {
    version: tf.env().getNumber('WEBGL_VERSION'),
    renderFloat32: tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED'),
    downloadFloat: tf.env().getBool('WEBGL_DOWNLOAD_FLOAT_ENABLED'),
    pack: tf.env().getBool('WEBGL_PACK'),
    renderer: String(gl.getParameter(info === null ? gl.RENDERER : info.UNMASKED_RENDERER_WEBGL)),
    float16Refused: refusesFloat16(),
  };
}

/** makePrivate on webgl with float16 textures (as on devices without float32 ones) must refuse: its norms' rounding would leave every example out. */
function refusesFloat16(): boolean {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [2], units: 2, activation: 'softmax' })] });
  const float32 = tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
  tf.env().set('WEBGL_RENDER_FLOAT32_ENABLED', false);
  try {
    makePrivate(model, { noiseMultiplier: 1, maxGradNorm: 1, sampleRate: 0.5, datasetSize: 4, loss: 'categoricalCrossentropy', optimizer: tf.train.sgd(0.1) });
    return false;
  } catch (error) {
    return error instanceof Error && /16-bit floats/.test(error.message);
  } finally {
    tf.env().set('WEBGL_RENDER_FLOAT32_ENABLED', float32);
    model.dispose();
  }
}

/**
 * The examples `indexes` of (xs, ys) trained alone and inside the batches [from, to): their ghost
 * norms and clipped contributions (as makePrivate sums them) must agree bit for bit. Returns the
 * mismatches and the number of comparisons.
 */
function compareRows(model: tfl.Sequential, xs: tf.Tensor, ys: tf.Tensor, indexes: number[], batches: [number, number][]): { mismatches: string[]; comparisons: number } {
  const chain = new LayerChain(model);
  const C = 0.05;
  const contribution = (from: number, to: number, index: number) => {
    const x = tf.slice(xs, from, to - from);
    const y = tf.slice(ys, from, to - from);
    const pass = chain.backward(x, (out) => tf.neg(tf.sum(tf.mul(y, tf.log(out)))) as tf.Scalar);
    const norms = pass.norms.dataSync();
    const factors = Float64Array.from(norms, (norm, i) => (i + from === index ? Math.min(1, C / (norm + 1e-6)) : 0));
    const { sum } = pass.clippedSum([{ layers: chain.trainableLayers.map((_, k) => k), factors, bound: C }]);
    tf.dispose([pass.norms, pass.loss, x, y]);
    pass.dispose();
    return { sum, norm: norms[index - from]! };
  };
  const mismatches: string[] = [];
  let comparisons = 0;
  for (const index of indexes) {
    const alone = contribution(index, index + 1, index);
    for (const [from, to] of batches) {
      if (index < from || index >= to) continue;
      comparisons++;
      const inBatch = contribution(from, to, index);
      const differing = inBatch.sum.reduce((n, v, j) => n + (Object.is(v, alone.sum[j]) ? 0 : 1), 0);
      if (inBatch.norm !== alone.norm || differing > 0) {
        mismatches.push(`${model.name}: example ${index} in [${from}, ${to}): norm ${inBatch.norm} vs ${alone.norm} alone, ${differing} of ${alone.sum.length} coordinates differ`);
      }
    }
  }
  return { mismatches, comparisons };
}

/** The backend assumption on a dense MLP and a small CNN (conv layers through the unfolded input). */
function checkRows(): { rowMismatches: string[]; rowComparisons: number } {
  const mlp = tfl.sequential({ name: 'mlp', layers: [tfl.layers.dense({ inputShape: [20], units: 32, activation: 'relu' }), tfl.layers.dense({ units: 4, activation: 'softmax' })] });
  const cnn = tfl.sequential({ name: 'cnn', layers: [tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation: 'relu' }), tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu' }), tfl.layers.flatten(), tfl.layers.dense({ units: 4, activation: 'softmax' })] });
  const ys = tf.oneHot(tf.randomUniform([70], 0, 4, 'int32', 6), 4);
  const inputs = [tf.randomNormal([70, 20], 0, 1, 'float32', 5), tf.randomNormal([70, 6, 6, 2], 0, 1, 'float32', 7)];
  const batches: [number, number][] = [[0, 70], [1, 70], [0, 17], [0, 2], [16, 18]];
  const results = [mlp, cnn].map((model, k) => compareRows(model, inputs[k]!, ys, [0, 1, 16, 69], batches));
  tf.dispose([ys, ...inputs]);
  [mlp, cnn].forEach((model) => model.dispose());
  return { rowMismatches: results.flatMap((r) => r.mismatches), rowComparisons: results.reduce((n, r) => n + r.comparisons, 0) };
}

async function train(requested: string): Promise<BackendReport> {
  if (!(await tf.setBackend(requested))) throw new Error(`tfjs backend ${requested} did not initialize`);
  const started = performance.now();
  const rows = checkRows();
  const rowsMs = performance.now() - started;
  const xs = tf.randomNormal([600, 8], 0, 1, 'float32', 5);
  const ys = tf.cast(tf.oneHot(tf.cast(tf.greater(tf.sum(xs, 1), 0), 'int32'), 2), 'float32');
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [8], units: 16, activation: 'relu' }), tfl.layers.dense({ units: 2, activation: 'softmax' })] });
  model.compile({ optimizer: tf.train.momentum(0.5, 0.9), loss: 'categoricalCrossentropy' });
  const dp = makePrivate(model, { targetEpsilon: 3, delta: 1e-5, maxGradNorm: 1, expectedBatchSize: 60, datasetSize: 600, epochs: 5, rng: createRng({ seed: new Uint8Array(32).fill(2) }) });
  await dp.fit(xs, ys);
  const trainMs = performance.now() - started - rowsMs;
  const accuracy = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.predict(xs) as tf.Tensor, -1), tf.argMax(ys, -1)), 'float32')).dataSync()[0]!);
  tf.dispose([xs, ys]);
  model.dispose();
  const backend = tf.getBackend();
  return { requested, backend, accuracy, epsilon: dp.epsilon(), steps: dp.steps, noiseMultiplier: dp.noiseMultiplier, ...rows, rowsMs, trainMs, ...(backend === 'webgl' && { webgl: webglFloats() }) };
}

async function main(): Promise<void> {
  await ready();
  const reports: BackendReport[] = [];
  for (const backend of ['cpu', 'wasm', 'webgl']) reports.push(await train(backend));
  window.__tfjs = { reports };
  document.getElementById('status')!.textContent = JSON.stringify(reports, null, 2);
}

main().catch((error: unknown) => {
  window.__tfjs = { fatal: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) };
});
