// End-to-end test of the demo as a static site (`npm run demo:build`): the build is served by a
// plain Node file server twice, with the cross-origin isolation headers (COOP/COEP) and without them
// (as GitHub Pages and most static hosts serve it), and in headless Chromium both runs every
// benchmark in quick mode (?bench=quick) and a short federated training run (?train).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COI_HEADERS, launchChromium, openPage, repoRoot, requirePrerequisites, serveStatic } from './browser/harness.js';
import { expectCompleteBenchmark } from './demo-page.js';

const HOSTS = [
  { name: 'with cross-origin isolation headers', headers: COI_HEADERS, isolated: true },
  { name: 'without them (a plain static host)', headers: {}, isolated: false },
] as const;

/** Small enough that the whole quick run takes seconds. */
const QUICK = '?bench=quick&size=16x4096';
const TRAINING = '?train&rounds=2&clients=100&perRound=20&epsilon=3&dropout=0.1&seed=1&secagg=1';
const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

let browser: Browser | undefined;
let outDir: string | undefined;
const servers: Server[] = [];
const urls = new Map<boolean, string>();
/** A failed setup (no Chromium, no dist/, a build error) is rethrown by every test, so each one fails rather than skips. */
let setupError: unknown;

beforeAll(async () => {
  try {
    requirePrerequisites();
    outDir = mkdtempSync(join(tmpdir(), 'privkit-demo-static-'));
    await build({ configFile: join(repoRoot, 'demo/vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    for (const host of HOSTS) {
      const { server, url } = await serveStatic(outDir, host.headers);
      servers.push(server);
      urls.set(host.isolated, url);
    }
    browser = await launchChromium();
  } catch (error) {
    setupError = error;
  }
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

/** Opens `query` on the host and waits until `target`'s data-status is done (or fails with `statusText`'s text). */
async function openAndWait(isolated: boolean, query: string, target: string, statusText: string, timeout: number): Promise<{ page: Page; problems: string[] }> {
  if (setupError !== undefined) throw setupError;
  const { page, problems } = await openPage(browser!, `${urls.get(isolated)!}${query}`);
  try {
    await page.waitForSelector(`${target}[data-status="done"], ${target}[data-status="error"]`, { timeout });
  } catch (error) {
    throw new Error(`the demo did not finish (status: ${await page.textContent(statusText).catch(() => '?')}): ${String(error)}\n${problems.join('\n')}`);
  }
  if ((await page.getAttribute(target, 'data-status')) !== 'done') {
    throw new Error(`the demo failed: ${await page.textContent(statusText)}\n${problems.join('\n')}`);
  }
  return { page, problems };
}

describe.each(HOSTS)('the built demo served $name', ({ isolated }) => {
  it('runs every family\'s benchmark in quick mode', async () => {
    const { page, problems } = await openAndWait(isolated, QUICK, 'body', '#status', 50_000);
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(isolated);
    expect(await page.textContent('#isolation')).toBe(isolated ? 'yes' : 'no');
    expect(await page.textContent('#version')).toBe(version);
    expect(Number(await page.textContent('#cores'))).toBeGreaterThan(0);
    const families = await expectCompleteBenchmark(page, isolated);

    // The Markdown copy names the machine and every group, and the button puts it on the clipboard.
    const markdown = await page.inputValue('#markdown');
    expect(markdown).toContain(`## privkit ${version} in the browser`);
    expect(markdown).toContain(`cross-origin isolated: ${isolated ? 'yes' : 'no'}`);
    const groupLines = markdown.split('\n').filter((line) => line.startsWith('**'));
    expect(groupLines).toHaveLength(families.flatMap((f) => f.groups).length);
    const tableRows = markdown.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| Implementation') && !line.startsWith('| ---'));
    expect(tableRows).toHaveLength(families.flatMap((f) => f.groups.flatMap((g) => g.rows)).length);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(urls.get(isolated)!).origin });
    await page.click('#copy');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(markdown);

    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('trains with DP-FedAvg and secure aggregation', async () => {
    const { page, problems } = await openAndWait(isolated, TRAINING, '#training', '#train-progress', 40_000);
    expect(await page.textContent('#train-progress')).toMatch(/^Done: 2 rounds in [\d.]+ s\.$/);
    const report = Object.fromEntries(
      await page.$$eval('#train-report dd', (dds) => dds.map((dd) => [(dd as HTMLElement).dataset.field ?? '', (dd as HTMLElement).dataset.value ?? ''])),
    );
    expect(report.aggregation).toBe('secure');
    expect(Number(report.epsilon)).toBeGreaterThan(0);
    expect(Number(report.epsilon)).toBeLessThanOrEqual(3);
    expect(Number(report.accuracy)).toBeGreaterThan(0.1);
    expect(await page.textContent('[data-field="wallTime"]')).toContain(isolated ? 'shared memory' : 'copies: not cross-origin isolated');
    expect(problems).toEqual([]);
    await page.close();
  }, 50_000);
});
