// `npm run bench [suite ...]`: runs the benchmark suites (all by default, in this order) in one
// process; each prints its tables and writes bench/results/<suite>.json.
import { accountingSuite } from './accounting.js';
import { clusterSuite } from './cluster.js';
import { demoBrowserSuite } from './demo-browser.js';
import { desensitizeSuite } from './desensitize.js';
import { kernelsSuite } from './kernels.js';
import { noiseSuite } from './noise.js';
import { paillierSuite } from './paillier.js';
import { protectBrowserSuite } from './protect-browser.js';
import { protectSuite } from './protect.js';
import { prioSuite } from './prio.js';
import { secaggSuite } from './secagg.js';
import { serverScaleSuite, serverSuite } from './server.js';
import { tfjsSuite } from './tfjs.js';

const suites: Record<string, () => Promise<void>> = {
  kernels: kernelsSuite,
  accounting: accountingSuite,
  noise: noiseSuite,
  paillier: paillierSuite,
  secagg: secaggSuite,
  protect: protectSuite,
  'protect-browser': protectBrowserSuite,
  desensitize: desensitizeSuite,
  tfjs: tfjsSuite,
  prio: prioSuite,
  'prio-browser': () => demoBrowserSuite('prio-browser', ['prio']),
  server: serverSuite,
  'server-scale': serverScaleSuite,
  cluster: clusterSuite,
};

async function main(): Promise<void> {
  const chosen = process.argv.slice(2);
  for (const name of chosen) {
    if (!(name in suites)) throw new Error(`unknown suite "${name}"; suites: ${Object.keys(suites).join(', ')}`);
  }
  for (const name of chosen.length > 0 ? chosen : Object.keys(suites)) await suites[name]!();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
