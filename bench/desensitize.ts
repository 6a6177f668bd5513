// Desensitize suite of `npm run bench`: the goal of a 100,000-record table desensitized by a
// 6-column policy in <= 1 s in Node (without and with keyed pseudonyms of 100,000 distinct ids, whose
// HMACs run batched in wasm), and the two DP releases over the same table; then the HMACs of the
// 100,000 ids alone, in one run: privkit's tokens() against WebCrypto (one sign() per value, 4096
// in flight, as the pseudonymizer used to) and node:crypto's createHmac. Printed as tables and
// written to bench/results/desensitize.json.
import { createHmac } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ready } from '../src/index.js';
import { createPseudonymizer, desensitize, dpContingencyTable, dpQuantiles, type ColumnPolicy } from '../src/protect/index.js';
import { DEFAULT_TIMING, measure, textTable, type Row } from './harness.js';

const RECORDS = 100_000;
const table = Array.from({ length: RECORDS }, (_, i) => ({
  id: `customer-${i}`,
  email: `user${i}@example.com`,
  phone: `+1 555 ${String(i % 1000).padStart(3, '0')} ${String(i % 10_000).padStart(4, '0')}`,
  age: 18 + ((i * 7919) % 70),
  born: new Date(Date.UTC(1940 + (i % 60), i % 12, 1 + (i % 28))).toISOString(),
  income: (i * 104_729) % 400_000,
}));

const generalize = {
  email: { kind: 'email' },
  phone: { kind: 'phone' },
  age: { kind: 'bucket', width: 10 },
  born: { kind: 'date', unit: 'year' },
  income: { kind: 'topCode', upper: 250_000 },
} as const;

interface Case {
  name: string;
  shape: string;
  targetMs: number;
  fn: () => Promise<unknown> | unknown;
}

