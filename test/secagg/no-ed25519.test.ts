// A runtime whose WebCrypto lacks Ed25519 (older Chromium or Safari): secure aggregation can not
// authenticate its messages there and says so with a coded error before any round starts.
import { describe, expect, it, vi } from 'vitest';
import { PrivkitError } from 'privkit';

describe('without Ed25519 in WebCrypto', () => {
  it('detectSigning, generateSigningKeyPair and a client starting a round reject with E_AUTH naming the missing algorithm', async () => {
    const generateKey = crypto.subtle.generateKey.bind(crypto.subtle);
    vi.spyOn(crypto.subtle, 'generateKey').mockImplementation(((algorithm: AlgorithmIdentifier, extractable: boolean, usages: KeyUsage[]) =>
      (typeof algorithm === 'object' && algorithm.name === 'Ed25519'
        ? Promise.reject(new DOMException('Unrecognized algorithm name', 'NotSupportedError'))
        : generateKey(algorithm as never, extractable, usages))) as typeof crypto.subtle.generateKey);
    const { detectSigning, generateSigningKeyPair, SecAggClient, SecAggServer } = await import('privkit/secagg');
    const { ready } = await import('privkit');
    await ready();
    for (const attempt of [detectSigning(), generateSigningKeyPair()]) {
      const error = await attempt.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(PrivkitError);
      expect((error as PrivkitError).code).toBe('E_AUTH');
      expect((error as PrivkitError).message).toMatch(/no Ed25519 in WebCrypto/);
    }
    const setup = await new SecAggServer({ clients: ['a', 'b', 'c'], threshold: 2, bits: 8, length: 2 }).setup();
    const client = new SecAggClient('a', { minParticipants: 2 });
    await expect(client.advertiseKeys(setup)).rejects.toThrow(/E_AUTH: this runtime has no Ed25519/);
    expect(client.state).toBe('setup');
  });
});
