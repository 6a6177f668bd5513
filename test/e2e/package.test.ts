// The published package as a user receives it: `npm pack`, then the tarball installed into a fresh
// project. It ships the library only (no bench, examples or tests), every source map resolves to a
// file in the package, installing runs no script, and the installed package works from ESM and
// CommonJS (require of ESM, Node >= 20.19).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
/** Scripts npm runs when a package is installed. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

let work: string;
let installed: string;
let packedFiles: string[];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe('the npm package', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'privkit-pack-'));
    // dist/ is current (npm test builds first), so pack without running prepack's build again
    const [report] = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], root)) as [{ filename: string; files: { path: string }[] }];
    packedFiles = report.files.map((f) => f.path);
    const app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    npm(['install', '--offline', '--no-package-lock', join(work, report.filename)], app);
    installed = join(app, 'node_modules/privkit');
  }, 120_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('ships the library only', () => {
    expect(packedFiles).toContain('package.json');
    expect(packedFiles).toContain('LICENSE');
    expect(packedFiles).toContain('dist/src/index.js');
    expect(packedFiles).toContain('dist/src/pool/worker.js');
    const outside = packedFiles.filter((f) => !/^(dist\/src\/|src\/|README\.md$|LICENSE$|CHANGELOG\.md$|package\.json$)/.test(f));
    expect(outside).toEqual([]);
    expect(packedFiles.filter((f) => /(^|\/)(bench|examples|test)\//.test(f))).toEqual([]);
  });

  it('has no install scripts and no runtime dependencies', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string>; dependencies?: Record<string, string> };
    expect(INSTALL_SCRIPTS.filter((name) => manifest.scripts?.[name] !== undefined)).toEqual([]);
    expect(Object.keys(manifest.dependencies ?? {})).toEqual([]);
  });

  it('every source map resolves to a file in the package', () => {
    const maps = filesUnder(join(installed, 'dist')).filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(50);
    const missing = maps.flatMap((map) => {
      const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
      return sources.map((source) => join(dirname(map), source)).filter((source) => !existsSync(source)).map((source) => relative(installed, source));
    });
    expect(missing).toEqual([]);
  });

  it('installs no TensorFlow.js: privkit/tfjs needs its optional peer, which nothing else loads', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { peerDependenciesMeta?: Record<string, { optional?: boolean }> };
    expect(manifest.peerDependenciesMeta?.['@tensorflow/tfjs-core']?.optional).toBe(true);
    expect(manifest.peerDependenciesMeta?.['@tensorflow/tfjs-layers']?.optional).toBe(true);
    const app = join(work, 'app');
    expect(existsSync(join(app, 'node_modules/@tensorflow'))).toBe(false);
    const load = (entry: string) =>
      execFileSync(process.execPath, ['--input-type=module', '-e', `import('${entry}').then(() => console.log('loaded'), (e) => console.log(e.code))`], { cwd: app, encoding: 'utf8' }).trim();
    expect(load('privkit/tfjs')).toBe('ERR_MODULE_NOT_FOUND');
    expect(packedFiles).toContain('dist/src/tfjs/worker.js');
    expect(load('privkit/tfjs/worker')).toBe('ERR_MODULE_NOT_FOUND'); // exported, and needs the peer too
    for (const entry of ['privkit', 'privkit/dp', 'privkit/accounting', 'privkit/fl', 'privkit/pool']) expect(load(entry)).toBe('loaded');
  });

  it('works from ESM and from CommonJS', () => {
    const app = join(work, 'app');
    writeFileSync(join(app, 'esm.mjs'), `
      import { ready, l2Norms } from 'privkit';
      import { createPool } from 'privkit/pool';
      await ready();
      const pool = await createPool({ threads: 1 });
      console.log(l2Norms(new Float32Array([3, 4]), 1)[0], (await pool.sum(new Float32Array([1, 2, 3, 4]), 2)).join(','));
      await pool.close();
    `);
    writeFileSync(join(app, 'cjs.cjs'), `
      const { ready, l2Norms } = require('privkit');
      const { RdpAccountant } = require('privkit/accounting');
      ready().then(() => console.log(l2Norms(new Float32Array([6, 8]), 1)[0], new RdpAccountant().step({ noiseMultiplier: 1, sampleRate: 0.01, steps: 100 }).getEpsilon(1e-5).epsilon > 0));
    `);
    expect(execFileSync(process.execPath, ['esm.mjs'], { cwd: app, encoding: 'utf8' }).trim()).toBe('5 4,6');
    expect(execFileSync(process.execPath, ['cjs.cjs'], { cwd: app, encoding: 'utf8' }).trim()).toBe('10 true');
  });

  it('installs without the optional peers of privkit/server (ws, better-sqlite3, redis), which then says what to install', () => {
    const app = join(work, 'app');
    expect(existsSync(join(app, 'node_modules/ws'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/better-sqlite3'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/redis'))).toBe(false);
    writeFileSync(join(app, 'server.mjs'), `
      import { connect } from 'privkit/client';
      import { createCoordinator, createServer } from 'privkit/server';
      const task = { id: 't', model: { type: 'softmax-regression', inputs: 2, classes: 2 }, rounds: 1, clientsPerRound: 1,
        local: { epochs: 1, batchSize: 1, learningRate: 0.1 }, clipNorm: 1, noiseMultiplier: 1 };
      await createServer({ task, port: 0, dataDir: 'data' }).catch((e) => console.log(typeof connect, e.code, e.message));
      await createCoordinator({ redis: 'redis://127.0.0.1:9', task, dataDir: 'data' }).catch((e) => console.log(e.code, e.message));
    `);
    const [server, coordinator] = execFileSync(process.execPath, ['server.mjs'], { cwd: app, encoding: 'utf8' }).trim().split('\n');
    expect(server).toMatch(/^function E_ARG .*npm install (ws@8|better-sqlite3@12)/); // the first missing peer it loads
    expect(coordinator).toMatch(/^E_ARG .*npm install redis@6/);
  });
});
