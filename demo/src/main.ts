// The demo page: the environment line (browser, cores, cross-origin isolation, privkit version),
// the benchmark panel (bench-panel.ts), the federated training panel (train-panel.ts, `?train`),
// the DP-SGD panel of a TensorFlow.js model (tfjs-panel.ts, `?tfjs`) and the panel that joins a
// running privkit/server as a client (join-panel.ts).
import { setupBenchmark } from './bench-panel';
import { machine, PRIVKIT_VERSION } from './environment';
import { setupJoin } from './join-panel';
import { $ } from './panel';
import { setupTfjsTraining } from './tfjs-panel';
import { setupTraining } from './train-panel';

const params = new URLSearchParams(location.search);

function showEnvironment(): void {
  const { browser, cores, isolated } = machine();
  const badge = $<HTMLSpanElement>('#isolation');
  badge.textContent = isolated ? 'yes' : 'no';
  badge.className = `badge ${isolated ? 'ok' : 'warn'}`;
  $('#isolation-note').textContent = isolated
    ? 'SharedArrayBuffer is available: the pool reads shared inputs in place.'
    : 'SharedArrayBuffer is unavailable here (the server sends no COOP: same-origin and COEP: require-corp headers), ' +
      'so the pool copies its inputs to its workers and the results back. Everything runs; the pool is slower on small inputs.';
  $('#cores').textContent = String(cores ?? '?');
  $('#agent').textContent = browser;
  $('#version').textContent = PRIVKIT_VERSION;
}

showEnvironment();
setupBenchmark(params);
setupTraining(params);
setupTfjsTraining(params);
setupJoin();
