// Makes a fresh clone ready for `npm start`, `npm test`, `npm run bench` and `npm run demo`:
// installs dependencies from the lockfile when node_modules is missing (npm ci builds through
// `prepare`), otherwise rebuilds; with --browser also makes sure Debian's Chromium is installed.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

if (existsSync(join(root, 'node_modules/.package-lock.json'))) run('node', ['scripts/build.mjs']);
else run('npm', ['ci']);

export const CHROMIUM = '/usr/bin/chromium';
if (process.argv.includes('--browser') && !existsSync(CHROMIUM)) {
  if (process.getuid?.() !== 0) {
    console.error(`Browser tests need Chromium at ${CHROMIUM}: run \`sudo apt-get install -y chromium\`.`);
    process.exit(1);
  }
  run('apt-get', ['update']);
  run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium']);
}
