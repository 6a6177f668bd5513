// flModel: a tfjs model as a privkit/fl Model. Its batch loss and gradient equal the built-in
// softmax regression's on the same weights (tfjs keeps the kernel as inputs x classes, privkit's
// layout is classes x inputs). In a pool whose workers start from privkit/tfjs/worker, clients train
// bit for bit as on the caller's thread; the default workers refuse it. DP-FedAvg with it:
// test/e2e/tfjs-fedavg.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { PrivkitError, ready } from 'privkit';
import { createRng } from 'privkit/dp';
import { createModel, FedAvg, localUpdate, splitClients } from 'privkit/fl';
import { createPool } from 'privkit/pool';
import { flModel } from 'privkit/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await ready();
});

const softmaxNet = (inputs: number, classes: number) => tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [inputs], units: classes, activation: 'softmax' })] });

/** privkit's softmax-regression layout [W (classes x inputs), b] to the tfjs layout [kernel (inputs x classes), bias]. */
function toTfjsLayout(params: Float32Array, inputs: number, classes: number): Float32Array {
  const out = new Float32Array(params.length);
  for (let c = 0; c < classes; c++) for (let i = 0; i < inputs; i++) out[i * classes + c] = params[c * inputs + i]!;
  out.set(params.subarray(classes * inputs), classes * inputs);
  return out;
}

describe('flModel', () => {
  it('has the built-in softmax regression\'s loss, accuracy and gradient on the same weights', () => {
    const inputs = 6;
    const classes = 3;
    const rng = createRng({ seed: new Uint8Array(32).fill(8) });
    const builtIn = createModel({ type: 'softmax-regression', inputs, classes });
    const adapter = flModel(softmaxNet(inputs, classes), { inputs, classes });
    expect(adapter.paramCount).toBe(builtIn.paramCount);
    expect(adapter.spec).toMatchObject({ type: 'custom', name: 'tfjs', inputs, classes });
    const params = Float32Array.from(rng.uniform(builtIn.paramCount), (u) => 2 * u - 1);
    const images = Float32Array.from(rng.uniform(12 * inputs));
    const labels = Uint8Array.from({ length: 12 }, (_, i) => i % classes);
    const order = Uint32Array.of(5, 0, 11, 3, 7, 2, 9);
    const want = new Float64Array(builtIn.paramCount);
    const got = new Float64Array(adapter.paramCount);
    const a = builtIn.accumulate(params, images, labels, order, 1, 6, want);
    const b = adapter.accumulate(toTfjsLayout(params, inputs, classes), images, labels, order, 1, 6, got);
    expect(b.correct).toBe(a.correct);
    expect(b.loss).toBeCloseTo(a.loss, 4);
    const wantTfjs = toTfjsLayout(Float32Array.from(want), inputs, classes);
    wantTfjs.forEach((w, j) => expect(got[j]!).toBeCloseTo(w, 4));
    const evaluation = adapter.evaluate(toTfjsLayout(params, inputs, classes), images, labels);
    const reference = builtIn.evaluate(params, images, labels);
    expect(evaluation.accuracy).toBe(reference.accuracy);
    expect(evaluation.loss).toBeCloseTo(reference.loss, 4);
  });

  it('refuses bad options, and a pool for a model without a topology', async () => {
    const net = softmaxNet(4, 2);
    const opaque = flModel({ layers: net.layers }, { inputs: 4, classes: 2 });
    expect(opaque.spec).toEqual({ type: 'custom', name: 'tfjs', inputs: 4, classes: 2 });
    const pool = await createPool({ threads: 1 });
    try {
      const clients = splitClients(2, { images: new Float32Array(16), labels: Uint8Array.of(0, 1, 0, 1) });
      expect(() => new FedAvg({ model: opaque, clients, rounds: 1, clientsPerRound: 1, local: { epochs: 1, batchSize: 1, learningRate: 0.1 }, pool })).toThrow(/pool workers/);
    } finally {
      await pool.close();
    }
    expect(() => flModel(net, { inputs: 4, classes: 2, inputShape: [3] })).toThrow(PrivkitError);
    expect(() => flModel(net, { inputs: 4, classes: 1 })).toThrow(/classes/);
  });
});

describe('flModel in a pool', () => {
  const inputs = 12;
  const classes = 3;
  const net = () => tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [inputs], units: 5, activation: 'tanh' }), tfl.layers.dense({ units: classes, activation: 'softmax' })] });
  const images = Float32Array.from({ length: 40 * inputs }, (_, i) => Math.sin(1.7 * i));
  const labels = Uint8Array.from({ length: 40 }, (_, i) => i % classes);
  const seedOf = (k: number) => new Uint8Array(32).fill(k);
  const opts = { epochs: 2, batchSize: 4, learningRate: 0.3 };
  const workerUrl = new URL('../support/tfjs-pool-worker.mjs', import.meta.url);

  it('workers started from privkit/tfjs/worker train the clients bit for bit as the caller\'s thread', async () => {
    const model = flModel(net(), { inputs, classes });
    expect(model.spec).toMatchObject({ type: 'custom', name: 'tfjs', rebuild: { backend: 'cpu', inputShape: [inputs] } });
    const params = model.initParams();
    const tasks = splitClients(4, { images, labels }).map((client, k) => ({ ...client, seed: seedOf(30 + k) }));
    const pool = await createPool({ threads: 2, workerUrl });
    try {
      const deltas = await pool.localUpdates(model, params, tasks, opts);
      tasks.forEach((task, k) => {
        const expected = localUpdate(model, params, task.images, task.labels, { ...opts, seed: task.seed });
        expect(deltas.subarray(k * model.paramCount, (k + 1) * model.paramCount)).toEqual(expected);
      });
      // FedAvg with central DP: the same seeded run with and without the pool
      const run = async (withPool: boolean) => {
        const fedAvg = new FedAvg({ model, clients: splitClients(4, { images, labels }), rounds: 2, clientsPerRound: 2, local: opts, clipNorm: 1, noiseMultiplier: 1, initialParams: params, seed: seedOf(7), ...(withPool ? { pool } : {}) });
        for (let round = 0; round < 2; round++) await fedAvg.runRound();
        return fedAvg.params;
      };
      expect(await run(true)).toEqual(await run(false));
    } finally {
      await pool.close();
    }
  });

  it("the pool's default workers can not rebuild it: E_ARG naming the worker script to use", async () => {
    const model = flModel(net(), { inputs, classes });
    const pool = await createPool({ threads: 1 });
    try {
      const task = { images: images.subarray(0, 4 * inputs), labels: labels.subarray(0, 4), seed: seedOf(1) };
      await expect(pool.localUpdates(model, model.initParams(), [task], opts)).rejects.toMatchObject({ code: 'E_ARG', message: expect.stringMatching(/privkit\/tfjs\/worker/) });
    } finally {
      await pool.close();
    }
  });
});
