// No Paillier secret left in wasm memory: after key generation, key import, decryption, CRT
// encryption and Miller-Rabin on a prime, the whole wasm memory is scanned for p, q, p^2, q^2,
// p - 1, q - 1, lambda, phi and the Miller-Rabin exponents (p - 1) / 2^s, in every form the kernels
// write them (radix-2^28 and 2^27 limbs forward and limb-reversed, little-endian 32-bit words,
// big-endian bytes); a control checks that the scan finds such a value when it is there.
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from 'privkit/dp';
import { generateKeyPair, millerRabin, PrivateKey, ready } from 'privkit/paillier';
import * as runtime from '../../dist/src/wasm/runtime.js';
import { paillierWasm } from '../../dist/src/paillier/wasm.js';

const insecure = { allowInsecureTestKeys: true };

beforeAll(ready);

/** x (>= 0) as little-endian bytes of radix-2^bits limbs in u32 slots. */
function limbBytes(x: bigint, bits: number): Uint8Array {
  const limbs: number[] = [];
  for (let y = x; y > 0n; y >>= BigInt(bits)) limbs.push(Number(y & ((1n << BigInt(bits)) - 1n)));
  return new Uint8Array(Uint32Array.from(limbs).buffer);
}

/** The byte strings in which the kernels and their callers may hold x: limbs (both radixes, both orders), words, big-endian bytes. */
function forms(x: bigint): Uint8Array[] {
  const limbForms = [28, 27].flatMap((bits) => {
    const forward = limbBytes(x, bits);
    const reversed = new Uint8Array(new Uint32Array(new Uint32Array(forward.buffer).slice().reverse()).buffer);
    return [forward, reversed];
  });
  let hex = x.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  const bigEndian = Uint8Array.from(Buffer.from(hex, 'hex'));
  return [...limbForms, limbBytes(x, 32), bigEndian];
}

/** 16 bytes from the middle of each form of random-looking secrets (at most 4 zero bytes: no match with empty memory by chance). */
function probes(secrets: Record<string, bigint>): Array<{ name: string; bytes: Uint8Array }> {
  return Object.entries(secrets).flatMap(([name, x]) =>
    forms(x).map((form) => {
      const start = Math.max(0, Math.floor(form.length / 2) - 8);
      const bytes = form.subarray(start, start + 16);
      expect(bytes.filter((b) => b === 0).length, `probe of ${name}`).toBeLessThanOrEqual(4);
      return { name, bytes };
    }),
  );
}

/** Names of the secrets whose probes occur anywhere in wasm memory. */
function foundInMemory(secrets: Record<string, bigint>): string[] {
  const memory = runtime.withWasm(paillierWasm, (kernels) => new Uint8Array(kernels.memory.buffer));
  const found = new Set<string>();
  for (const { name, bytes } of probes(secrets)) {
    const first = bytes[0]!;
    for (let i = memory.indexOf(first); i >= 0 && i <= memory.length - bytes.length; i = memory.indexOf(first, i + 1)) {
      let k = 1;
      while (k < bytes.length && memory[i + k] === bytes[k]) k++;
      if (k === bytes.length) {
        found.add(name);
        break;
      }
    }
  }
  return [...found];
}

/** p, q and the values derived from them that decryption and primality tests use. */
function secretsOf(p: bigint, q: bigint): Record<string, bigint> {
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
  const phi = (p - 1n) * (q - 1n);
  const oddPart = (x: bigint) => {
    while ((x & 1n) === 0n) x >>= 1n;
    return x;
  };
  return {
    p,
    q,
    'p^2': p * p,
    'q^2': q * q,
    'p - 1': p - 1n,
    'q - 1': q - 1n,
    phi,
    lambda: phi / gcd(p - 1n, q - 1n),
    'Miller-Rabin exponent of p': oddPart(p - 1n),
    'Miller-Rabin exponent of q': oddPart(q - 1n),
  };
}

describe('wasm memory after Paillier calls', () => {
  it('the scan finds a secret that is in memory (control)', () => {
    // random bytes from outside the engine (its generators pass their output through wasm memory)
    const p = BigInt('0x' + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')) | (1n << 255n);
    const ptr = runtime.withWasm(paillierWasm, (_kernels, arena) => {
      const at = arena.alloc(64);
      arena.bytes(at, 40).set(limbBytes(p, 28));
      return at;
    });
    expect(foundInMemory({ p })).toEqual(['p']);
    runtime.withWasm(paillierWasm, (_kernels, arena) => arena.bytes(ptr, 64).fill(0));
    expect(foundInMemory({ p })).toEqual([]);
  });

  it('holds none of p, q, p^2, q^2, p - 1, q - 1, phi, lambda or the Miller-Rabin exponents after any call', async () => {
    const { publicKey, privateKey } = await generateKeyPair({ bits: 1024, ...insecure, rng: createRng({ seed: new Uint8Array(32).fill(81) }) });
    const secrets = secretsOf(privateKey.p, privateKey.q);
    expect(foundInMemory(secrets), 'after generateKeyPair').toEqual([]);

    const imported = new PrivateKey(privateKey.p, privateKey.q, insecure); // 64 Miller-Rabin rounds on each factor
    expect(foundInMemory(secrets), 'after a key import').toEqual([]);

    const c = publicKey.encrypt(123456789n);
    expect(imported.decrypt(c)).toBe(123456789n);
    expect(foundInMemory(secrets), 'after decrypt').toEqual([]);

    expect(imported.decrypt(imported.encrypt(42n))).toBe(42n);
    expect(foundInMemory(secrets), 'after CRT encrypt').toEqual([]);

    expect(imported.decryptVector(publicKey.encryptVector(Float32Array.of(1, -2, 3), { scale: 256, clip: 4, maxAdditions: 2 }))).toEqual(
      Float64Array.of(1, -2, 3),
    );
    expect(foundInMemory(secrets), 'after decryptVector').toEqual([]);

    expect(millerRabin(privateKey.p, 8, createRng())).toBe(true);
    expect(foundInMemory(secrets), 'after millerRabin').toEqual([]);
  });
});
