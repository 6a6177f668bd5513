// Makes a fresh clone ready for `npm start`, `npm test`, `npm run bench` and `npm run demo`:
// installs dependencies from the lockfile when node_modules is missing, rebuilds the wasm and
// dist/ when a build input is newer than the last build (so a current dist/ costs nothing), and
// with --browser also makes sure Debian's Chromium is installed.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

/** What scripts/build.mjs reads; dist/.build-stamp is written last by a successful build. */
const BUILD_INPUTS = ['assembly', 'src', 'workers', 'bench', 'examples', 'scripts/build.mjs', 'tsconfig.json', 'asconfig.json', 'package-lock.json'];
const GENERATED = join(root, 'src/wasm/generated');

function newestMtime(path) {
  if (!existsSync(path) || path === GENERATED) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs; // a deleted or renamed file changes its folder's mtime
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function buildIsCurrent() {
  const stamp = join(root, 'dist/.build-stamp');
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  return BUILD_INPUTS.every((input) => newestMtime(join(root, input)) <= built);
}

if (!existsSync(join(root, 'node_modules/.package-lock.json'))) run('npm', ['ci']);
if (!buildIsCurrent()) run('node', ['scripts/build.mjs']);

const CHROMIUM = '/usr/bin/chromium';
if (process.argv.includes('--browser') && !existsSync(CHROMIUM)) {
  if (process.getuid?.() !== 0) {
    console.error(`Browser tests need Chromium at ${CHROMIUM}: run \`sudo apt-get install -y chromium\`.`);
    process.exit(1);
  }
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium']);
}
