// privkit/client in headless Chromium against privkit/server over 127.0.0.1 (random ports): three
// browser clients (two in module Web Workers, one on the page; the page script is bundled with
// esbuild and uses the browser's own WebSocket and WebCrypto Ed25519/X25519) and three Node clients
// (over `ws`) enrol their signing keys and complete two SecAgg+ rounds (6 clients, 4 neighbours each).
// Checked against the server's ledger (SQLite, read after the task): every round released with all 6
// updates, the browser clients' enrolled keys bound to their ids, and each released model equal to
// the previous one plus eta / k times the inverse rotation of the sum of all six clients' quantized
// inputs (the browser clients' included), as the browser and Node clients report those inputs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import Database from 'better-sqlite3';
import * as esbuild from 'esbuild';
import type { Browser } from 'playwright-core';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type WebSocketLike } from 'privkit/client';
import { dequantize, inverseRandomizedHadamard, planDistributedDp } from 'privkit/secagg';
import { createServer, decodeFrame, type Message, type PrivkitServer } from 'privkit/server';
import { launchChromium, openPage, privkitAliases, requirePrerequisites, serveStatic } from './browser/harness.js';
import type { BrowserClientJob, BrowserClientReport } from './browser/server-client.js';
import { serverClientData, serverClientModel } from './browser/server-client-data.js';

const CLIENTS = 6;
const PARAMS = 10; // softmax regression, 4 inputs, 2 classes
const BITS = 20;
/** Each client's floor on the noise plan: the task plans noiseMultiplier 1 over minUpdates 4, which is 1 x sqrt(3 / 4) = 0.87 over minParticipants 3. */
const MIN_NOISE_MULTIPLIER = 0.8;

let browser: Browser | undefined;
let pages: Server | undefined;
let pageUrl: string;
const dirs: string[] = [];

