// Sweep rows of privkit/accounting: the RDP and PLD accountants (constructors, every method, every
// event kind), budgets, calibration and zCDP conversions.
import * as acc from 'privkit/accounting';
import {
  arrayOf,
  int,
  instance,
  nonNegative,
  num,
  obj,
  oneOf,
  positive,
  probability,
  str,
  union,
  type Domain,
  type Row,
  type SweepRow,
} from '../sweep-harness.js';

const entry = 'privkit/accounting';
const sampling = oneOf(['poisson', 'without-replacement'], { optional: true });
const neighbours = oneOf(['add-remove', 'replace-one'], { optional: true });
const steps = int(1, Number.MAX_SAFE_INTEGER, { optional: true });
const orders = arrayOf(num({ above: 1, infinite: true }), { optional: true });
const sampleRate = num({ above: 0, max: 1 });
/** A sampler's tail mass: in [0, 1), optional. */
const tailMass = num({ min: 0, below: 1, optional: true });

/** One valid event of every kind, with the domain of its fields. */
const EVENTS: Record<string, { event: () => Record<string, unknown>; domain: Domain }> = {
  'subsampled-gaussian': {
    event: () => ({ mechanism: 'subsampled-gaussian', noiseMultiplier: 1.1, sampleRate: 0.01, steps: 100, sampling: 'poisson', neighbours: 'add-remove', slack: 0, tailMass: 1e-20 }),
    domain: obj({
      mechanism: oneOf(['subsampled-gaussian'], { optional: true }),
      noiseMultiplier: nonNegative(),
      sampleRate,
      steps,
      sampling,
      neighbours,
      slack: nonNegative({ optional: true }),
      tailMass,
    }),
  },
  gaussian: {
    event: () => ({ mechanism: 'gaussian', noiseMultiplier: 2, steps: 3, slack: 0.001 }),
    domain: obj({ mechanism: oneOf(['gaussian', 'laplace', 'subsampled-gaussian', 'zcdp', 'distributed-discrete-gaussian']), noiseMultiplier: nonNegative(), steps, slack: nonNegative({ optional: true }), tailMass }),
  },
  laplace: {
    event: () => ({ mechanism: 'laplace', noiseMultiplier: 2, steps: 3 }),
    domain: obj({ mechanism: oneOf(['laplace', 'gaussian', 'subsampled-gaussian', 'zcdp', 'distributed-discrete-gaussian']), noiseMultiplier: nonNegative(), steps }),
  },
  zcdp: {
    event: () => ({ mechanism: 'zcdp', rho: 0.05, steps: 2 }),
    domain: obj({ mechanism: oneOf(['zcdp', 'gaussian', 'laplace', 'subsampled-gaussian', 'distributed-discrete-gaussian']), rho: nonNegative(), steps }),
  },
  'distributed-discrete-gaussian': {
    event: () => ({
      mechanism: 'distributed-discrete-gaussian',
      localSigma: 4,
      clients: 10,
      l2Sensitivity: 8,
      l1Sensitivity: 16,
      dimension: 16,
      sampleRate: 0.5,
      sampling: 'poisson',
      neighbours: 'add-remove',
      steps: 2,
      slack: 0,
      tailMass: 0,
    }),
    domain: obj({
      mechanism: oneOf(['distributed-discrete-gaussian', 'gaussian', 'laplace', 'zcdp', 'subsampled-gaussian']),
      localSigma: num({ min: 0.5 }),
      clients: int(1),
      l2Sensitivity: nonNegative(),
      l1Sensitivity: nonNegative({ optional: true }),
      dimension: int(1),
      sampleRate: num({ above: 0, max: 1, optional: true }),
      sampling,
      neighbours,
      steps,
      slack: nonNegative({ optional: true }),
      tailMass,
    }),
  },
};

/** Events the PLD accountant takes (it refuses Laplace, zCDP and distributed events with E_ARG). */
const PLD_EVENTS = ['subsampled-gaussian', 'gaussian'];

type Accountant = acc.RdpAccountant | acc.PldAccountant;
const accountants = {
  RdpAccountant: { make: () => new acc.RdpAccountant({ orders: [2, 8, 32] }), fromJSON: (j: unknown) => acc.RdpAccountant.fromJSON(j) },
  PldAccountant: { make: () => new acc.PldAccountant({ epsilonError: 0.1 }), fromJSON: (j: unknown) => acc.PldAccountant.fromJSON(j) },
} as const;

