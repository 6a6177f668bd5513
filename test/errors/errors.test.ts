// Bad input gets a PrivkitError with a stable code and the name of the offending argument
// (and, for element-wise errors, the index of the first offender); never a wrong answer.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  clipAndSum,
  clipByL2,
  clipPerLayer,
  clipValues,
  l2Norms,
  mean,
  PrivkitError,
  ready,
  sum,
  weightedMean,
} from 'privkit';
import { catchPrivkitError, expectPrivkitError } from '../support/helpers.js';

const WINDOW_FLOATS = 262_144;

beforeAll(async () => {
  await ready();
});

const colsOf = (x: unknown, rows: unknown): number => {
  const n = x instanceof Float32Array ? x.length : 0;
  return typeof rows === 'number' && rows > 0 && Number.isInteger(n / rows) ? n / rows : 0;
};

/** Every public function that takes (x, rows), called with otherwise valid arguments. */
const matrixFunctions: Record<string, (x: any, rows: any) => unknown> = {
  l2Norms: (x, rows) => l2Norms(x, rows),
  clipByL2: (x, rows) => clipByL2(x, rows, 1),
  clipPerLayer: (x, rows) => clipPerLayer(x, rows, [colsOf(x, rows)], [1]),
  clipAndSum: (x, rows) => clipAndSum(x, rows, 1),
  'clipAndSum with layerSizes': (x, rows) => clipAndSum(x, rows, 1, { layerSizes: [colsOf(x, rows)] }),
  sum: (x, rows) => sum(x, rows),
  mean: (x, rows) => mean(x, rows),
  weightedMean: (x, rows) =>
    weightedMean(x, rows, new Array(typeof rows === 'number' && rows > 0 && rows < 1e6 ? Math.floor(rows) : 1).fill(1)),
};

/** Every public function that takes x, called with otherwise valid arguments (clipValues has no rows). */
const allFunctions: Record<string, (x: any) => unknown> = {
  ...Object.fromEntries(Object.entries(matrixFunctions).map(([name, fn]) => [name, (x: any) => fn(x, 2)])),
  clipValues: (x) => clipValues(x, -1, 1),
  'clipByL2 inPlace': (x) => clipByL2(x, 2, 1, { inPlace: true }),
  'clipValues out': (x) => clipValues(x, -1, 1, { out: new Float32Array(x instanceof Float32Array ? x.length : 0) }),
};

describe('x must be a Float32Array (E_ARG, argument x)', () => {
  const bad: Array<[string, unknown]> = [
    ['Float64Array', new Float64Array(4)],
    ['Int32Array', new Int32Array(4)],
    ['number[]', [1, 2, 3, 4]],
    ['null', null],
    ['undefined', undefined],
    ['number', 4],
    ['string', 'abcd'],
    ['ArrayBuffer', new ArrayBuffer(16)],
  ];
  for (const [name, fn] of Object.entries(allFunctions)) {
    it(name, () => {
      for (const [label, value] of bad) {
        const error = expectPrivkitError(() => fn(value), 'E_ARG', 'x');
        expect(error.message, label).toMatch(/\bx\b/);
      }
    });
  }
});

