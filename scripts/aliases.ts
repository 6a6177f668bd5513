// Bundler aliases that map `privkit` and its subpaths to the built files, read from the
// package.json "exports" map, for the Vitest config, the demo's Vite config and the browser tests.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const { exports } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  exports: Record<string, string | { default: string }>;
};

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export const privkitAliases: { find: RegExp; replacement: string }[] = Object.entries(exports)
  .filter(([, target]) => typeof target === 'object')
  .map(([subpath, target]) => ({
    find: new RegExp(`^${escape(`privkit${subpath.slice(1)}`)}$`),
    replacement: fileURLToPath(new URL((target as { default: string }).default, root)),
  }));
