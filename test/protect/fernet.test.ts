// Fernet against the specification's published vectors (test/vectors/fernet, one test per vector)
// and round trips; every invalid token is E_AUTH.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PrivkitError } from 'privkit';
import { fernetDecrypt, fernetEncrypt, generateFernetKey } from 'privkit/protect';

interface Vector {
  desc?: string;
  token: string;
  now: string;
  iv?: number[];
  src?: string;
  secret: string;
  ttl_sec?: number;
}
const load = (name: string): Vector[] => JSON.parse(readFileSync(new URL(`../vectors/fernet/${name}.json`, import.meta.url), 'utf8'));
const seconds = (iso: string) => Date.parse(iso) / 1000;

describe('Fernet spec vectors', () => {
  it.each(load('generate').map((v, i) => [i, v] as const))('generate.json #%i: the same token byte for byte', async (_, v) => {
    expect(await fernetEncrypt(v.secret, v.src!, { now: seconds(v.now), iv: Uint8Array.from(v.iv!) })).toBe(v.token);
  });

  it.each(load('verify').map((v, i) => [i, v] as const))('verify.json #%i: decrypts to the message within its TTL', async (_, v) => {
    const message = await fernetDecrypt(v.secret, v.token, { ttl: v.ttl_sec, now: seconds(v.now) });
    expect(new TextDecoder().decode(message)).toBe(v.src);
  });

  it.each(load('invalid').map((v) => [v.desc!, v] as const))('invalid.json "%s": E_AUTH', async (_, v) => {
    const error = await fernetDecrypt(v.secret, v.token, { ttl: v.ttl_sec, now: seconds(v.now) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrivkitError);
    expect((error as PrivkitError).code).toBe('E_AUTH');
    expect((error as PrivkitError).argument).toBe('token');
  });
});

describe('fernetEncrypt / fernetDecrypt', () => {
  it('round-trips bytes and strings of every length around the block size with fresh keys and IVs', async () => {
    const key = generateFernetKey();
    for (let n = 0; n <= 33; n++) {
      const message = Uint8Array.from({ length: n }, (_, i) => i * 7);
      const token = await fernetEncrypt(key, message);
      expect(token.length % 4).toBe(0);
      expect(await fernetDecrypt(key, token)).toEqual(message);
    }
    const [a, b] = [await fernetEncrypt(key, 'same'), await fernetEncrypt(key, 'same')];
    expect(a).not.toBe(b); // random IVs
  });

  it('refuses another key with E_AUTH and malformed keys with E_ARG', async () => {
    const token = await fernetEncrypt(generateFernetKey(), 'secret');
    expect(((await fernetDecrypt(generateFernetKey(), token).catch((e: unknown) => e)) as PrivkitError).code).toBe('E_AUTH');
    for (const bad of ['', 'short', generateFernetKey().slice(0, 43) + '!', 42]) {
      const e = (await fernetDecrypt(bad as string, token).catch((x: unknown) => x)) as PrivkitError;
      expect([e.code, e.argument]).toEqual(['E_ARG', 'key']);
    }
  });
});
