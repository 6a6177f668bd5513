// Build: AssemblyScript -> one wasm module per entry file (assembly/<module>.ts -> build/<module>.wasm,
// + raw bindings), each embedded as a string of one character a byte in a generated TS module of its own (so a bundle carries
// only the modules its imports reach), then TS compiled to dist/ with declarations, and the generated
// bindings placed beside it.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The generated modules' folder is made before the build's time is taken and only emptied after:
// creating or removing it changes src/wasm's mtime, which scripts/setup.mjs would take for an edit
// made after the build (and rebuild on every `npm test`).
const generated = join(root, 'src/wasm/generated');
mkdirSync(generated, { recursive: true });
const buildStarted = new Date(); // the stamp carries this time, so an edit made during the build is seen as newer
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

/** The wasm entry files: one per file directly in assembly/ (the kernels live in its folders). */
const entries = readdirSync(join(root, 'assembly'), { withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
  .map((entry) => entry.name.slice(0, -'.ts'.length));
/**
 * Entry files also built to run on a shared memory of the caller's (src/wasm/shared-memory.ts):
 * assembly/<name>.ts -> build/<name>-shared.wasm, importing a shared env.memory of one page at least.
 * Such a module must keep no state in memory (no data segments, no globals in memory).
 */
const SHARED_ENTRIES = ['kernels'];
const SHARED_FLAGS = ['--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536', '--enable', 'threads'];
/** The modules built: each entry file, plus the shared build of those in SHARED_ENTRIES. */
const modules = [
  ...entries.map((name) => ({ name, entry: name, flags: [] })),
  ...SHARED_ENTRIES.map((entry) => ({ name: `${entry}-shared`, entry, flags: SHARED_FLAGS })),
];

// The wasm is rebuilt only when an input is newer than every output (a checkout rewrites the files it
// changes, so switching branches rebuilds too): most edits touch src/ or test/, and asc takes seconds.
// The modules share source files (several compile the generator), so any input rebuilds them all.
const mtime = (path) => statSync(join(root, path)).mtimeMs;
const filesUnder = (dir) =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
const wasmInputs = [
  ...filesUnder('assembly'),
  'asconfig.json',
  'node_modules/assemblyscript/package.json',
];
const wasmOutputs = modules.flatMap(({ name }) => [`build/${name}.wasm`, `build/${name}.js`, `build/${name}.d.ts`]);
const wasmFresh =
  wasmOutputs.every((path) => existsSync(join(root, path))) &&
  Math.max(...wasmInputs.map(mtime)) < Math.min(...wasmOutputs.map(mtime));

/** Compiles one module (the modules compile in parallel). */
function compile({ name, entry, flags }) {
  const args = [`assembly/${entry}.ts`, '--config', 'asconfig.json', ...flags, '--outFile', `build/${name}.wasm`, '--textFile', `build/${name}.wat`];
  const asc = spawn(bin('asc'), args, { cwd: root });
  let stdout = '';
  let stderr = '';
  asc.stdout.on('data', (chunk) => (stdout += chunk));
  asc.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    asc.on('close', (status, signal) => {
      // Binaryen's optimizer prints "Last converge was suboptimal." when its repeat-until-no-gain loop
      // ends on a pass that did not shrink the module; the output is still the best one found, so the
      // line is dropped and everything else asc says is passed through.
      process.stdout.write(stdout);
      process.stderr.write(stderr.replace(/^Last converge was suboptimal\.\n/gm, ''));
      if (status === 0) resolve();
      else reject(new Error(`asc failed on assembly/${entry}.ts for ${name} (exit ${status ?? signal})`));
    });
  });
}
if (!wasmFresh) await Promise.all(modules.map(compile));

/**
 * The module as a string literal of one character a byte (char code = byte), printable ASCII as
 * itself and every other byte as \\xNN: an ASCII file any bundler keeps as it is, which gzips to
 * ~13-19% less than base64 (whose 6-bit characters hide the byte-aligned repeats gzip finds).
 */
function byteString(bytes) {
  let text = '';
  for (const byte of bytes) {
    text += byte === 0x5c ? '\\\\' : byte === 0x27 ? "\\'" : byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return text;
}
for (const file of readdirSync(generated)) rmSync(join(generated, file), { recursive: true, force: true });
for (const { name, entry } of modules) {
  const wasm = readFileSync(join(root, `build/${name}.wasm`));
  writeFileSync(
    join(generated, `${name}-wasm.ts`),
    `// Generated by scripts/build.mjs from assembly/${entry}.ts (${wasm.length} bytes). Do not edit.\n` +
      `export const WASM_BYTES: string =\n  '${byteString(wasm)}';\n`,
  );
  copyFileSync(join(root, `build/${name}.js`), join(generated, `${name}.js`));
  copyFileSync(join(root, `build/${name}.d.ts`), join(generated, `${name}.d.ts`));
}

// Compile into a fresh folder and swap it in, so a test or bench running meanwhile never sees a half-built dist/.
const fresh = join(root, `dist.tmp-${process.pid}`);
try {
  run(bin('tsc'), ['-p', 'tsconfig.json', '--outDir', fresh]);
  for (const { name } of modules) {
    for (const file of [`${name}.js`, `${name}.d.ts`]) copyFileSync(join(generated, file), join(fresh, 'src/wasm/generated', file));
  }
  const stamp = join(fresh, '.build-stamp'); // read by scripts/setup.mjs
  writeFileSync(stamp, `${buildStarted.toISOString()}\n`);
  utimesSync(stamp, buildStarted, buildStarted);
  const old = join(root, `dist.old-${process.pid}`);
  if (existsSync(join(root, 'dist'))) renameSync(join(root, 'dist'), old);
  renameSync(fresh, join(root, 'dist'));
  rmSync(old, { recursive: true, force: true });
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