export async function desensitizeSuite(): Promise<void> {
  await ready();
  const started = performance.now();
  const ids = await createPseudonymizer({ key: new Uint8Array(32).fill(1), tokenBytes: 8 });
  const masked: ColumnPolicy = { id: { kind: 'mask', keepFirst: 3 }, ...generalize };
  const pseudonymized: ColumnPolicy = { id: { kind: 'pseudonymize', pseudonymizer: ids }, ...generalize };
  const domains = { age: Array.from({ length: 70 }, (_, i) => 18 + i), born: Array.from({ length: 60 }, (_, i) => `${1940 + i}`) };
  const years = table.map((r) => ({ age: r.age, born: r.born.slice(0, 4) }));
  const incomes = table.map((r) => r.income);
  const cases: Case[] = [
    { name: 'desensitize', shape: '100,000 records x 6 columns: mask, email, phone, bucket, date, top-code', targetMs: 1000, fn: () => desensitize(table, masked) },
    {
      name: 'desensitize + pseudonyms',
      shape: 'the same with HMAC-SHA-256 ids (100,000 distinct) instead of masking',
      targetMs: 1000,
      fn: () => desensitize(table, pseudonymized),
    },
    { name: 'dpContingencyTable', shape: '100,000 records, 70 x 60 cells, discrete Laplace', targetMs: 200, fn: () => dpContingencyTable(years, { columns: ['age', 'born'], domains, epsilon: 1 }) },
    { name: 'dpQuantiles', shape: '100,000 values, 3 quantiles, 65,536-step grid', targetMs: 200, fn: () => dpQuantiles(incomes, { quantiles: [0.25, 0.5, 0.75], lower: 0, upper: 400_000, epsilon: 1 }) },
  ];
  const rows: Array<Row & { targetMs: number }> = [];
  for (const c of cases) {
    const [row] = await measure(
      { kernel: c.name, shape: c.shape, inputBytes: 0, tasks: [{ name: c.name, kind: 'library', fn: c.fn }] },
      { ...DEFAULT_TIMING, time: 1000, iterations: 5, warmupIterations: 1 },
    );
    rows.push({ ...row!, targetMs: c.targetMs });
  }
  const header = ['task', 'shape', 'mean ms', '±%', 'samples', 'target ms', 'ok', 'bg load'];
  const cells = rows.map((r) => [
    r.task,
    r.shape,
    r.meanMs.toFixed(1),
    r.rmePercent.toFixed(1),
    String(r.samples),
    String(r.targetMs),
    r.meanMs <= r.targetMs ? 'yes' : 'NO',
    r.backgroundCores.toFixed(1),
  ]);
  console.log('\nprotect — privkit/protect (desensitization and DP releases)\n');
  console.log(textTable(header, cells, 2));

  const hmacRows = await hmacComparison();

  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, os: `${platform()} ${release()}`, node: process.version };
  const file = join(dirname(fileURLToPath(import.meta.url)), '../../bench/results/desensitize.json');
  mkdirSync(dirname(file), { recursive: true });
  const results = rows.map(({ task, shape, meanMs, medianMs, minMs, rmePercent, samples, targetMs, backgroundCores }) => ({
    task,
    shape,
    meanMs,
    medianMs,
    minMs,
    rmePercent,
    samples,
    targetMs,
    withinTarget: meanMs <= targetMs,
    backgroundCores,
  }));
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, rows: results, hmac: hmacRows }, null, 2) + '\n');
  console.log(`\n${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log('"bg load" = cores busy with other processes meanwhile.');
  console.log(`written ${file}`);
}

/** HMAC-SHA-256 of the table's 100,000 ids (8-byte tokens) three ways, one after another in this run. */
async function hmacComparison(): Promise<{ task: string; meanMs: number; rmePercent: number; samples: number; backgroundCores: number }[]> {
  const key = new Uint8Array(32).fill(1);
  const ids = table.map((r) => r.id);
  const pseudonymizer = await createPseudonymizer({ key, tokenBytes: 8 });
  const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const encoder = new TextEncoder();
  const webCrypto = async () => {
    for (let start = 0; start < ids.length; start += 4096) {
      await Promise.all(ids.slice(start, start + 4096).map((id) => crypto.subtle.sign('HMAC', cryptoKey, encoder.encode(id))));
    }
  };
  const nodeCrypto = () => ids.map((id) => createHmac('sha256', key).update(id, 'utf8').digest().subarray(0, 8));
  const rows = await measure(
    {
      kernel: 'hmac',
      shape: '100,000 distinct ids',
      inputBytes: 0,
      tasks: [
        { name: 'privkit tokens() (wasm, batched)', kind: 'library', fn: () => pseudonymizer.tokens(ids) },
        { name: 'WebCrypto sign() per value', kind: 'reference', fn: webCrypto },
        { name: 'node:crypto createHmac per value', kind: 'baseline', fn: nodeCrypto },
      ],
    },
    { ...DEFAULT_TIMING, time: 1000, iterations: 5, warmupIterations: 1 },
  );
  const [webMs, nodeMs] = [rows[1]!.meanMs, rows[2]!.meanMs];
  console.log('\nHMAC-SHA-256 of 100,000 distinct ids (8-byte tokens), one run\n');
  console.log(
    textTable(
      ['task', 'mean ms', '±%', 'samples', 'us/value', 'x WebCrypto', 'x node:crypto', 'bg load'],
      rows.map((r) => [
        r.task,
        r.meanMs.toFixed(1),
        r.rmePercent.toFixed(1),
        String(r.samples),
        ((r.meanMs * 1000) / ids.length).toFixed(2),
        (webMs / r.meanMs).toFixed(2),
        (nodeMs / r.meanMs).toFixed(2),
        r.backgroundCores.toFixed(1),
      ]),
    ),
  );
  return rows.map(({ task, meanMs, rmePercent, samples, backgroundCores }) => ({ task, meanMs, rmePercent, samples, backgroundCores }));
}
