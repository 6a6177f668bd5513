// Shared plumbing of the browser tests: Debian's Chromium through playwright-core (never a downloaded
// browser), Vite preview servers on ephemeral localhost ports, and pages whose errors are collected
// so a failure says what went wrong in the browser.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { preview, type InlineConfig, type PreviewServer } from 'vite';

export const CHROMIUM = '/usr/bin/chromium';

/** The two headers that make a page cross-origin isolated, so SharedArrayBuffer is available. */
export const COI_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const dist = (path: string) => fileURLToPath(new URL(`../../../dist/src/${path}`, import.meta.url));

/** Resolves `privkit` and its subpaths to the built package, as the Vitest config does. */
export { privkitAliases } from '../../../scripts/aliases.js';

/** Throws (so the test fails, never skips) when the built package or Chromium is missing. */
export function requirePrerequisites(): void {
  for (const file of ['index.js', 'pool/index.js', 'secagg/index.js', 'platform/browser.js', 'pool/worker.js']) {
    if (!existsSync(dist(file))) {
      throw new Error(`dist/src/${file} is missing: run \`npm run build\` (or \`npm test\`, which builds first)`);
    }
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Browser tests need Debian's Chromium at ${CHROMIUM}, which is missing. Install it with ` +
        '`apt-get install -y --no-install-recommends chromium` (as root), or run `npm test`, whose pretest installs it.',
    );
  }
}

/**
 * Launches headless Chromium. With `webgl`, WebGL is rendered by SwiftShader (ANGLE's software
 * Vulkan: no GPU here), which Chromium enables only when asked; otherwise the GPU is disabled.
 */
export function launchChromium(options: { webgl?: boolean } = {}): Promise<Browser> {
  requirePrerequisites();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      ...(options.webgl === true ? ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'] : ['--disable-gpu']),
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Serves an already built Vite app on 127.0.0.1 with an ephemeral port. `headers` replaces the
 * config's preview headers; without it, those of the config (file) apply.
 */
export async function startPreview(config: InlineConfig, headers?: Record<string, string>): Promise<{
  server: PreviewServer;
  url: string;
}> {
  const server = await preview({
    logLevel: 'warn',
    ...config,
    preview: { ...config.preview, host: '127.0.0.1', port: 0, strictPort: true, open: false, ...(headers && { headers }) },
  });
  const address = server.httpServer.address();
  if (address === null || typeof address === 'string') throw new Error('preview server has no TCP address');
  return { server, url: `http://127.0.0.1:${address.port}/` };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

/** Serves the files under `root` on 127.0.0.1 (an ephemeral port), with `headers` on every response. */
export async function serveStatic(root: string, headers: Record<string, string>): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(root + sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { ...headers, 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the file server has no TCP address');
  return { server, url: `http://127.0.0.1:${address.port}/` };
}

/** Opens a page and records its console errors, uncaught errors and failed requests. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console.error: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
  await page.goto(url);
  return { page, problems };
}
