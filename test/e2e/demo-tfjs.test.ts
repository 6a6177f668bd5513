// End-to-end test of the demo page's DP-SGD panel (demo/src/tfjs-panel.ts): the static build
// (`npm run demo:build`) served by a plain Node file server, with the cross-origin isolation
// headers and without them, in headless Chromium. `?tfjs` trains the TensorFlow.js MLP on a few
// hundred digits for two epochs with privkit/tfjs's makePrivate, on tfjs's wasm backend on the
// isolated host and its cpu backend on the plain one, with the non-private comparison. The test
// checks accuracy above chance, and the epsilon the page reports after each epoch against
// makePrivate's own accountant in Node for the same configuration (model size, dataset size,
// expected batch size, epochs, target epsilon, delta, clip norm, accountant).
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Browser } from 'playwright-core';
import { makePrivate } from 'privkit/tfjs';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TFJS_RECIPE } from '../../demo/src/tfjs-protocol.js';
import { DELTA, MNIST_PIXELS } from '../../demo/src/train-protocol.js';
import { COI_HEADERS, launchChromium, openPage, repoRoot, requirePrerequisites, serveStatic } from './browser/harness.js';

/** A short seeded run: 400 digits, expected batches of 80 (5 steps an epoch), 2 epochs, a small hidden layer. */
const RUN = { epsilon: 4, epochs: 2, examples: 400, batch: 80, hidden: 32, seed: 1 };
/** Ten classes: chance is 10%. The floor sits well above it and below what the seeded runs measured. */
const ACCURACY_FLOOR = 0.3;

const HOSTS = [
  { name: 'with cross-origin isolation headers on the wasm backend', headers: COI_HEADERS, backend: 'wasm' },
  { name: 'without them on the cpu backend', headers: {}, backend: 'cpu' },
] as const;

let browser: Browser | undefined;
let outDir: string | undefined;
const servers: Server[] = [];
const urls = new Map<string, string>();
/** A failed setup (no Chromium, no dist/, a build error) is rethrown by every test, so each one fails rather than skips. */
let setupError: unknown;

beforeAll(async () => {
  try {
    requirePrerequisites();
    outDir = mkdtempSync(join(tmpdir(), 'privkit-demo-tfjs-'));
    await build({ configFile: join(repoRoot, 'demo/vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    for (const host of HOSTS) {
      const { server, url } = await serveStatic(outDir, host.headers);
      servers.push(server);
      urls.set(host.backend, url);
    }
    browser = await launchChromium();
  } catch (error) {
    setupError = error;
  }
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

/** The epsilon after each epoch by makePrivate's accountant in Node, for the page's configuration (the data's values do not enter it). */
async function expectedEpsilons(): Promise<number[]> {
  await tf.setBackend('cpu');
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ inputShape: [MNIST_PIXELS], units: RUN.hidden, activation: 'tanh' }), tfl.layers.dense({ units: 10, activation: 'softmax' })],
  });
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  const dp = makePrivate(model, {
    targetEpsilon: RUN.epsilon,
    delta: DELTA,
    maxGradNorm: 1,
    expectedBatchSize: RUN.batch,
    datasetSize: RUN.examples,
    epochs: RUN.epochs,
    accountant: 'pld',
  });
  const xs = tf.zeros([RUN.examples, MNIST_PIXELS]);
  const ys = tf.cast(tf.oneHot(tf.zeros([RUN.examples], 'int32'), 10), 'float32');
  const history = await dp.fit(xs, ys);
  tf.dispose([xs, ys]);
  model.dispose();
  return history.epochs.map((e) => e.epsilon);
}

describe.each(HOSTS)('the DP-SGD panel of the built demo served $name', ({ backend }) => {
  it('trains the tfjs MLP privately and without privacy, and reports the accountant\'s epsilon', async () => {
    if (setupError !== undefined) throw setupError;
    // The page states the recipe this test rebuilds in Node.
    expect(TFJS_RECIPE).toMatchObject({ maxGradNorm: 1, accountant: 'pld', activation: 'tanh' });
    const query = `?tfjs&tfjsBackend=${backend}&tfjsEpsilon=${RUN.epsilon}&tfjsEpochs=${RUN.epochs}&tfjsExamples=${RUN.examples}&tfjsBatch=${RUN.batch}&tfjsHidden=${RUN.hidden}&tfjsSeed=${RUN.seed}&tfjsBaseline=1`;
    const { page, problems } = await openPage(browser!, `${urls.get(backend)!}${query}`);
    try {
      await page.waitForSelector('#tfjs[data-status="done"], #tfjs[data-status="error"]', { timeout: 45_000 });
    } catch (error) {
      throw new Error(`the panel did not finish (status: ${await page.textContent('#tfjs-progress').catch(() => '?')}): ${String(error)}\n${problems.join('\n')}`);
    }
    if ((await page.getAttribute('#tfjs', 'data-status')) !== 'done') throw new Error(`the panel failed: ${await page.textContent('#tfjs-progress')}\n${problems.join('\n')}`);
    expect(await page.textContent('#tfjs-progress')).toMatch(/^Done: 2 epochs in [\d.]+ s\.$/);
    // The other panels did not start.
    expect(await page.getAttribute('#training', 'data-status')).toBe('idle');

    const rows = await page.$$eval('#tfjs-epochs-table tbody tr', (trs) =>
      trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.field ?? '', Number(td.dataset.value)]))),
    );
    const report = Object.fromEntries(await page.$$eval('#tfjs-report dd', (dds) => dds.map((dd) => [(dd as HTMLElement).dataset.field ?? '', (dd as HTMLElement).dataset.value ?? ''])));
    console.log(`demo DP-SGD panel, tfjs ${backend}: ${JSON.stringify(rows)}`);

    expect(report.backend).toBe(backend);
    expect(Number(report.model)).toBe(MNIST_PIXELS * RUN.hidden + RUN.hidden + RUN.hidden * 10 + 10);
    expect(rows.map((r) => r.epoch)).toEqual([1, 2]);
    const expected = await expectedEpsilons();
    for (const [k, r] of rows.entries()) {
      expect(Number.isFinite(r.epsilon) && r.epsilon > 0, `epoch ${k + 1} epsilon ${r.epsilon}`).toBe(true);
      expect(r.epsilon).toBeCloseTo(expected[k]!, 9);
      for (const field of ['ms', 'baselineMs']) expect(r[field], `epoch ${k + 1} ${field}`).toBeGreaterThan(0);
    }
    // Calibrated for the target after the last epoch: spent within it, and most of it.
    expect(rows[1]!.epsilon).toBeLessThanOrEqual(RUN.epsilon);
    expect(rows[1]!.epsilon).toBeGreaterThan(0.9 * RUN.epsilon);
    expect(Number(report.epsilon)).toBe(rows[1]!.epsilon);
    expect(await page.textContent('#tfjs-report [data-field="epsilon"]')).toContain(`at delta ${DELTA.toExponential()}`);
    expect(Number(report.accuracy)).toBeGreaterThanOrEqual(ACCURACY_FLOOR);
    expect(Number(report.baselineAccuracy)).toBeGreaterThanOrEqual(ACCURACY_FLOOR);
    expect(report.randomness).toBe(String(RUN.seed));
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