const withEvents = (a: Accountant): Accountant => a.step({ noiseMultiplier: 1.1, sampleRate: 0.01, steps: 100 });

const accountantRows: Row[] = (Object.keys(accountants) as (keyof typeof accountants)[]).flatMap((name): Row[] => {
  const { make, fromJSON } = accountants[name];
  const stepRows = Object.entries(EVENTS)
    .filter(([kind]) => name === 'RdpAccountant' || PLD_EVENTS.includes(kind))
    .map(
      ([kind, { event, domain }]): Row => ({
        entry,
        export: name,
        label: `${name}#step ${kind}`,
        setup: make,
        params: [{ name: 'event', domain }],
        // the PLD accountant composes ideal Gaussians only (no sampler slack)
        args: () => [name === 'PldAccountant' ? { ...event(), slack: 0 } : event()],
        // without its mechanism an event is a subsampled Gaussian, which misses other fields
        aliases: { 'event.mechanism': ['sampleRate', 'noiseMultiplier'] },
        call: ([e], a: Accountant) => a.step(e),
        observe: (a: Accountant) => a.events,
      }),
    );
  return [
    {
      entry,
      export: name,
      label: `new ${name}`,
      params: [
        {
          name: 'options',
          domain: name === 'RdpAccountant' ? obj({ orders }, { optional: true }) : obj({ epsilonError: positive({ optional: true }) }, { optional: true }),
        },
      ],
      args: () => [name === 'RdpAccountant' ? { orders: [2, 8, 32] } : { epsilonError: 0.1 }],
      call: ([o]) => (name === 'RdpAccountant' ? new acc.RdpAccountant(o) : new acc.PldAccountant(o)),
      observe: (a: Accountant) => a.toJSON(),
    },
    ...stepRows,
    {
      entry,
      export: name,
      label: `${name}#getEpsilon`,
      setup: () => withEvents(make()),
      params: [{ name: 'delta', domain: probability() }],
      args: () => [1e-5],
      call: ([d], a: Accountant) => a.getEpsilon(d),
    },
    {
      entry,
      export: name,
      label: `${name}#getDelta`,
      setup: () => withEvents(make()),
      params: [{ name: 'epsilon', domain: nonNegative() }],
      args: () => [2],
      call: ([e], a: Accountant) => a.getDelta(e),
    },
    {
      entry,
      export: name,
      label: `${name}#clone,toJSON,getRdp`,
      setup: () => withEvents(make()),
      params: [],
      args: () => [],
      call: (_, a: Accountant) => ({ json: a.clone().toJSON(), rdp: a instanceof acc.RdpAccountant ? a.getRdp() : undefined }),
    },
    {
      entry,
      export: name,
      label: `${name}.fromJSON`,
      params: [
        {
          name: 'json',
          domain: union([
            str(),
            obj({
              format: oneOf(['privkit-accountant']),
              version: oneOf([1]),
              accountant: oneOf([name === 'RdpAccountant' ? 'rdp' : 'pld']),
              ...(name === 'RdpAccountant' ? { orders: arrayOf(union([num({ above: 1, infinite: true }), oneOf(['Infinity'])])) } : { epsilonError: positive() }),
              events: arrayOf(EVENTS['subsampled-gaussian']!.domain),
            }),
          ]),
        },
      ],
      args: () => [withEvents(make()).toJSON()],
      call: ([j]) => fromJSON(j),
      observe: (a: Accountant) => a.toJSON(),
    },
  ];
});

const budgetEvent = EVENTS['subsampled-gaussian']!;
const budget = () => new acc.PrivacyBudget({ epsilon: 8, delta: 1e-5 });
const budgetRows: Row[] = [
  {
    entry,
    export: 'PrivacyBudget',
    label: 'new PrivacyBudget',
    params: [
      {
        name: 'options',
        domain: obj({
          epsilon: positive(),
          delta: probability(),
          accountant: union([oneOf(['rdp', 'pld']), instance('RdpAccountant or PldAccountant')], { optional: true }),
        }),
      },
    ],
    args: () => [{ epsilon: 8, delta: 1e-5, accountant: withEvents(new acc.RdpAccountant()) }],
    call: ([o]) => new acc.PrivacyBudget(o),
    observe: (b: acc.PrivacyBudget) => ({ spent: b.spent, remaining: b.remaining, events: b.events }),
  },
  ...(['preview', 'canSpend', 'spend'] as const).map(
    (method): Row => ({
      entry,
      export: 'PrivacyBudget',
      label: `PrivacyBudget#${method}`,
      setup: budget,
      params: [{ name: 'event', domain: budgetEvent.domain }],
      args: () => [budgetEvent.event()],
      call: ([e], b: acc.PrivacyBudget) => b[method](e),
    }),
  ),
];