describe('rows must be a positive integer (E_ARG, argument rows)', () => {
  const bad: unknown[] = [0, -1, -2, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2', undefined, null, 2n];
  for (const [name, fn] of Object.entries(matrixFunctions)) {
    it(name, () => {
      for (const rows of bad) {
        const error = expectPrivkitError(() => fn(new Float32Array(4), rows), 'E_ARG', 'rows');
        expect(error.message).toMatch(/rows/);
      }
    });
  }
});

describe('rows must divide x.length (E_SHAPE, argument rows)', () => {
  for (const [name, fn] of Object.entries(matrixFunctions)) {
    it(name, () => {
      expectPrivkitError(() => fn(new Float32Array(5), 2), 'E_SHAPE', 'rows');
      expectPrivkitError(() => fn(new Float32Array(7), 3), 'E_SHAPE', 'rows');
      expectPrivkitError(() => fn(new Float32Array(1), 2), 'E_SHAPE', 'rows');
    });
  }
});

describe('maxNorm must be finite and > 0 (E_ARG, argument maxNorm)', () => {
  const bad: unknown[] = [0, -0, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '1', undefined, null];
  const x = new Float32Array([3, 4, 1, 1]);
  it('clipByL2', () => {
    for (const m of bad) expectPrivkitError(() => clipByL2(x, 2, m as number), 'E_ARG', 'maxNorm');
  });
  const badNumbers = [0, -0, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, undefined];
  it('clipAndSum', () => {
    for (const m of bad) expectPrivkitError(() => clipAndSum(x, 2, m as number), 'E_ARG', 'maxNorm');
    for (const m of badNumbers) {
      expectPrivkitError(() => clipAndSum(x, 2, m as number, { layerSizes: [1, 1] }), 'E_ARG', 'maxNorm');
    }
  });
  it('clipAndSum with one bound per layer names the bad layer', () => {
    for (const m of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectPrivkitError(() => clipAndSum(x, 2, [1, m], { layerSizes: [1, 1] }), 'E_ARG', 'maxNorm[1]');
    }
  });
  it('a bound of the wrong type (null, a string) with layers is E_ARG, not a length mismatch', () => {
    // layerPlan treats any non-number as an array of bounds and reports E_SHAPE for null / '1'
    for (const m of [null, '1', true, {}]) {
      expectPrivkitError(() => clipPerLayer(x, 2, [1, 1], m as unknown as number), 'E_ARG', /^maxNorms?$/);
      expectPrivkitError(() => clipAndSum(x, 2, m as unknown as number, { layerSizes: [1, 1] }), 'E_ARG', 'maxNorm');
    }
  });
  it('clipAndSum without layerSizes rejects an array of bounds', () => {
    expectPrivkitError(() => clipAndSum(x, 2, [1, 1]), 'E_ARG', 'maxNorm');
  });
  it('clipPerLayer (one bound, and one bound per layer)', () => {
    for (const m of badNumbers) {
      expectPrivkitError(() => clipPerLayer(x, 2, [1, 1], m as number), 'E_ARG', /^maxNorms?$/);
    }
    for (const m of [0, -1, Number.NaN, Number.NEGATIVE_INFINITY]) {
      expectPrivkitError(() => clipPerLayer(x, 2, [1, 1], [m, 1]), 'E_ARG', /^maxNorms?\[0\]$/);
    }
  });
});

describe('layer sizes and per-layer bounds', () => {
  const x = new Float32Array(10); // 2 rows of 5
  const layered: Record<string, (sizes: any, bounds: any) => unknown> = {
    clipPerLayer: (sizes, bounds) => clipPerLayer(x, 2, sizes, bounds),
    clipAndSum: (sizes, bounds) => clipAndSum(x, 2, bounds, { layerSizes: sizes }),
  };
  for (const [name, fn] of Object.entries(layered)) {
    it(`${name}: layerSizes not summing to the row length -> E_SHAPE layerSizes`, () => {
      expectPrivkitError(() => fn([2, 2], 1), 'E_SHAPE', 'layerSizes');
      expectPrivkitError(() => fn([2, 4], 1), 'E_SHAPE', 'layerSizes');
      expectPrivkitError(() => fn([10], 1), 'E_SHAPE', 'layerSizes');
      expectPrivkitError(() => fn([0, 0], 1), 'E_SHAPE', 'layerSizes');
    });
    it(`${name}: malformed layerSizes -> E_ARG`, () => {
      expectPrivkitError(() => fn([], 1), 'E_ARG', 'layerSizes');
      expectPrivkitError(() => fn(null, 1), 'E_ARG', 'layerSizes');
      expectPrivkitError(() => fn(5, 1), 'E_ARG', 'layerSizes');
      expectPrivkitError(() => fn([2, -1, 4], 1), 'E_ARG', 'layerSizes[1]');
      expectPrivkitError(() => fn([2.5, 2.5], 1), 'E_ARG', 'layerSizes[0]');
      expectPrivkitError(() => fn([2, Number.NaN], 1), 'E_ARG', 'layerSizes[1]');
      expectPrivkitError(() => fn([2, '3'], 1), 'E_ARG', 'layerSizes[1]');
    });
    it(`${name}: an array of bounds of the wrong length -> E_SHAPE`, () => {
      expectPrivkitError(() => fn([2, 3], [1]), 'E_SHAPE', /^maxNorms?$/);
      expectPrivkitError(() => fn([2, 3], [1, 1, 1]), 'E_SHAPE', /^maxNorms?$/);
      expectPrivkitError(() => fn([5], []), 'E_SHAPE', /^maxNorms?$/);
    });
  }
});

describe('out must be a Float32Array of length x.length', () => {
  const x = new Float32Array([3, 4, 0.3, 0.4]);
  const withOut: Record<string, (out: any) => unknown> = {
    clipByL2: (out) => clipByL2(x, 2, 1, { out }),
    clipPerLayer: (out) => clipPerLayer(x, 2, [1, 1], 1, { out }),
    clipValues: (out) => clipValues(x, 0, 1, { out }),
  };
  for (const [name, fn] of Object.entries(withOut)) {
    it(name, () => {
      for (const length of [0, 3, 5, 8]) {
        const out = new Float32Array(length).fill(7);
        expectPrivkitError(() => fn(out), 'E_SHAPE', 'opts.out');
        expect(Array.from(out)).toEqual(new Array(length).fill(7)); // untouched
      }
      expectPrivkitError(() => fn(new Float64Array(4)), 'E_ARG', 'opts.out');
      expectPrivkitError(() => fn([0, 0, 0, 0]), 'E_ARG', 'opts.out');
      expect(Array.from(x)).toEqual(Array.from(new Float32Array([3, 4, 0.3, 0.4])));
    });
  }
});

describe('clipValues bounds', () => {
  const x = new Float32Array([1, 2, 3]);
  it('min > max -> E_ARG', () => {
    const error = expectPrivkitError(() => clipValues(x, 2, 1), 'E_ARG', 'min');
    expect(error.message).toMatch(/min/);
    expectPrivkitError(() => clipValues(x, 1e-30, -1e-30), 'E_ARG', 'min');
    expectPrivkitError(() => clipValues(x, 0, -Number.MIN_VALUE), 'E_ARG', 'min');
  });
  it('bounds outside the float32 range never turn finite input into Infinity', () => {
    // min = 1e39 rounds to +Infinity in float32; expected: a PrivkitError naming min, or finite output
    for (const [lo, hi, name] of [
      [1e39, 2e39, 'min'],
      [-2e39, -1e39, 'max'],
    ] as const) {
      let out: Float32Array | undefined;
      try {
        out = clipValues(x, lo, hi);
      } catch (error) {
        expect(error).toBeInstanceOf(PrivkitError);
        expect((error as PrivkitError).argument).toBe(name);
      }
      if (out !== undefined) expect(out.every(Number.isFinite), `clipValues(x, ${lo}, ${hi}) = ${Array.from(out)}`).toBe(true);
    }
    // bounds beyond the float32 range that clamp nothing are fine
    expect(Array.from(clipValues(x, -Number.MAX_VALUE, Number.MAX_VALUE))).toEqual([1, 2, 3]);
    expect(Array.from(clipValues(x, 2, 1e39))).toEqual([2, 2, 3]);
  });
  it('min / max must be finite numbers', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '0', undefined, null]) {
      expectPrivkitError(() => clipValues(x, bad as number, 1), 'E_ARG', 'min');
      expectPrivkitError(() => clipValues(x, 0, bad as number), 'E_ARG', 'max');
    }
  });
});

