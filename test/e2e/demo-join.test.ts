// End-to-end test of the demo page's join panel (demo/src/join-panel.ts): the built demo (vite build,
// served by vite preview with the demo's COOP/COEP headers) joins a privkit/server task on a random
// 127.0.0.1 port as a real browser client (privkit/client in the panel's Web Worker, with Chromium's
// own WebSocket), next to three Node clients over `ws`. First a token the server never issued: the
// panel shows the session's E_AUTH. Then an issued one: the panel shows every round result as the
// server broadcasts it (round, outcome, participants, epsilon, this client's part), which must match
// the server's ledger, and the session's end when the server finishes the task.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build, type PreviewServer } from 'vite';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'privkit/client';
import { createServer, type PrivkitServer } from 'privkit/server';
import { launchChromium, openPage, repoRoot, requirePrerequisites, startPreview } from './browser/harness.js';

const configFile = join(repoRoot, 'demo/vite.config.ts');
const NODE_CLIENTS = 3;
const ROUNDS = 2;
/** The panel's client holds MNIST digits, so the task's model takes 784 inputs and 10 classes. */
const MODEL = { type: 'softmax-regression', inputs: 784, classes: 10 } as const;

let browser: Browser | undefined;
let previewServer: PreviewServer | undefined;
let pageUrl: string;
const dirs: string[] = [];

beforeAll(async () => {
  requirePrerequisites();
  const outDir = mkdtempSync(join(tmpdir(), 'privkit-demo-join-'));
  dirs.push(outDir);
  await build({ configFile, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  ({ server: previewServer, url: pageUrl } = await startPreview({ configFile, build: { outDir } }));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await previewServer?.close();
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

/** Node client `c`'s 20 samples: 784 features in [0, 1], labels 0-9. */
function nodeClientData(c: number): { images: Float32Array; labels: Uint8Array } {
  const labels = Uint8Array.from({ length: 20 }, (_, i) => (i + c) % 10);
  const images = Float32Array.from({ length: 20 * 784 }, (_, k) => 0.5 + 0.5 * Math.sin(k * (c + 1) + labels[Math.floor(k / 784)]!));
  return { images, labels };
}

/** Fills the panel's form and presses Join. */
async function joinFromPanel(page: Page, url: string, taskId: string, token: string): Promise<void> {
  await page.fill('#join-url', url);
  await page.fill('#join-task', taskId);
  await page.fill('#join-token', token);
  await page.fill('#join-digits', '50');
  await page.click('#join-start');
}

/** Waits until the panel's session has ended ('done' or 'error') and returns its status. */
async function ended(page: Page, timeout: number): Promise<string> {
  await page.waitForSelector('#join[data-status="done"], #join[data-status="error"]', { timeout });
  return (await page.getAttribute('#join', 'data-status'))!;
}

/** The panel's state lines: field -> [text, data-value]. */
async function stateLines(page: Page): Promise<Record<string, [string, string]>> {
  const lines = await page.$$eval('#join-state dd', (dds) => dds.map((dd) => [(dd as HTMLElement).dataset.field!, [dd.textContent ?? '', (dd as HTMLElement).dataset.value ?? '']] as const));
  return Object.fromEntries(lines);
}

describe('the demo page joins a privkit server', () => {
  it('shows E_AUTH for a token the server never issued, then joins with an issued one and shows every round live with its epsilon', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'privkit-demo-join-ledger-'));
    dirs.push(dataDir);
    const server: PrivkitServer = await createServer({
      port: 0,
      dataDir,
      task: {
        id: 'join',
        model: MODEL,
        local: { epochs: 1, batchSize: 10, learningRate: 0.1 },
        clipNorm: 1,
        noiseMultiplier: 1,
        rounds: ROUNDS,
        clientsPerRound: NODE_CLIENTS + 1, // every checked-in client is sampled: the page's part is known
        trainMs: 15_000,
      },
    });
    try {
      const tokens = server.issueTokens(NODE_CLIENTS + 1);
      const { page, problems } = await openPage(browser!, pageUrl);

      await joinFromPanel(page, server.url, 'join', 'not-a-token-the-server-issued');
      expect(await ended(page, 15_000)).toBe('error');
      expect((await stateLines(page)).error).toEqual([expect.stringMatching(/^E_AUTH: the server refused this client/), 'E_AUTH']);
      expect(await page.textContent('#join-progress')).toMatch(/^Failed: E_AUTH: /);

      await joinFromPanel(page, server.url, 'join', tokens[0]!.token);
      const nodeSessions = tokens.slice(1).map(({ token }, c) => connect({ url: server.url, taskId: 'join', token, data: nodeClientData(c), WebSocket: WebSocket as never }));
      const status = await ended(page, 30_000);
      const final = await server.finished;
      const nodeSummaries = await Promise.all(nodeSessions.map((s) => s.done));
      expect(status, (await page.textContent('#join-progress')) ?? '').toBe('done');

      // the server's account of the task: two rounds, each released with all four updates
      expect(final.rounds.map((r) => [r.round, r.status, r.included])).toEqual([
        [1, 'released', NODE_CLIENTS + 1],
        [2, 'released', NODE_CLIENTS + 1],
      ]);
      expect(nodeSummaries.map((s) => s.trainedRounds)).toEqual(Array.from({ length: NODE_CLIENTS }, () => [1, 2]));
      // the page showed each round as the server reported it, with this browser client trained in it
      const rows = await page.$$eval('#join-rounds tbody tr', (trs) =>
        trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.field!, td.dataset.value!]))),
      );
      expect(rows).toEqual(
        final.rounds.map((r) => ({
          round: String(r.round),
          status: 'released',
          included: String(NODE_CLIENTS + 1),
          modelVersion: String(r.modelVersion),
          epsilon: String(r.epsilonAfter),
          part: 'uploaded',
        })),
      );
      expect(Number(rows.at(-1)!.epsilon)).toBeGreaterThan(0);
      expect(Number(rows.at(-1)!.epsilon)).toBe(final.epsilon);
      const state = await stateLines(page);
      expect(state.client![0]).toBe(`${tokens[0]!.clientId} (central DP)`);
      expect(state.epsilon).toEqual([`${final.epsilon.toFixed(3)} after round ${ROUNDS} (at the task's delta)`, String(final.epsilon)]);
      expect(state.withheld).toEqual(['none', '0']);
      expect(state.error).toBeUndefined();
      expect(await page.textContent('#join-progress')).toBe(`The task is finished: ${ROUNDS} round results, this client trained in ${ROUNDS} of them.`);
      expect(problems).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
