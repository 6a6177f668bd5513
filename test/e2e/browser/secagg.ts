// Browser fixture for the secure-aggregation tests of test/e2e/browser.test.ts: secure-aggregation
// clients that run in the page and talk to the Node aggregator through the function the test
// exposes as window.__secaggExchange (Playwright's page.exposeFunction, an in-process bridge that
// carries only the JSON text of wire-format messages).
import { ready } from 'privkit';
import { detectKeyAgreement } from 'privkit/secagg';
import { runClient, type ClientReport, type Exchange } from './secagg-round.js';

export interface SecAggPage {
  /** The key agreement WebCrypto offers here: 'X25519' or 'P-256'. */
  detectKeyAgreement(): Promise<string>;
  /** Runs the given clients concurrently through one round; rejects with the first client's error. */
  run(ids: string[]): Promise<ClientReport[]>;
}

declare global {
  interface Window {
    __secagg?: SecAggPage;
    /** Installed by the test (page.exposeFunction). */
    __secaggExchange?: Exchange;
  }
}

const exchange: Exchange = (id, text) => {
  if (window.__secaggExchange === undefined) return Promise.reject(new Error('window.__secaggExchange is not installed'));
  return window.__secaggExchange(id, text);
};

ready().then(
  () => {
    window.__secagg = {
      detectKeyAgreement,
      run: (ids) => Promise.all(ids.map((id) => runClient(id, exchange))),
    };
    document.getElementById('status')!.textContent = 'ready';
  },
  (error: unknown) => {
    document.getElementById('status')!.textContent = `failed: ${String(error)}`;
    console.error(error);
  },
);
