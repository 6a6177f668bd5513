// Privacy events: what an accountant records with `step(event)` and a budget with `spend(event)`,
// and their validation (every bad field throws a PrivkitError naming it).
import { PrivkitError } from '../errors.js';
import { assertInteger, assertNumber, assertOneOf, describe, readOptions } from '../validate.js';

/** How a batch is drawn: each record independently with probability q, or a fixed-size uniform sample. */
export type Sampling = 'poisson' | 'without-replacement';

/**
 * The neighbouring relation the epsilon is about: datasets that differ by adding or removing one
 * record, or by replacing one record with another (same size). Poisson sampling is accounted with
 * add/remove neighbours; fixed-size sampling without replacement with replace-one neighbours, under
 * which the sum of clipped terms moves by up to twice the clip norm.
 */
export type Neighbours = 'add-remove' | 'replace-one';

/** One or more DP-SGD steps: the Gaussian mechanism (noise sigma = noiseMultiplier x clip norm) on a subsampled batch. */
export interface SubsampledGaussianEvent {
  /** The mechanism tag; may be left out: an event without one is a subsampled Gaussian. */
  mechanism?: 'subsampled-gaussian';
  /**
   * sigma / C: the standard deviation of the noise actually added to the sum, divided by the clip
   * norm C (the bound on one record's term). 0 means no noise (infinite epsilon). The accountant
   * derives the sensitivity from `neighbours`: C under add/remove, 2C under replace-one.
   */
  noiseMultiplier: number;
  /** q in (0, 1]: the Poisson inclusion probability, or batch size / dataset size without replacement. */
  sampleRate: number;
  /** How many times the step is repeated; a positive integer, 1 by default. */
  steps?: number;
  /** 'poisson' (the default, as Opacus' DPDataLoader) or 'without-replacement' (fixed-size batches). */
  sampling?: Sampling;
  /** 'add-remove' with Poisson sampling (the default there); 'replace-one', required, without replacement. */
  neighbours?: Neighbours;
  /**
   * s >= 0 (default 0): the sampler's pmf is within a factor e^{+-s} of the ideal Gaussian's over the
   * whole output (e.g. secure lattice noise on d coordinates: CentralDpAggregator.slack). Each step's
   * RDP grows by s (2 alpha - 1) / (alpha - 1).
   */
  slack?: number;
  /**
   * T >= 0 (default 0): the probability, under the sampler and under the ideal Gaussian, of the
   * outputs the slack does not cover (the lattice sampler's tail beyond about 8 sigma). It is a
   * total-variation term: accountants add (1 + e^epsilon) x the steps' total tail mass to delta.
   */
  tailMass?: number;
}

/** A released statistic with Gaussian noise: sigma = noiseMultiplier x l2 sensitivity. */
export interface GaussianEvent {
  /** The mechanism tag. */
  mechanism: 'gaussian';
  /** sigma / Delta_2: the noise standard deviation over the L2 sensitivity of the statistic; 0 means no noise (infinite epsilon). */
  noiseMultiplier: number;
  /** How many times the event is repeated (composed); a positive integer, 1 by default. */
  steps?: number;
  /** As in SubsampledGaussianEvent. */
  slack?: number;
  /** As in SubsampledGaussianEvent. */
  tailMass?: number;
}

/** A released statistic with Laplace noise: scale b = noiseMultiplier x l1 sensitivity (pure epsilon = 1 / noiseMultiplier). */
export interface LaplaceEvent {
  /** The mechanism tag. */
  mechanism: 'laplace';
  /** b / Delta_1: the Laplace scale over the L1 sensitivity of the statistic (each step is 1 / noiseMultiplier-DP); 0 means no noise. */
  noiseMultiplier: number;
  /** How many times the event is repeated (composed); a positive integer, 1 by default. */
  steps?: number;
}

/** A mechanism known to be rho-zCDP (e.g. the discrete Gaussian, see `discreteGaussianZcdp`). */
export interface ZcdpEvent {
  /** The mechanism tag. */
  mechanism: 'zcdp';
  /** rho >= 0 of one step (rho-zCDP: RDP epsilon(alpha) = rho alpha at every order). */
  rho: number;
  /** How many times the event is repeated (composed); a positive integer, 1 by default. */
  steps?: number;
}

