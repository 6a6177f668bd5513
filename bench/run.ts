// `npm run bench [suite ...]`: runs the benchmark suites (all by default, in this order) in one
// process; each prints its tables and writes bench/results/<suite>.json.
// Each suite's module is imported only when it runs: what a module loads (datasets, tfjs, browsers' helpers:
// ~90 MB of live heap for all of them) would otherwise stay in the heap of every suite, and each full garbage
// collection of a suite measured by CPU time (server-scale) would mark it too.
const suites: Record<string, () => Promise<void>> = {
  kernels: async () => (await import('./kernels.js')).kernelsSuite(),
  accounting: async () => (await import('./accounting.js')).accountingSuite(),
  noise: async () => (await import('./noise.js')).noiseSuite(),
  paillier: async () => (await import('./paillier.js')).paillierSuite(),
  secagg: async () => (await import('./secagg.js')).secaggSuite(),
  protect: async () => (await import('./protect.js')).protectSuite(),
  'protect-browser': async () => (await import('./protect-browser.js')).protectBrowserSuite(),
  desensitize: async () => (await import('./desensitize.js')).desensitizeSuite(),
  tfjs: async () => (await import('./tfjs.js')).tfjsSuite(),
  prio: async () => (await import('./prio.js')).prioSuite(),
  'prio-browser': async () => (await import('./demo-browser.js')).demoBrowserSuite('prio-browser', ['prio']),
  server: async () => (await import('./server.js')).serverSuite(),
  'server-scale': async () => (await import('./server.js')).serverScaleSuite(),
  cluster: async () => (await import('./cluster.js')).clusterSuite(),
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
