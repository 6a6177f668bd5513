// End-to-end test of the demo page's join panel (demo/src/join-panel.ts): the built demo (vite build,
// served by vite preview with the demo's COOP/COEP headers) joins a privkit/server task on a random
// 127.0.0.1 port as a real browser client (privkit/client in the panel's Web Worker, with Chromium's
// own WebSocket), next to three Node clients over `ws`. A token the server never issued: the panel
// shows the session's E_AUTH. An issued one, for a central-DP task and for a SecAgg+ task: the panel
// shows this client's phases as they happen (recorded from the page), every round result as the
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
import { createServer, type PrivkitServer, type TaskOptions } from 'privkit/server';
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

/** Starts recording every distinct text the panel's phase line shows, in order; returns a reader of them. */
async function recordPhases(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { __phases: string[] }).__phases = seen;
    new MutationObserver(() => {
      const phase = document.querySelector('#join-state [data-field="phase"]')?.textContent;
      if (phase !== undefined && phase !== null && phase !== seen.at(-1)) seen.push(phase);
    }).observe(document.querySelector('#join-state')!, { childList: true });
  });
  return () => page.evaluate(() => (window as unknown as { __phases: string[] }).__phases);
}

/** Waits until the panel's session has ended ('done' or 'error') and returns its status. */
async function ended(page: Page, timeout: number): Promise<string> {
  await page.waitForSelector('#join[data-status="done"], #join[data-status="error"]', { timeout });
  return (await page.getAttribute('#join', 'data-status'))!;
}

/** The panel's state lines: field -> [text, data-value]. */
async function stateLines(page: Page): Promise<Record<string, [string, string]>> {
  const lines = await page.$$eval('#join-state dd', (dds) => dds.map((dd) => [(dd as HTMLElement).dataset.field!, [dd.textContent ?? '', (dd as HTMLElement).dataset.value ?? ''] as [string, string]] as const));
  return Object.fromEntries(lines);
}

/** The rows of the panel's round table: field -> data-value. */
function roundRows(page: Page): Promise<Record<string, string>[]> {
  return page.$$eval('#join-rounds tbody tr', (trs) => trs.map((tr) => Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.field!, td.dataset.value!]))));
}

/** A task of ROUNDS rounds that samples every checked-in client (the page's part is then known). */
function task(id: string, secure: boolean): TaskOptions {
  const common = { id, model: MODEL, local: { epochs: 1, batchSize: 10, learningRate: 0.1 }, clipNorm: 1, noiseMultiplier: 1, rounds: ROUNDS, clientsPerRound: NODE_CLIENTS + 1, trainMs: 15_000 };
  return secure ? { ...common, aggregator: 'secagg', neighbours: 2, phaseMs: 10_000 } : common;
}

/**
 * Starts a server of `options` on a random port, joins it from the panel with an issued token (and
 * `floors`, for secure aggregation) and from NODE_CLIENTS Node clients, and returns what the page and
 * the server showed once the task is finished.
 */
async function joinTask(options: TaskOptions, floors?: { minParticipants: number; minNoiseMultiplier: number }) {
  const dataDir = mkdtempSync(join(tmpdir(), 'privkit-demo-join-ledger-'));
  dirs.push(dataDir);
  const server: PrivkitServer = await createServer({ port: 0, dataDir, task: options });
  try {
    const tokens = server.issueTokens(NODE_CLIENTS + 1);
    const { page, problems } = await openPage(browser!, pageUrl);
    const phases = await recordPhases(page);
    if (floors !== undefined) {
      await page.fill('#join-min-participants', String(floors.minParticipants));
      await page.fill('#join-min-noise', String(floors.minNoiseMultiplier));
    }
    await joinFromPanel(page, server.url, options.id, tokens[0]!.token);
    const nodeSessions = tokens
      .slice(1)
      .map(({ token }, c) => connect({ url: server.url, taskId: options.id, token, data: nodeClientData(c), WebSocket: WebSocket as never, ...floors }));
    const status = await ended(page, 30_000);
    expect(status, (await page.textContent('#join-progress')) ?? '').toBe('done');
    const final = await server.finished;
    const nodeSummaries = await Promise.all(nodeSessions.map((s) => s.done));
    return { page, problems, final, tokens, nodeSummaries, rows: await roundRows(page), state: await stateLines(page), phases: await phases() };
  } finally {
    await server.close();
  }
}

