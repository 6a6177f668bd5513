// Browser client of test/e2e/server-browser-clients.test.ts, bundled with esbuild: privkit/client's
// connect() with the browser's own WebSocket and WebCrypto (no WebSocket option, nothing of Node).
// The same bundle is the page script and, loaded again as a module Web Worker, the worker script:
// on the page, window.__serverClients.run(jobs) runs each job on the page itself or in a new worker
// and resolves with every client's report (its summary, its quantized inputs and its enrolled key),
// or rejects as soon as one fails.
import { connect, type ClientSummary } from 'privkit/client';
import { detectKeyAgreement, generateSigningKeyPair } from 'privkit/secagg';
import { serverClientData } from './server-client-data.js';

/** One client to run: where, against which server and task, with which token and data. */
export interface BrowserClientJob {
  where: 'page' | 'worker';
  url: string;
  taskId: string;
  token: string;
  /** The client's number (its data: serverClientData(client)). */
  client: number;
  minParticipants: number;
  /** The client's own floor on the noise plan (required for SecAgg tasks). */
  minNoiseMultiplier: number;
}

/** What a finished browser client reports (plain data: it crosses postMessage and page.evaluate). */
export interface BrowserClientReport {
  where: 'page' | 'worker';
  /** The session's summary, or the message of the error that ended it (a PrivkitError's: "CODE: ..."). */
  summary?: ClientSummary;
  error?: string;
  /** Each round's quantized, noised input (before masking). */
  inputs: { round: number; input: number[] }[];
  /** The Ed25519 public key the client enrolled. */
  signingPublicKey: number[];
  /** The key agreement privkit/secagg found in this realm's WebCrypto ('X25519' or 'P-256'). */
  keyAgreement?: string;
  /** Whether this realm has Node's Buffer or process (it must not: a real browser realm). */
  nodeGlobals: boolean;
}

async function runClient(job: BrowserClientJob, where: 'page' | 'worker'): Promise<BrowserClientReport> {
  const report: BrowserClientReport = { where, inputs: [], signingPublicKey: [], nodeGlobals: 'Buffer' in globalThis || 'process' in globalThis };
  try {
    report.keyAgreement = await detectKeyAgreement();
    const signingKey = await generateSigningKeyPair();
    report.signingPublicKey = Array.from(signingKey.publicKey);
    const session = connect({
      url: job.url,
      taskId: job.taskId,
      token: job.token,
      data: serverClientData(job.client),
      minParticipants: job.minParticipants,
      minNoiseMultiplier: job.minNoiseMultiplier,
      signingKey,
      onInput: ({ round, input }) => void report.inputs.push({ round, input: Array.from(input) }),
    });
    report.summary = await session.done;
  } catch (error) {
    report.error = error instanceof Error ? error.message : String(error); // a PrivkitError's message starts with its code
  }
  return report;
}

/** Runs a job in a new module worker loading this same bundle. */
function inWorker(job: BrowserClientJob): Promise<BrowserClientReport> {
  const worker = new Worker(import.meta.url, { type: 'module' });
  return new Promise<BrowserClientReport>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<BrowserClientReport>) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
    worker.postMessage(job);
  }).finally(() => worker.terminate());
}

declare global {
  interface Window {
    __serverClients?: { run(jobs: BrowserClientJob[]): Promise<BrowserClientReport[]> };
  }
}

if (typeof document === 'undefined') {
  // a Web Worker: one job per worker
  const scope = globalThis as unknown as { onmessage: (event: MessageEvent<BrowserClientJob>) => void; postMessage(report: BrowserClientReport): void };
  scope.onmessage = (event) => void runClient(event.data, 'worker').then((report) => scope.postMessage(report));
} else {
  // rejects at the first client that fails (the others would wait for the task to end)
  const run = (job: BrowserClientJob) => (job.where === 'worker' ? inWorker(job) : runClient(job, 'page'));
  const checked = (job: BrowserClientJob) => run(job).then((report) => (report.error === undefined ? report : Promise.reject(new Error(`${job.where} client ${job.client}: ${report.error}`))));
  window.__serverClients = { run: (jobs) => Promise.all(jobs.map(checked)) };
}