/**
 * A sum of `clients` integer vectors, each with its own discrete Gaussian noise N_Z(0, localSigma^2)
 * per coordinate (the distributed discrete Gaussian of Kairouz, Liu, Steinke 2021), released through
 * secure aggregation. Every quantity is in quantized (integer) units.
 */
export interface DistributedDiscreteGaussianEvent {
  /** The mechanism tag. */
  mechanism: 'distributed-discrete-gaussian';
  /** Standard deviation of one client's noise per coordinate, in quantized units (>= 1/2). */
  localSigma: number;
  /** How many clients' noise is in the released sum (the survivors of secure aggregation). */
  clients: number;
  /**
   * The client count KLS21's tau (the gap between the sum of discrete Gaussians and one discrete
   * Gaussian, which grows with the count) is computed for; >= clients, clients by default. A bound on
   * the survivors (e.g. the clients per round) makes the charge decrease with the survivors, so the
   * fewest survivors are the costliest round.
   */
  tauClients?: number;
  /**
   * L2 bound on one client's quantized vector. The accountant derives the sensitivity from
   * `neighbours`: this bound under add/remove, twice it under replace-one.
   */
  l2Sensitivity: number;
  /** L1 bound on one client's quantized vector, in [l2Sensitivity, sqrt(dimension) x l2Sensitivity]; the upper end by default. */
  l1Sensitivity?: number;
  /** Length of the vectors. */
  dimension: number;
  /** Probability that a client takes part in a round; 1 by default. */
  sampleRate?: number;
  /** How the round's clients are drawn, as in SubsampledGaussianEvent ('poisson' by default). */
  sampling?: Sampling;
  /** The neighbouring relation (of clients), as in SubsampledGaussianEvent. */
  neighbours?: Neighbours;
  /** How many rounds; a positive integer, 1 by default. */
  steps?: number;
  /** The samplers' pmf slack over the released sum, as in SubsampledGaussianEvent; 0 by default. */
  slack?: number;
  /** The samplers' tail mass over the released sum, as in SubsampledGaussianEvent; 0 by default. */
  tailMass?: number;
}

/**
 * What an accountant's `step` and a budget's `spend` take: one mechanism, repeated `steps` times.
 * An event without `mechanism` is a {@link SubsampledGaussianEvent} (a DP-SGD step).
 */
export type PrivacyEvent = SubsampledGaussianEvent | GaussianEvent | LaplaceEvent | ZcdpEvent | DistributedDiscreteGaussianEvent;

/**
 * A validated event with every default filled in (the form accountants record and write in
 * `toJSON().events`, with the steps of equal events added). Each field means what it means in the
 * event of the same `mechanism`: {@link SubsampledGaussianEvent}, {@link GaussianEvent},
 * {@link LaplaceEvent}, {@link ZcdpEvent} or {@link DistributedDiscreteGaussianEvent}.
 */
