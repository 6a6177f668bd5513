import type { ColumnPolicy, Pseudonymizer } from 'privkit/protect';

// The tensors both sides of test/e2e/protect-browser.test.ts seal and expect: deterministic, every dtype, several chunks of 4 KiB.
export function protectTensors() {
  return new Map([
    ['embedding', { dtype: 'float32' as const, shape: [64, 40], data: Float32Array.from({ length: 2560 }, (_, i) => Math.sin(i) * 3) }],
    ['scale', { dtype: 'float64' as const, shape: [5], data: Float64Array.from({ length: 5 }, (_, i) => 1 / (i + 1)) }],
    ['ids', { dtype: 'int32' as const, shape: [2, 3], data: Int32Array.of(-1, 0, 1, 2 ** 31 - 1, -(2 ** 31), 7) }],
    ['mask', { dtype: 'uint8' as const, shape: [9], data: Uint8Array.of(0, 1, 2, 3, 250, 251, 252, 253, 255) }],
  ]);
}

/** The pseudonymizer key and inputs both sides tokenize: one-block, multi-block and 200 KiB values (longer than a staging window), non-ASCII text, numbers and a bigint. */
export function pseudonymFixture() {
  const key = Uint8Array.from({ length: 48 }, (_, i) => (i * 37 + 11) & 255);
  const values: (string | number | bigint)[] = ['', 'alice@example.com', 'Zoë Ødegård 東京 🚀', 'x'.repeat(64), 'y'.repeat(55), 'z'.repeat(200 * 1024), 42, -0.5, 1e21, 2n ** 70n, 'alice@example.com'];
  const records = Array.from({ length: 50 }, (_, i) => ({
    id: `user-${i % 17}`,
    email: `person${i}@example.org`,
    age: 18 + ((i * 7) % 60),
    city: ['Oslo', 'Kraków', 'São Paulo'][i % 3],
    note: `free text ${i}`,
  }));
  return { key, values, records };
}

/** The column policy both sides apply to the fixture's records. */
export function pseudonymPolicy(ids: Pseudonymizer): ColumnPolicy {
  return { id: { kind: 'pseudonymize', pseudonymizer: ids }, email: { kind: 'email' }, age: { kind: 'bucket', width: 10 }, city: { kind: 'keep' }, note: { kind: 'suppress' } };
}