describe('weights of weightedMean', () => {
  const x = new Float32Array([1, 2, 3, 4, 5, 6]); // 3 rows of 2
  it('wrong length -> E_SHAPE weights', () => {
    expectPrivkitError(() => weightedMean(x, 3, [1, 1]), 'E_SHAPE', 'weights');
    expectPrivkitError(() => weightedMean(x, 3, [1, 1, 1, 1]), 'E_SHAPE', 'weights');
    expectPrivkitError(() => weightedMean(x, 3, []), 'E_SHAPE', 'weights');
    expectPrivkitError(() => weightedMean(x, 3, new Float64Array(6)), 'E_SHAPE', 'weights');
  });
  it('negative / NaN / infinite / non-number weight -> E_ARG weights with its index', () => {
    expectPrivkitError(() => weightedMean(x, 3, [1, -1, 1]), 'E_ARG', 'weights', 1);
    expectPrivkitError(() => weightedMean(x, 3, [1, 1, -1e-300]), 'E_ARG', 'weights', 2);
    expectPrivkitError(() => weightedMean(x, 3, [Number.NaN, 1, 1]), 'E_ARG', 'weights', 0);
    expectPrivkitError(() => weightedMean(x, 3, [1, Number.POSITIVE_INFINITY, 1]), 'E_ARG', 'weights', 1);
    expectPrivkitError(() => weightedMean(x, 3, [1, 1, '1' as unknown as number]), 'E_ARG', 'weights', 2);
    // the first offender is reported
    expectPrivkitError(() => weightedMean(x, 3, [1, -1, Number.NaN]), 'E_ARG', 'weights', 1);
  });
  it('all-zero weights -> E_ARG weights', () => {
    expectPrivkitError(() => weightedMean(x, 3, [0, 0, 0]), 'E_ARG', 'weights');
    expectPrivkitError(() => weightedMean(x, 3, [0, -0, 0]), 'E_ARG', 'weights');
    expectPrivkitError(() => weightedMean(new Float32Array(0), 3, new Float32Array(3)), 'E_ARG', 'weights');
  });
  it('weights that are not an array -> E_ARG weights', () => {
    for (const bad of [null, undefined, 3, 'abc', {}]) {
      expectPrivkitError(() => weightedMean(x, 3, bad as unknown as number[]), 'E_ARG', 'weights');
    }
  });
  it('weights whose sum overflows float64 must not give a wrong answer', () => {
    // Expected: the weighted mean [3, 4] (weights are relative), or a PrivkitError naming weights.
    const big = Number.MAX_VALUE;
    let result: Float32Array | undefined;
    try {
      result = weightedMean(x, 3, [big, big, big]);
    } catch (error) {
      expect(error).toBeInstanceOf(PrivkitError);
      expect((error as PrivkitError).argument).toBe('weights');
    }
    if (result !== undefined) {
      expect(Array.from(result).map((v) => Math.round(v * 1e5) / 1e5)).toEqual([3, 4]);
    }
  });
});

