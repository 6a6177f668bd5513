// privkit/protect across runtimes: a container sealed in headless Chromium (createSealStream,
// signed) opens in Node with the signature checked, and one sealed in Node opens in Chromium
// (openTensors and createOpenStream). Where Chromium's WebCrypto has ML-KEM-768, the hybrid kind
// seals and opens inside the page (Node 20 has no ML-KEM). The pseudonymizer gives the same tokens
// in Chromium as in Node for the same key (and both those of node:crypto's HMAC-SHA-256).
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build, type InlineConfig, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPseudonymizer, desensitize, generateRecipientKeys, generateSigningKeys, openTensors, sealTensors, type RecipientKind } from 'privkit/protect';
import { launchChromium, openPage, privkitAliases, requirePrerequisites, startPreview } from './browser/harness.js';
import { protectTensors, pseudonymFixture, pseudonymPolicy } from './browser/protect-data.js';

const fixtureRoot = fileURLToPath(new URL('./browser/', import.meta.url));

function config(outDir: string): InlineConfig {
  return {
    configFile: false,
    root: fixtureRoot,
    logLevel: 'warn',
    resolve: { alias: privkitAliases },
    build: { outDir, emptyOutDir: true, minify: false, reportCompressedSize: false, rolldownOptions: { input: { protect: join(fixtureRoot, 'protect.html') } } },
  };
}

let browser: Browser | undefined;
let server: PreviewServer | undefined;
let outDir: string | undefined;
let page: Page;
let problems: string[];

beforeAll(async () => {
  requirePrerequisites();
  outDir = mkdtempSync(join(tmpdir(), 'privkit-protect-'));
  await build(config(outDir));
  const preview = await startPreview(config(outDir), {});
  server = preview.server;
  browser = await launchChromium();
  ({ page, problems } = await openPage(browser, `${preview.url}protect.html`));
  await page.waitForFunction(() => window.__protect !== undefined, null, { timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

const expected = () => Object.fromEntries([...protectTensors()].map(([name, t]) => [name, Array.from(t.data)]));

describe('privkit/protect between Chromium and Node', () => {
  it('a container sealed in Chromium (stream, signed) opens in Node', async () => {
    const node = await generateRecipientKeys('ecdh');
    const { container, verifyKey } = await page.evaluate(
      ([kind, key]) => window.__protect!.sealFor(kind as RecipientKind, key),
      [node.kind, Buffer.from(node.publicKey).toString('base64')] as const,
    );
    const opened = await openTensors(new Uint8Array(Buffer.from(container, 'base64')), { key: node, verifyKey: new Uint8Array(Buffer.from(verifyKey, 'base64')) });
    expect(Object.fromEntries([...opened].map(([name, t]) => [name, Array.from(t.data)]))).toEqual(expected());
    expect([...opened].map(([, t]) => t.shape)).toEqual([...protectTensors().values()].map((t) => t.shape));
    expect(problems).toEqual([]);
  });

  it('a container sealed in Node (signed) opens in Chromium, whole and streamed', async () => {
    const recipient = await page.evaluate(() => window.__protect!.makeRecipient());
    const signer = await generateSigningKeys();
    const tensors = new Map([...protectTensors()].map(([name, t]) => [name, { data: t.data, shape: t.shape }]));
    const sealed = await sealTensors(tensors, { recipients: [{ kind: recipient.kind as RecipientKind, publicKey: new Uint8Array(Buffer.from(recipient.publicKey, 'base64')) }], signer, chunkSize: 4096 });
    const got = await page.evaluate(([c, v]) => window.__protect!.open(c, v), [Buffer.from(sealed).toString('base64'), Buffer.from(signer.publicKey).toString('base64')] as const);
    expect(got.whole).toEqual(expected());
    expect(got.streamed).toEqual(expected());
    expect(problems).toEqual([]);
  });

  it('seals and opens the hybrid ML-KEM-768 + X25519 kind in Chromium where its WebCrypto has ML-KEM', async () => {
    const kinds = await page.evaluate(() => window.__protect!.kinds());
    console.log(`Chromium recipient kinds: ${kinds.join(', ')}`);
    if (!kinds.includes('ml-kem-768-x25519')) return; // no ML-KEM in this Chromium: nothing to run
    expect(await page.evaluate(() => window.__protect!.roundTrip('ml-kem-768-x25519'))).toEqual({ names: ['a', 'b'], wrongKey: 'E_AUTH', tampered: 'E_AUTH' });
  });

  it('createPseudonymizer and desensitize give the same tokens in Chromium as in Node for the same key', async () => {
    const { key, values, records } = pseudonymFixture();
    const chromium = await page.evaluate(() => window.__protect!.pseudonyms());
    const ids = await createPseudonymizer({ key });
    const short = await createPseudonymizer({ key, tokenBytes: 6 });
    const hmac = (v: string | number | bigint) => createHmac('sha256', key).update(String(v), 'utf8').digest('hex');
    expect(chromium.tokens).toEqual(values.map((v) => hmac(v).slice(0, 32)));
    expect(chromium.tokens).toEqual(await ids.tokens(values));
    expect(chromium.short).toEqual(values.map((v) => hmac(v).slice(0, 12)));
    expect(chromium.short).toEqual(await Promise.all(values.map((v) => short.token(v))));
    const node = await desensitize(records, pseudonymPolicy(ids));
    expect(chromium.records).toEqual(node);
    expect(chromium.records[3]!.id).toBe(hmac('user-3').slice(0, 32));
    expect(new Set(chromium.records.map((r) => r.id)).size).toBe(17);
    expect(problems).toEqual([]);
  });
});