export type NormalizedEvent =
  | {
      /** See {@link SubsampledGaussianEvent}. */
      mechanism: 'subsampled-gaussian';
      /** sigma / C. */
      noiseMultiplier: number;
      /** q in (0, 1]. */
      sampleRate: number;
      /** Total repetitions. */
      steps: number;
      /** How batches are drawn. */
      sampling: Sampling;
      /** The neighbouring relation. */
      neighbours: Neighbours;
      /** The sampler's pmf slack (0 when none). */
      slack: number;
      /** The sampler's tail mass (0 when none). */
      tailMass: number;
    }
  | {
      /** See {@link GaussianEvent}. */
      mechanism: 'gaussian';
      /** sigma / Delta_2. */
      noiseMultiplier: number;
      /** Total repetitions. */
      steps: number;
      /** The sampler's pmf slack (0 when none). */
      slack: number;
      /** The sampler's tail mass (0 when none). */
      tailMass: number;
    }
  | {
      /** See {@link LaplaceEvent}. */
      mechanism: 'laplace';
      /** b / Delta_1. */
      noiseMultiplier: number;
      /** Total repetitions. */
      steps: number;
    }
  | {
      /** See {@link ZcdpEvent}. */
      mechanism: 'zcdp';
      /** rho of one step. */
      rho: number;
      /** Total repetitions. */
      steps: number;
    }
  | {
      /** See {@link DistributedDiscreteGaussianEvent}. */
      mechanism: 'distributed-discrete-gaussian';
      /** One client's noise standard deviation per coordinate, in quantized units. */
      localSigma: number;
      /** Clients whose noise is in the sum. */
      clients: number;
      /** The client count tau is computed for (>= clients). */
      tauClients: number;
      /** L2 bound on one client's quantized vector. */
      l2Sensitivity: number;
      /** L1 bound on one client's quantized vector. */
      l1Sensitivity: number;
      /** Length of the vectors. */
      dimension: number;
      /** Client sampling rate. */
      sampleRate: number;
      /** How clients are drawn. */
      sampling: Sampling;
      /** The neighbouring relation. */
      neighbours: Neighbours;
      /** Total rounds. */
      steps: number;
      /** The samplers' pmf slack (0 when none). */
      slack: number;
      /** The samplers' tail mass (0 when none). */
      tailMass: number;
    };

/** An E_ARG error about `argument` (and, for an array, the element at `index`). */
export function argError(argument: string, message: string, index?: number): PrivkitError {
  const where = index === undefined ? argument : `${argument}[${index}]`;
  return new PrivkitError('E_ARG', `${where} ${message}`, index === undefined ? { argument } : { argument, index });
}

export function assertSampleRate(name: string, value: unknown): number {
  const q = assertNumber(name, value, 'positive');
  if (q > 1) throw argError(name, `must be in (0, 1], got ${q}`);
  return q;
}

export function assertDelta(name: string, value: unknown): number {
  const delta = assertNumber(name, value, 'positive');
  if (delta >= 1) throw argError(name, `must be in (0, 1), got ${delta}`);
  return delta;
}

export function assertSteps(name: string, value: unknown): number {
  return assertInteger(name, value, 1);
}

/**
 * The sampling and neighbouring relation of a sampled event (fields `${prefix}sampling` and
 * `${prefix}neighbours` in errors). Poisson sampling amplifies under add/remove neighbours
 * (Mironov, Talwar, Zhang 2019); fixed-size sampling without replacement under replace-one neighbours
 * (see replace-one.ts). Any other pairing, or without replacement with no relation named, is refused:
 * the two conventions differ by a factor of two in the sensitivity, and guessing wrong would understate
 * epsilon. At sampleRate 1 nothing is sampled and either relation may be named (add/remove by default).
 */
export function resolveSampling(prefix: string, sampling: unknown, neighbours: unknown, sampleRate: number): { sampling: Sampling; neighbours: Neighbours } {
  const s = sampling === undefined ? 'poisson' : sampling;
  if (s !== 'poisson' && s !== 'without-replacement') {
    throw argError(`${prefix}sampling`, `must be 'poisson' or 'without-replacement', got ${describe(s)}`);
  }
  const name = `${prefix}neighbours`;
  if (neighbours !== undefined && neighbours !== 'add-remove' && neighbours !== 'replace-one') {
    throw argError(name, `must be 'add-remove' or 'replace-one', got ${describe(neighbours)}`);
  }
  if (sampleRate === 1) return { sampling: s, neighbours: neighbours ?? (s === 'poisson' ? 'add-remove' : 'replace-one') };
  if (s === 'poisson') {
    if (neighbours === 'replace-one') {
      throw argError(name, "must be 'add-remove' with Poisson sampling (use sampling 'without-replacement' for replace-one neighbours)");
    }
    return { sampling: s, neighbours: 'add-remove' };
  }
  if (neighbours === undefined) {
    throw argError(name, "must be given with sampling 'without-replacement': 'replace-one' (one record replaced, so the sum moves by up to twice the clip norm)");
  }
  if (neighbours === 'add-remove') {
    throw argError(name, "must be 'replace-one' with sampling 'without-replacement' (use Poisson sampling for add/remove neighbours)");
  }
  return { sampling: s, neighbours };
}