describe('NaN / Infinity in x -> E_NONFINITE with the index of the first offender', () => {
  const cases: Array<{ label: string; length: number; bad: Array<[number, number]>; first: number }> = [
    { label: 'NaN at 0', length: 10, bad: [[0, Number.NaN]], first: 0 },
    { label: 'Infinity in the SIMD body', length: 10, bad: [[5, Number.POSITIVE_INFINITY]], first: 5 },
    { label: '-Infinity in the scalar tail', length: 10, bad: [[9, Number.NEGATIVE_INFINITY]], first: 9 },
    {
      label: 'several offenders in one SIMD block',
      length: 10,
      bad: [
        [7, Number.NaN],
        [6, Number.POSITIVE_INFINITY],
      ],
      first: 6,
    },
    {
      label: 'offenders in different blocks',
      length: 16,
      bad: [
        [13, Number.NaN],
        [3, Number.NEGATIVE_INFINITY],
      ],
      first: 3,
    },
    {
      label: 'past the first staging window (split row)',
      length: 2 * 300_001,
      bad: [[WINDOW_FLOATS + 17, Number.NaN]],
      first: WINDOW_FLOATS + 17,
    },
    {
      label: 'in the second row of a split matrix',
      length: 2 * 300_001,
      bad: [
        [400_000, Number.POSITIVE_INFINITY],
        [500_000, Number.NaN],
      ],
      first: 400_000,
    },
    { label: 'last element of a long row', length: 2 * 300_001, bad: [[600_001, Number.NaN]], first: 600_001 },
  ];
  for (const [name, fn] of Object.entries(allFunctions)) {
    it(name, () => {
      for (const { label, length, bad, first } of cases) {
        const x = new Float32Array(length).fill(0.5);
        for (const [i, v] of bad) x[i] = v;
        const error = expectPrivkitError(() => fn(x), 'E_NONFINITE', 'x', first);
        expect(error.message, label).toContain(`x[${first}]`);
      }
    });
  }

  it('offenders in later row groups of a many-row matrix (1000 x 1000, 262 rows per group)', () => {
    for (const first of [261_999, 262_000, 262_001, 999_999]) {
      const x = new Float32Array(1_000_000).fill(0.25);
      x[first] = Number.NaN;
      if (first + 5 < x.length) x[first + 5] = Number.POSITIVE_INFINITY;
      for (const fn of Object.values(matrixFunctions)) {
        expectPrivkitError(() => fn(x, 1000), 'E_NONFINITE', 'x', first);
      }
      expectPrivkitError(() => clipValues(x, 0, 1), 'E_NONFINITE', 'x', first);
    }
  });
});

