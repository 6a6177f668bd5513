// auditMechanism's own behaviour: the bound it gives the Laplace mechanism and a mechanism that ignores
// its input, delta charged, the order of the inputs, the argument checks, the errors of mechanisms
// that throw or misbehave, and the pool. The audits of every public release mechanism and of the
// planted bugs (examples/audit-cases.ts) are in test/stat/audit/audit.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivkitError, ready } from 'privkit';
import { auditMechanism, type MechanismFunction } from 'privkit/audit';
import { createRng, laplaceMechanism } from 'privkit/dp';
import { createPool, type Pool } from 'privkit/pool';
import { AUDIT_CASES } from '../../dist/examples/audit-cases.js';

const CONFIDENCE = 1 - 1e-6;
const seed = (n: number) => Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? n : i === 31 ? 0xa0 : 0));

await ready();

describe('auditMechanism', () => {
  it('bounds the Laplace mechanism close to its epsilon, with the event and both probabilities', async () => {
    const mechanism = laplaceMechanism({ epsilon: 1, l1Sensitivity: 1, rng: createRng({ seed: seed(100) }) });
    const result = await auditMechanism({
      mechanism: (x: number) => mechanism.release(Float64Array.of(x))[0]!,
      inputs: [0, 1],
      epsilon: 1,
      trials: 100_000,
      confidence: CONFIDENCE,
    });
    // tight: at most 1 (a valid bound) and within 0.15 of it at 1e5 trials and confidence 1 - 1e-6
    expect(result.epsilonLowerBound).toBeGreaterThan(0.85);
    expect(result.epsilonLowerBound).toBeLessThanOrEqual(1);
    const { p, q } = result.event;
    expect(result.epsilonLowerBound).toBeCloseTo(Math.log(p.lower / q.upper), 12);
    expect(Math.log(p.estimate / q.estimate)).toBeGreaterThan(result.epsilonLowerBound);
  });

  it('charges delta: the bound is log((P_lower - delta) / Q_upper)', async () => {
    const mechanism = laplaceMechanism({ epsilon: 2, l1Sensitivity: 1, rng: createRng({ seed: seed(101) }) });
    const run = (delta: number) =>
      auditMechanism({ mechanism: (x: number) => mechanism.release(Float64Array.of(x))[0]!, inputs: [0, 1], epsilon: 2, delta, trials: 20_000 });
    const plain = await run(0);
    const withDelta = await run(0.2);
    expect(withDelta.epsilonLowerBound).toBeLessThan(plain.epsilonLowerBound);
    expect(withDelta.epsilonLowerBound).toBeCloseTo(Math.max(0, Math.log((withDelta.event.p.lower - 0.2) / withDelta.event.q.upper)), 12);
  });

  it('gives 0 for a mechanism that ignores its input', async () => {
    const result = await auditMechanism({ mechanism: () => 3, inputs: [0, 1], epsilon: 0, trials: 1000 });
    expect(result).toMatchObject({ epsilonLowerBound: 0, passed: true });
  });

  it('finds the order that favours the second input', async () => {
    // a mechanism that leaks only on inputs[1]: its output is 1 with probability 1/2 there, never on inputs[0]
    const rng = createRng({ seed: seed(102) });
    const result = await auditMechanism({
      mechanism: (x: number) => (x === 1 && rng.uniform(1)[0]! < 0.5 ? 1 : 0),
      inputs: [0, 1],
      epsilon: 1,
      trials: 2_000,
    });
    expect(result.event.favours).toBe(1);
    expect(result.passed).toBe(false);
    expect(result.epsilonLowerBound).toBeGreaterThan(4);
  });

  it('rejects bad arguments, naming them', async () => {
    const mechanism = (x: number) => x;
    const base = { mechanism, inputs: [0, 1] as [number, number], epsilon: 1, trials: 100 };
    const cases: [unknown, string][] = [
      [{ ...base, inputs: [0] }, 'inputs'],
      [{ ...base, inputs: 'ab' }, 'inputs'],
      [{ ...base, epsilon: -1 }, 'epsilon'],
      [{ ...base, epsilon: Number.NaN }, 'epsilon'],
      [{ ...base, delta: 1 }, 'delta'],
      [{ ...base, delta: -0.1 }, 'delta'],
      [{ ...base, trials: 99 }, 'trials'],
      [{ ...base, trials: 1.5 }, 'trials'],
      [{ ...base, confidence: 1 }, 'confidence'],
      [{ ...base, confidence: 0 }, 'confidence'],
      [{ ...base, mechanism: 42 }, 'mechanism'],
      [{ ...base, mechanism: { module: './relative.js', export: 'm' } }, 'mechanism.module'],
      [{ ...base, mechanism: { module: 7, export: 'm' } }, 'mechanism.module'],
      [{ ...base, mechanism: { module: new URL('../../dist/examples/audit-cases.js', import.meta.url), export: '' } }, 'mechanism.export'],
      [{ ...base, mechanism: { module: new URL('../../dist/examples/audit-cases.js', import.meta.url), export: 'AUDIT_CASES' } }, 'mechanism.export'],
      [{ ...base, mechanism: { module: new URL('./missing-module.js', import.meta.url), export: 'm' } }, 'mechanism.module'],
      [{ ...base, mechanism: { module: new URL('../../dist/examples/audit-cases.js', import.meta.url), export: 'buildMechanism', args: 'x' } }, 'mechanism.args'],
      [{ ...base, pool: {} }, 'pool'],
      [{ ...base, mechanism: [] }, 'mechanism'],
      [{ ...base, trials: 2 ** 26 + 1 }, 'trials'],
      // no options (null) are no fields: the first required one is named; a non-object is refused as such
      [null, 'inputs'],
      ['options', 'options'],
    ];
    for (const [options, argument] of cases) {
      await expect(auditMechanism(options as never), argument).rejects.toMatchObject({ name: 'PrivkitError', code: 'E_ARG', argument });
    }
  });

  it('names the mechanism when it throws, returns a bad value or changes its output length', async () => {
    const run = (mechanism: (x: number) => unknown) => auditMechanism({ mechanism: mechanism as MechanismFunction, inputs: [0, 1], epsilon: 1, trials: 100 });
    const thrown = await run((x) => {
      if (x === 1) throw new Error('boom');
      return x;
    }).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(PrivkitError);
    expect(thrown).toMatchObject({ code: 'E_ARG', argument: 'mechanism' });
    expect((thrown as Error).message).toMatch(/mechanism threw on inputs\[1\] \(trial 0\): boom/);
    expect((thrown as Error).cause).toBeInstanceOf(Error);
    await expect(run(async () => Promise.reject(new Error('async boom')))).rejects.toMatchObject({ code: 'E_ARG', argument: 'mechanism' });
    await expect(run(() => Number.NaN)).rejects.toMatchObject({ code: 'E_NONFINITE', argument: 'mechanism' });
    await expect(run(() => [1, Number.POSITIVE_INFINITY])).rejects.toMatchObject({ code: 'E_NONFINITE', argument: 'mechanism', index: 1 });
    await expect(run(() => 'x')).rejects.toMatchObject({ code: 'E_ARG', argument: 'mechanism' });
    await expect(run(() => [])).rejects.toMatchObject({ code: 'E_ARG', argument: 'mechanism' });
    await expect(run((x) => (x === 0 ? [1, 2] : [1]))).rejects.toMatchObject({ code: 'E_SHAPE', argument: 'mechanism' });
    await expect(
      auditMechanism({ mechanism: () => new Float64Array(4), inputs: [0, 0], epsilon: 1, trials: 2 ** 25 }),
    ).rejects.toMatchObject({ code: 'E_ARG', argument: 'trials' });
  });
});