/** The checks of a finished task: two released rounds of all clients, shown on the page as the server reported them, with the browser client trained in each. */
function expectRoundsShown({ final, nodeSummaries, rows, state }: Awaited<ReturnType<typeof joinTask>>): void {
  expect(final.rounds.map((r) => [r.round, r.status, r.included])).toEqual([
    [1, 'released', NODE_CLIENTS + 1],
    [2, 'released', NODE_CLIENTS + 1],
  ]);
  expect(nodeSummaries.map((s) => s.trainedRounds)).toEqual(Array.from({ length: NODE_CLIENTS }, () => [1, 2]));
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
  expect(final.epsilon).toBeGreaterThan(0);
  expect(Number(rows.at(-1)!.epsilon)).toBe(final.epsilon);
  expect(state.epsilon).toEqual([`${final.epsilon.toFixed(3)} after round ${ROUNDS} (at the task's delta)`, String(final.epsilon)]);
  expect(state.withheld).toEqual(['none', '0']);
  expect(state.round).toEqual([String(ROUNDS), String(ROUNDS)]);
  expect(state.error).toBeUndefined();
  expect(state.connection![0]).toBe('closed by the server: the task is finished');
}

describe('the demo page joins a privkit server', () => {
  it('shows the E_AUTH of a token the server never issued', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'privkit-demo-join-ledger-'));
    dirs.push(dataDir);
    const server = await createServer({ port: 0, dataDir, task: task('refused', false) });
    try {
      const { page, problems } = await openPage(browser!, pageUrl);
      await joinFromPanel(page, server.url, 'refused', 'not-a-token-the-server-issued');
      expect(await ended(page, 15_000)).toBe('error');
      expect((await stateLines(page)).error).toEqual([expect.stringMatching(/^E_AUTH: the server refused this client/), 'E_AUTH']);
      expect(await page.textContent('#join-progress')).toMatch(/^Failed: E_AUTH: /);
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await server.close();
    }
  });

  it('joins a central-DP task and shows each round live: the phases, the results and the epsilon spent', async () => {
    const shown = await joinTask(task('central', false));
    expectRoundsShown(shown);
    expect(shown.state.client![0]).toBe(`${shown.tokens[0]!.clientId} (central DP)`);
    for (const round of [1, 2]) {
      expect(shown.phases).toEqual(
        expect.arrayContaining([
          `checked in, waiting to be sampled for round ${round}`,
          `sampled for round ${round}: training on this tab's digits`,
          `update for round ${round} uploaded, waiting for the result`,
        ]),
      );
    }
    expect(await shown.page.textContent('#join-progress')).toBe(`The task is finished: ${ROUNDS} round results, this client trained in ${ROUNDS} of them.`);
    expect(shown.problems).toEqual([]);
    await shown.page.close();
  });

  it('joins a SecAgg+ task with its own floors and shows each protocol phase of each round', async () => {
    // each client's floor: the task plans noise multiplier 1 over 4 clients, i.e. sqrt(3 / 4) = 0.87 over 3
    const shown = await joinTask(task('secure', true), { minParticipants: 3, minNoiseMultiplier: 0.8 });
    expectRoundsShown(shown);
    expect(shown.state.client![0]).toBe(`${shown.tokens[0]!.clientId} (secure aggregation, SecAgg+)`);
    for (const round of [1, 2]) {
      expect(shown.phases).toEqual(
        expect.arrayContaining([
          `sampled for round ${round}: training on this tab's digits`,
          `SecAgg+ phase 1 of 5 of round ${round}: keys advertised`,
          `SecAgg+ phase 2 of 5 of round ${round}: encrypted key shares sent`,
          `SecAgg+ phase 3 of 5 of round ${round}: masked input sent`,
          `SecAgg+ phase 4 of 5 of round ${round}: survivor set signed`,
          `SecAgg+ phase 5 of 5 of round ${round}: unmasking shares sent`,
        ]),
      );
    }
    expect(shown.phases).toContain('signing key enrolled');
    expect(shown.problems).toEqual([]);
    await shown.page.close();
  });
});