/** Every field any event has (each read once from the caller's event, see readOptions). */
const EVENT_KEYS = [
  'mechanism',
  'steps',
  'noiseMultiplier',
  'sampleRate',
  'sampling',
  'neighbours',
  'slack',
  'tailMass',
  'rho',
  'localSigma',
  'clients',
  'tauClients',
  'dimension',
  'l2Sensitivity',
  'l1Sensitivity',
] as const;
type EventKey = (typeof EVENT_KEYS)[number];

/** Checks an event and fills in its defaults; `name` prefixes the field names in errors (e.g. `event`). */
export function normalizeEvent(event: unknown, name = 'event'): NormalizedEvent {
  if (event === undefined || event === null) throw argError(name, `must be an event object, got ${describe(event)}`);
  const e: Record<string, unknown> = readOptions(event as Record<EventKey, unknown>, EVENT_KEYS, name, true);
  const steps = e['steps'] === undefined ? 1 : assertSteps(`${name}.steps`, e['steps']);
  const mechanism = e['mechanism'] === undefined ? 'subsampled-gaussian' : e['mechanism'];
  switch (mechanism) {
    case 'subsampled-gaussian': {
      const sampleRate = assertSampleRate(`${name}.sampleRate`, e['sampleRate']);
      return {
        mechanism: 'subsampled-gaussian',
        noiseMultiplier: assertNumber(`${name}.noiseMultiplier`, e['noiseMultiplier'], 'nonnegative'),
        sampleRate,
        steps,
        ...resolveSampling(`${name}.`, e['sampling'], e['neighbours'], sampleRate),
        slack: e['slack'] === undefined ? 0 : assertNumber(`${name}.slack`, e['slack'], 'nonnegative'),
        tailMass: tailMass(name, e['tailMass']),
      };
    }
    case 'gaussian':
      return {
        mechanism: 'gaussian',
        noiseMultiplier: assertNumber(`${name}.noiseMultiplier`, e['noiseMultiplier'], 'nonnegative'),
        steps,
        slack: e['slack'] === undefined ? 0 : assertNumber(`${name}.slack`, e['slack'], 'nonnegative'),
        tailMass: tailMass(name, e['tailMass']),
      };
    case 'laplace':
      return { mechanism: 'laplace', noiseMultiplier: assertNumber(`${name}.noiseMultiplier`, e['noiseMultiplier'], 'nonnegative'), steps };
    case 'zcdp':
      return { mechanism: 'zcdp', rho: assertNumber(`${name}.rho`, e['rho'], 'nonnegative'), steps };
    case 'distributed-discrete-gaussian': {
      const localSigma = assertNumber(`${name}.localSigma`, e['localSigma'], 'positive');
      if (localSigma < 0.5) throw argError(`${name}.localSigma`, `must be >= 0.5 (KLS21, Prop. 14), got ${localSigma}`);
      const dimension = assertInteger(`${name}.dimension`, e['dimension'], 1);
      const l2Sensitivity = assertNumber(`${name}.l2Sensitivity`, e['l2Sensitivity'], 'nonnegative');
      const sampleRate = e['sampleRate'] === undefined ? 1 : assertSampleRate(`${name}.sampleRate`, e['sampleRate']);
      const clients = assertInteger(`${name}.clients`, e['clients'], 1);
      const tauClients = e['tauClients'] === undefined ? clients : assertInteger(`${name}.tauClients`, e['tauClients'], 1);
      if (tauClients < clients) throw argError(`${name}.tauClients`, `must be >= clients (${clients}), got ${tauClients}`);
      return {
        mechanism: 'distributed-discrete-gaussian',
        localSigma,
        clients,
        tauClients,
        l2Sensitivity,
        l1Sensitivity: l1Sensitivity(name, e['l1Sensitivity'], l2Sensitivity, dimension),
        dimension,
        sampleRate,
        ...resolveSampling(`${name}.`, e['sampling'], e['neighbours'], sampleRate),
        steps,
        slack: e['slack'] === undefined ? 0 : assertNumber(`${name}.slack`, e['slack'], 'nonnegative'),
        tailMass: tailMass(name, e['tailMass']),
      };
    }
    default:
      throw argError(
        `${name}.mechanism`,
        `must be 'subsampled-gaussian', 'gaussian', 'laplace', 'zcdp' or 'distributed-discrete-gaussian', got ${typeof mechanism === 'string' ? `'${mechanism.slice(0, 40)}'` : describe(mechanism)}`,
      );
  }
}