describe('auditMechanism in the pool', () => {
  let pool: Pool;
  beforeAll(async () => {
    pool = await createPool({ threads: 2 });
  });
  afterAll(async () => {
    await pool.close();
  });
  const module = new URL('../../dist/examples/audit-cases.js', import.meta.url);

  it('splits the trials over the workers, each importing the mechanism module', async () => {
    const planted = AUDIT_CASES.find((c) => c.name === 'floating-point Laplace')!;
    const result = await auditMechanism({
      mechanism: { module, export: 'buildMechanism', args: [planted.name] },
      inputs: planted.inputs,
      epsilon: planted.epsilon,
      trials: 20_000,
      confidence: CONFIDENCE,
      pool,
    });
    expect(result.trials).toBe(20_000);
    expect(result.passed).toBe(false);
    expect(result.event.description).toMatch(/lowest set bit/);
    const samples = await pool.auditSamples({ module, export: 'buildMechanism', args: ['dpHistogram (Laplace)'] }, planted.inputs.map(() => Float64Array.of(0.1)) as [unknown, unknown], 7);
    expect(samples).toMatchObject({ dimension: 4, trials: 7 });
    expect(samples.a.length).toBe(28);
  });

  it('refuses a function and reports worker-side errors with their argument', async () => {
    await expect(auditMechanism({ mechanism: (x: number) => x, inputs: [0, 1], epsilon: 1, trials: 100, pool })).rejects.toMatchObject({
      code: 'E_ARG',
      argument: 'mechanism',
    });
    await expect(
      auditMechanism({ mechanism: { module, export: 'buildMechanism', args: ['no such case'] }, inputs: [0, 1], epsilon: 1, trials: 100, pool }),
    ).rejects.toMatchObject({ code: 'E_ARG', argument: 'mechanism.export' });
    await expect(
      auditMechanism({ mechanism: { module, export: 'buildMechanism', args: ['dpCount'] }, inputs: [0, -1], epsilon: 1, trials: 100, pool }),
    ).rejects.toMatchObject({ code: 'E_ARG', argument: 'mechanism' });
  });
});