beforeAll(async () => {
  requirePrerequisites();
  const outDir = mkdtempSync(join(tmpdir(), 'privkit-browser-clients-'));
  dirs.push(outDir);
  const privkit: esbuild.Plugin = {
    name: 'privkit-dist',
    setup(build) {
      build.onResolve({ filter: /^privkit(\/|$)/ }, ({ path }) => {
        const alias = privkitAliases.find(({ find }) => find.test(path));
        return alias === undefined ? undefined : { path: alias.replacement };
      });
    },
  };
  const bundle = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./browser/server-client.ts', import.meta.url))],
    outfile: join(outDir, 'client.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    plugins: [privkit],
    metafile: true,
    logLevel: 'warning',
  });
  // privkit/client bundles for a page from privkit alone: no ws, no Node built-in, no shim
  const foreign = Object.keys(bundle.metafile.inputs).filter((input) => !/^(dist\/src|test\/e2e\/browser)\//.test(input));
  if (foreign.length > 0) throw new Error(`the browser bundle pulled in ${foreign.join(', ')}`);
  writeFileSync(join(outDir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>privkit/client</title><link rel="icon" href="data:,"><script type="module" src="/client.js"></script>');
  ({ server: pages, url: pageUrl } = await serveStatic(outDir, {}));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (pages === undefined ? resolve(undefined) : pages.close(resolve)));
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

/** `ws`'s WebSocket, recording every message the server sends (for the rounds' rotation seeds). */
function recordingSocket(received: Message[]): new (url: string) => WebSocketLike {
  return class extends (WebSocket as unknown as new (url: string) => WebSocketLike) {
    #onmessage: WebSocketLike['onmessage'] = null;
    override set onmessage(handler: WebSocketLike['onmessage']) {
      this.#onmessage = handler;
      super.onmessage = (event) => {
        received.push(decodeFrame(new Uint8Array(event.data as ArrayBuffer)).message);
        handler?.(event);
      };
    }
    override get onmessage(): WebSocketLike['onmessage'] {
      return this.#onmessage;
    }
  };
}

describe('privkit/client in Chromium against privkit/server', () => {
  it('3 Chromium clients (2 Web Workers, 1 page) and 3 Node clients complete 2 SecAgg+ rounds; the released models are the sums of all their inputs', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'privkit-browser-ledger-'));
    dirs.push(dataDir);
    const server: PrivkitServer = await createServer({
      port: 0,
      dataDir,
      messagesPerSecond: 1000,
      task: {
        id: 'browsers',
        model: serverClientModel,
        local: { epochs: 1, batchSize: 2, learningRate: 0.2 },
        clipNorm: 1,
        noiseMultiplier: 1,
        aggregator: 'secagg',
        bits: BITS,
        rounds: 2,
        clientsPerRound: CLIENTS,
        minCheckIns: CLIENTS,
        minUpdates: 4,
        neighbours: 4,
        trainMs: 15_000,
        phaseMs: 8_000,
      },
    });
    const tokens = Array.from({ length: CLIENTS }, () => server.issueToken());
    const { page, problems } = await openPage(browser!, pageUrl);
    await page.waitForFunction(() => window.__serverClients !== undefined, null, { timeout: 20_000 });
    const where = ['worker', 'worker', 'page'] as const;
    const jobs: BrowserClientJob[] = where.map((w, c) => ({ where: w, url: server.url, taskId: 'browsers', token: tokens[c]!.token, client: c, minParticipants: 3, minNoiseMultiplier: MIN_NOISE_MULTIPLIER }));
    const browserRun = page.evaluate((given) => window.__serverClients!.run(given), jobs);
    // the Node clients 3..5 over ws (Node 20 has no global WebSocket)
    const received: Message[] = [];
    const nodeInputs: { round: number; input: Uint32Array }[] = [];
    const nodeSessions = [3, 4, 5].map((c) =>
      connect({
        url: server.url,
        taskId: 'browsers',
        token: tokens[c]!.token,
        data: serverClientData(c),
        WebSocket: (c === 3 ? recordingSocket(received) : WebSocket) as never,
        minParticipants: 3,
        minNoiseMultiplier: MIN_NOISE_MULTIPLIER,
        onInput: (q) => void nodeInputs.push(q),
      }),
    );
    // a client that fails ends the test with its error (the task would wait for its check-in)
    const untilFailure = (done: Promise<unknown>) => done.then(() => new Promise<never>(() => undefined));
    const final = await Promise.race([server.finished, untilFailure(browserRun), ...nodeSessions.map((s) => untilFailure(s.done))]);
    const reports: BrowserClientReport[] = await browserRun;
    const nodeSummaries = await Promise.all(nodeSessions.map((s) => s.done));
    const status = (await (await fetch(`${server.url.replace(/^ws/, 'http')}/task`)).json()) as typeof final;
    await server.close();

    // the browser clients ran in a browser realm, finished both rounds and refused nothing
    expect(reports.map((r) => [r.where, r.error, r.nodeGlobals, r.keyAgreement])).toEqual(where.map((w) => [w, undefined, false, 'X25519']));
    for (const [c, report] of reports.entries()) {
      expect(report.summary!.clientId).toBe(tokens[c]!.clientId);
      expect(report.summary!.trainedRounds).toEqual([1, 2]);
      expect(report.summary!.refusedRounds).toEqual([]);
      expect(report.summary!.results.map((r) => [r.round, r.status, r.included])).toEqual([
        [1, 'released', CLIENTS],
        [2, 'released', CLIENTS],
      ]);
      expect(report.inputs.map((q) => q.round)).toEqual([1, 2]);
    }
    expect(nodeSummaries.map((s) => s.trainedRounds)).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    expect(problems).toEqual([]);

    // the task status over HTTP and the ledger agree: two released rounds of all six clients
    expect(final.rounds.map((r) => [r.round, r.status, r.sampled, r.included, r.modelVersion])).toEqual([
      [1, 'released', CLIENTS, CLIENTS, 1],
      [2, 'released', CLIENTS, CLIENTS, 2],
    ]);
    expect(status.rounds).toEqual(final.rounds);
    const ledger = new Database(join(dataDir, 'privkit-ledger.sqlite'), { readonly: true });
    try {
      const keys = ledger.prepare('SELECT client_id, public_key FROM signing_keys WHERE task_id = ?').all('browsers') as { client_id: string; public_key: Uint8Array }[];
      const enrolled = new Map(keys.map((k) => [k.client_id, Array.from(k.public_key)]));
      expect(enrolled.size).toBe(CLIENTS);
      for (const [c, report] of reports.entries()) expect(enrolled.get(tokens[c]!.clientId)).toEqual(report.signingPublicKey);
      const rounds = ledger.prepare('SELECT round, status, included FROM rounds WHERE task_id = ? ORDER BY round').all('browsers');
      expect(rounds).toEqual([
        { round: 1, status: 'released', included: CLIENTS },
        { round: 2, status: 'released', included: CLIENTS },
      ]);
      const models = (ledger.prepare('SELECT version, params FROM models WHERE task_id = ? ORDER BY version').all('browsers') as { version: number; params: Uint8Array }[]).map(
        ({ params }) => new Float32Array(new Uint8Array(params).buffer),
      );
      expect(models.length).toBe(3);
      // each released model: the previous one plus eta / k times the inverse rotation of the dequantized sum of all six inputs
      const plan = planDistributedDp({ clipNorm: 1, dimension: PARAMS, clients: CLIENTS, noiseClients: 4, noiseMultiplier: 1, bits: BITS });
      for (const round of [1, 2]) {
        const inputs = [...reports.flatMap((r) => r.inputs), ...nodeInputs].filter((q) => q.round === round);
        expect(inputs.length).toBe(CLIENTS);
        const sum = new Uint32Array(plan.dimension);
        for (const { input } of inputs) {
          for (let j = 0; j < sum.length; j++) sum[j] = (sum[j]! + input[j]!) % 2 ** BITS;
        }
        const seed = received.flatMap((m) => (m.type === 'secagg-task' && m.round === round ? [m.rotationSeed] : []))[0]!;
        const step = inverseRandomizedHadamard(dequantize(sum, { scale: plan.scale, bits: BITS }), seed, PARAMS);
        const expected = models[round - 1]!.slice();
        for (let j = 0; j < PARAMS; j++) expected[j] += (1 / CLIENTS) * step[j]!;
        expect(models[round]).toEqual(expected);
      }
    } finally {
      ledger.close();
    }
  });
});
