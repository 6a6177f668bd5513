// `npm run size`: what a browser app pays for privkit. Builds tiny apps with Vite (minified, no
// plugin) against the built package (dist/, from `npm run build`), each importing one kernel, the
// pool or one entry point, runs each in headless Chromium (Debian's, through playwright-core) until
// it has computed its result, and prints the JavaScript it loaded there, minified and gzipped
// (level 9, file by file), beside everything the build emitted (chunks an app never loads
// included). The pool apps are built twice: with Vite's defaults, where the pool's worker is one
// classic-script file holding every family the registry can load, and with `worker.format: 'es'`,
// where the worker loads the families it runs as separate chunks. `--markdown` prints the table as
// the README shows it; `--files` lists the files each app loaded. buildApp is also used by
// test/wasm/modules.test.ts.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, preview } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = '/usr/bin/chromium';

/**
 * Builds an app whose main module is `source` (ES module code importing 'privkit/...', loaded by an
 * index.html) with Vite, workers in Vite's default format or `worker` ('es'), in a new temporary
 * folder where `privkit` is this package. Returns the folder (the build is in its out/); the caller
 * removes it.
 */
async function buildInTemp(source, worker) {
  const dir = mkdtempSync(join(tmpdir(), 'privkit-size-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules/privkit'), 'dir');
    writeFileSync(join(dir, 'main.js'), source);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n');
    await build({ root: dir, configFile: false, logLevel: 'silent', worker: worker && { format: worker }, build: { outDir: join(dir, 'out') } });
    return dir;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** The files of a build: their paths in out/ and their bytes. */
const builtFiles = (dir) => listFiles(join(dir, 'out')).map((path) => ({ name: relative(join(dir, 'out'), path), bytes: readFileSync(path) }));

/** Builds an app as buildInTemp does and returns the files of the build. */
export async function buildApp(source, { worker } = {}) {
  const dir = await buildInTemp(source, worker);
  try {
    return builtFiles(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** The apps of the table: name, main module (each computes with what it imports and logs 'done'), Vite's worker format. */
// privkit/server is left out: it is Node-only (node:http, node:crypto, ws, better-sqlite3) and never bundled for a page.
const ENTRY_POINTS = ['privkit', 'privkit/dp', 'privkit/accounting', 'privkit/pool', 'privkit/paillier', 'privkit/secagg', 'privkit/fl', 'privkit/audit', 'privkit/protect', 'privkit/tfjs', 'privkit/prio', 'privkit/client'];
const POOL_APP = `import { ready, clipAndSum } from 'privkit';
import { createPool } from 'privkit/pool';
await ready();
const pool = await createPool({ threads: 1 });
const x = Float32Array.from({ length: 8 }, (_, i) => i);
const [sync, pooled] = [clipAndSum(x, 2, 1), await pool.clipAndSum(x, 2, 1)];
await pool.close();
console.log(sync.sum.join() === pooled.sum.join() ? 'done' : 'pooled and sync results differ');`;
export const APPS = [
  [
    '`import { clipAndSum } from privkit`',
    `import { ready, clipAndSum } from 'privkit';
await ready();
console.log(clipAndSum(new Float32Array(8), 2, 1).sum.length === 4 ? 'done' : 'wrong result');`,
  ],
  ['`clipAndSum` on the pool (Vite defaults)', POOL_APP],
  ["`clipAndSum` on the pool (`worker.format: 'es'`)", POOL_APP, 'es'],
  ...ENTRY_POINTS.map((entry) => [
    `\`import * from ${entry}\`${entry === 'privkit/pool' ? ' (no pool started)' : ''}`,
    `import { ready } from 'privkit';
import * as entry from '${entry}';
await ready();
console.log(Object.keys(entry).length > 0 ? 'done' : 'nothing exported');`,
  ]),
];

const gzipBytes = (bytes) => gzipSync(bytes, { level: 9 }).length;
const isCode = (name) => /\.(m?js|wasm)$/.test(name);

/** Serves the built app, opens it in Chromium and returns the names of the code files the page and its workers loaded. */
async function loadedFiles(page, dir) {
  const server = await preview({ root: dir, configFile: false, logLevel: 'silent', build: { outDir: join(dir, 'out') }, preview: { host: '127.0.0.1', port: 0 } });
  try {
    const loaded = new Set();
    page.context().on('request', (request) => loaded.add(basename(new URL(request.url()).pathname)));
    const done = new Promise((resolve, reject) => {
      page.on('console', (message) => {
        if (message.type() === 'log') (message.text() === 'done' ? resolve : reject)(new Error(`the app said: ${message.text()}`));
      });
      page.on('pageerror', reject);
    });
    await page.goto(server.resolvedUrls.local[0]);
    await done;
    return loaded;
  } finally {
    await server.close();
  }
}

async function main() {
  if (!existsSync(join(root, 'dist/src/index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
  const markdown = process.argv.includes('--markdown');
  try {
    if (markdown) console.log('| app | loaded, gzip | loaded, minified | emitted, gzip |\n| --- | ---: | ---: | ---: |');
    for (const [name, source, worker] of APPS) {
      const dir = await buildInTemp(source, worker);
      try {
        const files = builtFiles(dir);
        const page = await (await browser.newContext()).newPage();
        const loaded = await loadedFiles(page, dir);
        await page.context().close();
        const code = files.filter((file) => isCode(file.name));
        const used = code.filter((file) => loaded.has(basename(file.name)));
        const sum = (list, weigh) => list.reduce((total, file) => total + weigh(file.bytes), 0);
        const row = [kib(sum(used, gzipBytes)), kib(sum(used, (bytes) => bytes.length)), kib(sum(code, gzipBytes))];
        if (process.argv.includes('--files')) for (const file of used) console.log(`  ${file.name} ${kib(gzipBytes(file.bytes))}`);
        if (markdown) console.log(`| ${name} | ${row.join(' | ')} |`);
        else console.log(`${name.replaceAll('`', '').padEnd(48)} loaded ${row[0].padStart(9)} gzip (${row[1]} min, ${used.length} files); emitted ${row[2]} gzip (${code.length} files)`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await browser.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
