// `npm run audit`: audits every mechanism of examples/audit-cases.ts with privkit/audit and prints a
// table. Black-box cases run in the worker pool (each worker imports audit-cases.js and builds the
// mechanism with buildMechanism); the one-run cases (DP-SGD, DP-FedAvg) train once with canaries.
// The confidence is split over all cases (Bonferroni), so the whole table holds at --confidence.
// Exits with status 1 if one of privkit's mechanisms fails or a planted bug is not caught.
import { parseArgs } from 'node:util';
import { textTable } from '../bench/harness.js';
import { auditMechanism } from 'privkit/audit';
import { createPool } from 'privkit/pool';
import { AUDIT_CASES, ONE_RUN_CASES } from './audit-cases.js';

const HELP = `Usage: npm run audit -- [options]

Audits privkit's DP mechanisms and deliberately broken ones: a black-box lower bound on epsilon
from runs on two neighbouring inputs (auditMechanism), and one-run canary audits of DP-SGD and
DP-FedAvg (Steinke, Nasr, Jagielski 2023) next to the accountant's epsilon.

Options:
  --confidence C   confidence of the whole table (default 0.99, Bonferroni over the cases)
  --scale S        multiply every case's trial count by S (default 1)
  --threads N      pool worker threads (default: number of cores)
  --help           show this help
`;

interface Row {
  cells: string[];
  event: string;
  ok: boolean;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { confidence: { type: 'string' }, scale: { type: 'string' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) {
    console.log(HELP);
    return;
  }
  const confidence = Number(values.confidence ?? 0.99);
  const scale = Number(values.scale ?? 1);
  if (!(confidence > 0 && confidence < 1)) throw new Error(`--confidence must be in (0, 1), got ${values.confidence}`);
  if (!(scale > 0)) throw new Error(`--scale must be > 0, got ${values.scale}`);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  const perCase = 1 - (1 - confidence) / (AUDIT_CASES.length + ONE_RUN_CASES.length);
  const verdict = (source: 'privkit' | 'planted', passed: boolean) =>
    passed ? (source === 'privkit' ? 'passes' : 'MISSED (not caught)') : source === 'planted' ? 'caught' : 'FAILS';

  const pool = await createPool(threads === undefined ? {} : { threads });
  const module = new URL('./audit-cases.js', import.meta.url);
  const rows: Row[] = [];
  try {
    for (const c of AUDIT_CASES) {
      const trials = Math.max(100, Math.round(c.trials * scale));
      process.stderr.write(`auditing ${c.name} (${trials.toLocaleString('en-US')} trials per input)...\n`);
      const started = performance.now();
      const result = await auditMechanism({
        mechanism: { module, export: 'buildMechanism', args: [c.name] },
        inputs: c.inputs,
        epsilon: c.epsilon,
        delta: c.delta,
        trials,
        confidence: perCase,
        pool,
      });
      const seconds = (performance.now() - started) / 1000;
      rows.push({
        cells: [c.name, c.source, c.epsilon.toFixed(3), String(c.delta), result.epsilonLowerBound.toFixed(3), verdict(c.source, result.passed), trials.toLocaleString('en-US'), seconds.toFixed(1)],
        event: result.event.description,
        ok: result.passed === (c.source === 'privkit'),
      });
    }
  } finally {
    await pool.close();
  }
  for (const c of ONE_RUN_CASES) {
    process.stderr.write(`one-run audit of ${c.name}...\n`);
    const started = performance.now();
    const result = await c.run(undefined, perCase);
    const seconds = (performance.now() - started) / 1000;
    const passed = result.epsilonLowerBound <= result.accountantEpsilon;
    rows.push({
      cells: [c.name, c.source, result.accountantEpsilon.toFixed(3), String(result.delta), result.epsilonLowerBound.toFixed(3), verdict(c.source, passed), `1 run, ${result.canaries} canaries`, seconds.toFixed(1)],
      event: `${result.correct} of ${result.guesses} membership guesses correct (${c.note})`,
      ok: passed === (c.source === 'privkit'),
    });
  }
  console.log(`privkit/audit: lower bounds on epsilon at confidence ${confidence} for the whole table (${perCase.toPrecision(6)} per row)\n`);
  console.log(textTable(['mechanism', 'source', 'claimed eps', 'delta', 'lower bound', 'verdict', 'trials per input', 'seconds'], rows.map((r) => r.cells), 2));
  console.log('\nevents giving the bounds:');
  for (const row of rows) console.log(`  ${row.cells[0]}: ${row.event}`);
  const wrong = rows.filter((r) => !r.ok);
  if (wrong.length > 0) {
    console.log(`\n${wrong.length} unexpected verdict(s): ${wrong.map((r) => r.cells[0]).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
