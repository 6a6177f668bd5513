// `npm run size`: what a browser app pays for privkit. Builds tiny apps with Vite (its defaults:
// minified, no plugin, no configuration) against the built package (dist/, from `npm run build`),
// each importing one entry point, one kernel or the pool, and prints the size of the JavaScript
// each ships, minified and gzipped (level 9, file by file): every file of the build, the pool's
// worker and its chunks included. `--markdown` prints the table as the README shows it.
// buildApp is also used by test/wasm/modules.test.ts to check what a bundle carries.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Builds an app whose main module is `source` (ES module code importing 'privkit/...') with Vite in a
 * temporary folder where `privkit` is this package; returns the files of the build.
 */
export async function buildApp(source) {
  const dir = mkdtempSync(join(tmpdir(), 'privkit-size-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules/privkit'), 'dir');
    writeFileSync(join(dir, 'main.js'), source);
    await build({
      root: dir,
      configFile: false,
      logLevel: 'silent',
      build: { outDir: join(dir, 'out'), rollupOptions: { input: join(dir, 'main.js') } },
    });
    const out = join(dir, 'out');
    return listFiles(out).map((path) => ({ name: relative(out, path), bytes: readFileSync(path) }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** The apps of the table: a name and their main module (each uses what it imports, so nothing is shaken off). */
const ENTRY_POINTS = ['privkit', 'privkit/dp', 'privkit/accounting', 'privkit/pool', 'privkit/paillier', 'privkit/secagg', 'privkit/fl', 'privkit/audit'];
export const APPS = [
  [
    '`import { clipAndSum } from privkit`',
    `import { ready, clipAndSum } from 'privkit';
await ready();
console.log(clipAndSum(new Float32Array(8), 2, 1));`,
  ],
  [
    '`clipAndSum` on the pool',
    `import { ready, clipAndSum } from 'privkit';
import { createPool } from 'privkit/pool';
await ready();
const pool = await createPool();
console.log(clipAndSum(new Float32Array(8), 2, 1), await pool.clipAndSum(new Float32Array(8), 2, 1));`,
  ],
  ...ENTRY_POINTS.map((entry) => [
    `\`import * from ${entry}\``,
    `import { ready } from 'privkit';
import * as entry from '${entry}';
await ready();
console.log(entry);`,
  ]),
];

/** Minified and gzip bytes of the JavaScript (and any wasm) files of a build. */
function weigh(files) {
  const code = files.filter((file) => /\.(m?js|wasm)$/.test(file.name));
  return {
    files: code.length,
    minified: code.reduce((total, file) => total + file.bytes.length, 0),
    gzip: code.reduce((total, file) => total + gzipSync(file.bytes, { level: 9 }).length, 0),
  };
}

async function main() {
  const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
  const markdown = process.argv.includes('--markdown');
  if (markdown) console.log('| app | minified | gzip | files |\n| --- | ---: | ---: | ---: |');
  for (const [name, source] of APPS) {
    const size = weigh(await buildApp(source));
    if (markdown) console.log(`| ${name} | ${kib(size.minified)} | ${kib(size.gzip)} | ${size.files} |`);
    else console.log(`${name.replaceAll('`', '').padEnd(42)} ${kib(size.minified).padStart(10)} min ${kib(size.gzip).padStart(10)} gzip  (${size.files} files)`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