/**
 * The total tail mass of `events` (each event's tailMass times its steps, rounded up): a union bound
 * on the probability that any release met its sampler's tail set.
 */
export function totalTailMass(events: readonly NormalizedEvent[]): number {
  let total = 0;
  for (const e of events) if ('tailMass' in e && e.tailMass > 0) total += e.tailMass * e.steps * (1 + 1e-15);
  return Math.min(1, total * (1 + 1e-12));
}

/** A tail mass: in [0, 1), 0 by default. */
function tailMass(name: string, value: unknown): number {
  if (value === undefined) return 0;
  const t = assertNumber(`${name}.tailMass`, value, 'nonnegative');
  if (!(t < 1)) throw argError(`${name}.tailMass`, `must be < 1, got ${t}`);
  return t;
}

/** The l1 bound of a distributed discrete Gaussian event: l2 <= l1 <= sqrt(d) l2 for any vector. */
function l1Sensitivity(name: string, value: unknown, l2: number, dimension: number): number {
  const most = Math.sqrt(dimension) * l2;
  if (value === undefined) return most;
  const l1 = assertNumber(`${name}.l1Sensitivity`, value, 'nonnegative');
  if (l1 < l2) throw argError(`${name}.l1Sensitivity`, `must be >= l2Sensitivity (${l2}), got ${l1}`);
  return Math.min(l1, most);
}

/**
 * True when two normalized events are the same mechanism with the same parameters (steps aside), so
 * an accountant may record them as one event with the steps added.
 */
export function sameEvent(a: NormalizedEvent, b: NormalizedEvent): boolean {
  if (a.mechanism !== b.mechanism) return false;
  for (const key of Object.keys(a) as (keyof NormalizedEvent)[]) {
    if (key !== 'steps' && !Object.is(a[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/** A string equal for exactly the events `sameEvent` equates. */
export function eventKey(e: NormalizedEvent): string {
  return Object.entries(e)
    .filter(([key]) => key !== 'steps')
    .map(([key, value]) => `${key}=${Object.is(value, -0) ? '-0' : String(value)}`)
    .join(';');
}

/**
 * The accounting event of one round of a distributed discrete Gaussian release (`release`: its noise,
 * clients and one client's bounds) whose clients were sampled at rate q: Poisson sampling with
 * add/remove neighbours, or a fixed-size sample without replacement with replace-one neighbours.
 * Every field is checked as the accountants check events (E_ARG naming `release.<field>`).
 */
export function subsampledDistributedEvent(
  release: Omit<DistributedDiscreteGaussianEvent, 'sampleRate' | 'sampling' | 'neighbours' | 'steps' | 'mechanism'>,
  sampleRate: number,
  sampling: Sampling,
): DistributedDiscreteGaussianEvent {
  const r = readOptions(release, ['localSigma', 'clients', 'tauClients', 'dimension', 'l2Sensitivity', 'l1Sensitivity', 'slack', 'tailMass'], 'release');
  const q = assertSampleRate('sampleRate', sampleRate);
  const s = assertOneOf('sampling', sampling, ['poisson', 'without-replacement'] as const);
  const e = normalizeEvent(
    {
      mechanism: 'distributed-discrete-gaussian',
      localSigma: r.localSigma,
      clients: r.clients,
      tauClients: r.tauClients,
      dimension: r.dimension,
      l2Sensitivity: r.l2Sensitivity,
      l1Sensitivity: r.l1Sensitivity,
      slack: r.slack,
      tailMass: r.tailMass,
      sampleRate: q,
      sampling: s,
      neighbours: s === 'poisson' ? 'add-remove' : 'replace-one',
    },
    'release',
  );
  const { steps: _steps, ...event } = e as Extract<NormalizedEvent, { mechanism: 'distributed-discrete-gaussian' }>;
  return event;
}
