// anonymityReport on tables whose classes, k violations and l-diversity are counted by hand.
import { describe, expect, it } from 'vitest';
import { anonymityReport } from 'privkit/protect';
import { expectPrivkitError } from '../support/helpers.js';

const table = [
  { zip: '021**', age: '[30, 40)', disease: 'flu' },
  { zip: '021**', age: '[30, 40)', disease: 'flu' },
  { zip: '021**', age: '[30, 40)', disease: 'asthma' },
  { zip: '021**', age: '[30, 40)', disease: 'cancer' },
  { zip: '021**', age: '[40, 50)', disease: 'flu' },
  { zip: '021**', age: '[40, 50)', disease: 'flu' },
  { zip: '100**', age: '[40, 50)', disease: 'hiv' },
];

describe('anonymityReport', () => {
  it('counts classes, the smallest class and the records violating k', () => {
    const report = anonymityReport(table, { quasiIdentifiers: ['zip', 'age'], k: 2 });
    expect(report).toEqual({ records: 7, classes: 3, smallestClass: 1, k: 2, classesViolatingK: 1, recordsViolatingK: 1 });
    const k3 = anonymityReport(table, { quasiIdentifiers: ['zip', 'age'], k: 3 });
    expect([k3.classesViolatingK, k3.recordsViolatingK]).toEqual([2, 3]);
    const byZip = anonymityReport(table, { quasiIdentifiers: ['zip'], k: 2 });
    expect([byZip.classes, byZip.smallestClass]).toEqual([2, 1]);
  });

  it('reports distinct and entropy l-diversity', () => {
    const { diversity } = anonymityReport(table, { quasiIdentifiers: ['zip', 'age'], k: 1, sensitive: 'disease', l: 2 });
    // classes: {flu, flu, asthma, cancer} (3 distinct, H = -(1/2 ln 1/2 + 2 x 1/4 ln 1/4) = 1.5 ln 2), {flu, flu} (1), {hiv} (1)
    expect(diversity).toMatchObject({ l: 2, smallestDistinct: 1, classesViolatingDistinct: 2, recordsViolatingDistinct: 3 });
    expect(diversity!.entropyL).toBe(1); // exp(0): a class with one value
    expect([diversity!.classesViolatingEntropy, diversity!.recordsViolatingEntropy]).toEqual([2, 3]);
    const first = anonymityReport(table.slice(0, 4), { quasiIdentifiers: ['zip', 'age'], k: 1, sensitive: 'disease', l: 3 }).diversity!;
    expect(first.entropyL).toBeCloseTo(2 ** 1.5, 12);
    // 3 distinct values but entropy l = 2.83 < 3: distinct 3-diverse, not entropy 3-diverse
    expect([first.classesViolatingDistinct, first.classesViolatingEntropy]).toEqual([0, 1]);
    // l equally frequent values are entropy l-diverse despite rounding
    const uniform = Array.from({ length: 21 }, (_, i) => ({ q: 1, s: i % 7 }));
    expect(anonymityReport(uniform, { quasiIdentifiers: ['q'], k: 1, sensitive: 's', l: 7 }).diversity!.classesViolatingEntropy).toBe(0);
  });

  it('tells value types apart, treats null and a missing value alike, and handles an empty table', () => {
    const mixed = [{ q: 1 }, { q: '1' }, { q: null }, {}, { q: new Date(0) }, { q: new Date(0) }];
    expect(anonymityReport(mixed, { quasiIdentifiers: ['q'], k: 2 })).toMatchObject({ classes: 4, smallestClass: 1, recordsViolatingK: 2 });
    expect(anonymityReport([], { quasiIdentifiers: ['q'], k: 5, sensitive: 's', l: 2 })).toMatchObject({ records: 0, classes: 0, smallestClass: 0, recordsViolatingK: 0 });
  });

  it('refuses bad arguments, naming them', () => {
    const q = { quasiIdentifiers: ['zip'], k: 2 };
    expectPrivkitError(() => anonymityReport(table, { ...q, quasiIdentifiers: [] }), 'E_ARG', 'quasiIdentifiers');
    expectPrivkitError(() => anonymityReport(table, { ...q, quasiIdentifiers: ['zip', 'zip'] }), 'E_ARG', 'quasiIdentifiers');
    expectPrivkitError(() => anonymityReport(table, { ...q, quasiIdentifiers: [3 as never] }), 'E_ARG', 'quasiIdentifiers[0]');
    expectPrivkitError(() => anonymityReport(table, { ...q, k: 0 }), 'E_ARG', 'k');
    expectPrivkitError(() => anonymityReport(table, { ...q, sensitive: 'disease' }), 'E_ARG', 'l');
    expectPrivkitError(() => anonymityReport(table, { ...q, l: 2 }), 'E_ARG', 'sensitive');
    expectPrivkitError(() => anonymityReport(table, { ...q, sensitive: 'zip', l: 2 }), 'E_ARG', 'sensitive');
    expectPrivkitError(() => anonymityReport([{ zip: { a: 1 } }], q), 'E_ARG', 'records[0].zip', 0);
    expectPrivkitError(() => anonymityReport([null as never], q), 'E_ARG', 'records', 0);
    expectPrivkitError(() => anonymityReport('table' as never, q), 'E_ARG', 'records');
  });
});
