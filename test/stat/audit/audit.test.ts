// auditMechanism on every public release mechanism of privkit (none may be flagged) and on planted
// bugs (each must be caught: a lower bound above its claim), from examples/audit-cases.ts, with
// seeded generators. Every audit runs at confidence 1 - 1e-6, so a false alarm among the ~20 audits
// here has probability below 2e-5 (Bonferroni) even for an unlucky seed. auditMechanism's own unit
// tests are in test/audit/audit.test.ts.
import { describe, expect, it } from 'vitest';
import { ready } from 'privkit';
import { auditMechanism } from 'privkit/audit';
import { AUDIT_CASES, buildCase } from '../../../dist/examples/audit-cases.js';

const CONFIDENCE = 1 - 1e-6;
const seed = (n: number) => Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? n : i === 31 ? 0xa0 : 0));

await ready();

describe.each(AUDIT_CASES.map((c, k) => ({ ...c, k })))('$name ($source)', (c) => {
  it(c.source === 'privkit' ? `passes its claim (${c.testTrials} trials)` : `is caught (${c.testTrials} trials)`, async () => {
    const result = await auditMechanism({
      mechanism: buildCase(c, seed(c.k)),
      inputs: c.inputs,
      epsilon: c.epsilon,
      delta: c.delta,
      trials: c.testTrials,
      confidence: CONFIDENCE,
    });
    expect(result.trials).toBe(c.testTrials);
    expect(result.event.p.lower).toBeLessThanOrEqual(result.event.p.estimate);
    expect(result.event.q.upper).toBeGreaterThanOrEqual(result.event.q.estimate);
    if (c.source === 'privkit') {
      expect(result.passed, `${result.epsilonLowerBound} > ${c.epsilon}: ${result.event.description}`).toBe(true);
      expect(result.epsilonLowerBound).toBeLessThanOrEqual(c.epsilon);
    } else {
      expect(result.passed, `${result.epsilonLowerBound} <= ${c.epsilon}: ${result.event.description}`).toBe(false);
      expect(result.epsilonLowerBound).toBeGreaterThan(c.epsilon);
    }
  }, 60_000);
});