const calibrationRows: Row[] = [
  {
    entry,
    export: 'calibrateNoiseMultiplier',
    params: [
      {
        name: 'options',
        domain: obj({
          targetEpsilon: positive(),
          delta: probability(),
          sampleRate,
          steps,
          accountant: oneOf(['rdp', 'pld'], { optional: true }),
          sampling,
          neighbours,
          slack: nonNegative({ optional: true }),
          tailMass,
          orders,
        }),
      },
    ],
    args: () => [{ targetEpsilon: 2, delta: 1e-5, sampleRate: 0.01, steps: 200, accountant: 'rdp', sampling: 'poisson', neighbours: 'add-remove', slack: 0, tailMass: 1e-20, orders: [2, 4, 8, 16, 32] }],
    call: ([o]) => acc.calibrateNoiseMultiplier(o),
  },
  {
    entry,
    export: 'calibrateNoiseMultiplier',
    label: 'calibrateNoiseMultiplier epochs',
    aliases: { 'options.epochs': ['steps'] },
    params: [{ name: 'options', domain: obj({ targetEpsilon: positive(), delta: probability(), sampleRate, epochs: positive() }) }],
    args: () => [{ targetEpsilon: 2, delta: 1e-5, sampleRate: 0.01, epochs: 2 }],
    call: ([o]) => acc.calibrateNoiseMultiplier(o),
  },
  {
    entry,
    export: 'calibrateSteps',
    params: [
      {
        name: 'options',
        domain: obj({
          targetEpsilon: positive(),
          delta: probability(),
          sampleRate,
          noiseMultiplier: nonNegative(),
          accountant: oneOf(['rdp', 'pld'], { optional: true }),
          sampling,
          neighbours,
          orders,
        }),
      },
    ],
    args: () => [{ targetEpsilon: 2, delta: 1e-5, sampleRate: 0.01, noiseMultiplier: 1.2, accountant: 'rdp', sampling: 'poisson', neighbours: 'add-remove', orders: [2, 4, 8, 16, 32] }],
    call: ([o]) => acc.calibrateSteps(o),
  },
];

const zcdpRows: Row[] = [
  {
    entry,
    export: 'discreteGaussianZcdp',
    params: [{ name: 'options', domain: obj({ sigma: positive(), sensitivity: nonNegative({ optional: true }) }) }],
    args: () => [{ sigma: 3, sensitivity: 2 }],
    call: ([o]) => acc.discreteGaussianZcdp(o),
  },
  {
    entry,
    export: 'zcdpToEpsilon',
    params: [{ name: 'rho', domain: nonNegative() }, { name: 'delta', domain: probability() }],
    args: () => [0.1, 1e-6],
    call: ([r, d]) => acc.zcdpToEpsilon(r, d),
  },
  {
    entry,
    export: 'zcdpToDelta',
    params: [{ name: 'rho', domain: nonNegative() }, { name: 'epsilon', domain: nonNegative() }],
    args: () => [0.1, 2],
    call: ([r, e]) => acc.zcdpToDelta(r, e),
  },
  {
    entry,
    export: 'subsampledDistributedEvent',
    params: [
      {
        name: 'release',
        domain: obj({
          localSigma: num({ min: 0.5 }),
          clients: int(1),
          l2Sensitivity: nonNegative(),
          l1Sensitivity: nonNegative({ optional: true }),
          dimension: int(1),
          slack: nonNegative({ optional: true }),
        }),
      },
      { name: 'sampleRate', domain: sampleRate },
      { name: 'sampling', domain: oneOf(['poisson', 'without-replacement']) },
    ],
    args: () => [{ localSigma: 4, clients: 10, l2Sensitivity: 8, l1Sensitivity: 16, dimension: 16, slack: 0 }, 0.5, 'poisson'],
    call: ([r, q, s]) => acc.subsampledDistributedEvent(r, q, s),
  },
];

export const accountingRows: SweepRow[] = [{ entry, export: 'DEFAULT_ORDERS', constant: true }, ...accountantRows, ...budgetRows, ...calibrationRows, ...zcdpRows];