describe('results outside the float32 range -> E_OVERFLOW', () => {
  it('sum of two rows of 3e38', () => {
    expectPrivkitError(() => sum(new Float32Array([3e38, 3e38]), 2), 'E_OVERFLOW');
    expectPrivkitError(() => sum(new Float32Array([1, 3e38, 5, -3e38, 1, 3e38, 7, -3e38]), 2), 'E_OVERFLOW');
  });
  it('weightedMean and mean of such rows do not overflow', () => {
    expect(Array.from(mean(new Float32Array([3e38, 3e38]), 2))).toEqual([Math.fround(3e38)]);
    expect(weightedMean(new Float32Array([3e38, 3e38]), 2, [1, 1])[0]).toBeCloseTo(3e38, -32);
  });
  it('clipAndSum whose clipped sum overflows', () => {
    expectPrivkitError(() => clipAndSum(new Float32Array([3e38, 3e38, 3e38]), 3, 3.4e38), 'E_OVERFLOW');
  });
  it('l2Norms of a finite row whose norm exceeds the float32 range', () => {
    // norm of [3e38, 3e38] is 4.24e38 > 3.4e38 (float32 max)
    expectPrivkitError(() => l2Norms(new Float32Array([1, 1, 3e38, 3e38]), 2), 'E_OVERFLOW', 'x');
    // squares overflow float32 but not the norm: no error, exact answer
    const [norm] = l2Norms(new Float32Array([3e37, 4e37]), 1);
    expect(Math.abs(norm! - 5e37) / 5e37).toBeLessThan(1e-6);
  });
});

describe('after an error the engine keeps working', () => {
  it('a rejected call leaves no state behind', () => {
    const x = new Float32Array(2 * 300_001).fill(1);
    x[400_000] = Number.NaN;
    catchPrivkitError(() => clipAndSum(x, 2, 1));
    catchPrivkitError(() => sum(x, 2));
    catchPrivkitError(() => sum(new Float32Array([3e38, 3e38]), 2));
    expect(Array.from(l2Norms(new Float32Array([3, 4]), 1))).toEqual([5]);
    const { sum: s, clippedCount } = clipAndSum(new Float32Array([3, 4, 0.3, 0.4]), 2, 1);
    expect(clippedCount).toBe(1);
    expect(s[0]).toBeCloseTo(0.9, 6);
    expect(s[1]).toBeCloseTo(1.2, 6);
  });
});

describe('PrivkitError', () => {
  it('is an Error with name, code, argument and index', () => {
    const error = catchPrivkitError(() => weightedMean(new Float32Array(2), 2, [1, -1]));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('PrivkitError');
    expect(error.code).toBe('E_ARG');
    expect(error.argument).toBe('weights');
    expect(error.index).toBe(1);
    expect(error.message).toMatch(/^E_ARG: .*weights\[1\]/);
  });
  it('leaves index undefined for errors that are not element-wise', () => {
    const error = catchPrivkitError(() => l2Norms(new Float32Array(3), 2));
    expect(error.index).toBeUndefined();
  });
});

describe('sync kernels before ready()', () => {
  it('throw E_NOT_READY in a fresh module instance, and work after ready()', async () => {
    vi.resetModules();
    const fresh = await import('../../dist/src/index.js');
    expect(fresh.PrivkitError).not.toBe(PrivkitError); // really a new module instance
    const x = new Float32Array([3, 4]);
    const calls: Array<() => unknown> = [
      () => fresh.l2Norms(x, 1),
      () => fresh.clipByL2(x, 1, 1),
      () => fresh.clipPerLayer(x, 1, [2], 1),
      () => fresh.clipAndSum(x, 1, 1),
      () => fresh.clipValues(x, 0, 1),
      () => fresh.sum(x, 1),
      () => fresh.mean(x, 1),
      () => fresh.weightedMean(x, 1, [1]),
    ];
    for (const call of calls) {
      let thrown: unknown;
      try {
        call();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(fresh.PrivkitError);
      expect((thrown as PrivkitError).code).toBe('E_NOT_READY');
    }
    // argument errors are still reported first, without needing the engine
    let argError: unknown;
    try {
      fresh.l2Norms([3, 4] as unknown as Float32Array, 1);
    } catch (error) {
      argError = error;
    }
    expect((argError as PrivkitError).code).toBe('E_ARG');

    await fresh.ready();
    expect(Array.from(fresh.l2Norms(x, 1))).toEqual([5]);
    vi.resetModules();
  });
});
