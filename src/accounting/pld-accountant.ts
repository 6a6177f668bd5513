// PldAccountant: composes Gaussian events through their privacy loss distributions (see pld.ts) and
// reports an upper bound on epsilon that is never above the RDP bound for the same events. Events
// are merged as in RdpAccountant, so step() is O(1); the composition is computed (and cached) when an
// epsilon or delta is asked for.
import { PrivkitError } from '../errors.js';
import { assertNumber, readOptions } from '../validate.js';
import { deltaWithTail, epsilonWithTail, type DeltaResult, type EpsilonResult } from './conversion.js';
import { assertDelta, normalizeEvent, totalTailMass, type NormalizedEvent, type PrivacyEvent } from './events.js';
import { ACCOUNTANT_FORMAT, ACCOUNTANT_VERSION, EventLedger, parseAccountantJson, replayEvents, type AccountantJson } from './ledger.js';
import { composePld, pldDelta, pldEpsilon, type ComposedPld, type PldGroup } from './pld.js';
import { RdpAccountant } from './rdp-accountant.js';

/** Options of {@link PldAccountant}. */
export interface PldAccountantOptions {
  /**
   * The Hoeffding margin s added to the PLD estimate to make it an upper bound, in epsilon units
   * (0.01 by default, as Opacus' PRV accountant). Smaller values refine the grid (time and memory ~ 1/s).
   */
  epsilonError?: number;
}

/** {@link PldAccountant.getEpsilon}'s result: the upper bound `epsilon`, and the estimate and margin behind it. */
export interface PldEpsilonResult extends EpsilonResult {
  /** The PLD point estimate of epsilon (not a bound). */
  estimate: number;
  /** The margin the PLD upper bound adds to the estimate (epsilonError plus the rounding-bias bound). */
  errorBound: number;
}

/** Of all the delta, this share is set aside for the PLD's own slack (Hoeffding, truncation, wrap-around). */
const SLACK_SHARE = 1e-3;

/** The PLD group of an event: the Poisson-subsampled Gaussian with add/remove neighbours, or the plain Gaussian (q = 1). */
function pldGroup(e: NormalizedEvent): PldGroup {
  if ((e.mechanism === 'subsampled-gaussian' || e.mechanism === 'gaussian') && e.slack > 0) {
    throw new PrivkitError('E_ARG', 'event.slack: PldAccountant composes ideal Gaussians only; use RdpAccountant for a sampler with slack', {
      argument: 'event.slack',
    });
  }
  if (e.mechanism === 'subsampled-gaussian' && e.neighbours === 'add-remove') {
    return { sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier, steps: e.steps };
  }
  if (e.mechanism === 'gaussian') return { sampleRate: 1, noiseMultiplier: e.noiseMultiplier, steps: e.steps };
  const argument = e.mechanism === 'subsampled-gaussian' ? 'event.sampling' : 'event.mechanism';
  throw new PrivkitError(
    'E_ARG',
    `${argument}: PldAccountant handles the Poisson-subsampled and the plain Gaussian mechanism; use RdpAccountant for ${e.mechanism === 'subsampled-gaussian' ? 'replace-one neighbours (sampling without replacement)' : `'${e.mechanism}' events`}`,
    { argument },
  );
}

/**
 * The privacy-loss-distribution accountant: composes Gaussian events through their privacy loss
 * distributions (numerically, on a grid, with FFT) and reports an upper bound on epsilon, never above
 * the RDP bound for the same events (it takes the smaller of the two). Tighter than
 * {@link RdpAccountant} for DP-SGD; handles the Poisson-subsampled Gaussian with add/remove neighbours
 * and the plain Gaussian (events without slack) only.
 *
 * @example
 * ```ts
 * import { PldAccountant, RdpAccountant } from 'privkit/accounting';
 * const event = { noiseMultiplier: 1.1, sampleRate: 0.004, steps: 2500 };
 * const pld = new PldAccountant().step(event).getEpsilon(1e-5);
 * const rdp = new RdpAccountant().step(event).getEpsilon(1e-5);
 * console.log(pld.epsilon, '<=', rdp.epsilon, 'estimate', pld.estimate);
 * ```
 */
export class PldAccountant {
  /** The Hoeffding margin in epsilon units (see {@link PldAccountantOptions.epsilonError}). */
  readonly epsilonError: number;
  #ledger = new EventLedger();
  /** The same events in an RDP accountant: its bound caps the PLD's. */
  #rdp = new RdpAccountant();
  #cache = new Map<number, ComposedPld>();

  /**
   * @param options - the epsilon margin (default 0.01).
   * @throws {PrivkitError} E_ARG when options is not an object or epsilonError is not finite and > 0.
   */
  constructor(options: PldAccountantOptions = {}) {
    const { epsilonError } = readOptions(options, ['epsilonError'], 'options', true);
    this.epsilonError = epsilonError === undefined ? 0.01 : assertNumber('epsilonError', epsilonError, 'positive');
  }

  /**
   * Records `event`: the Poisson-subsampled or the plain Gaussian mechanism. Returns this accountant.
   *
   * @throws {PrivkitError} E_ARG when a field of the event is missing or out of range, or the event is not a Poisson-subsampled (add/remove) or plain Gaussian without slack (use {@link RdpAccountant} for those).
   * @throws {PrivkitError} E_OVERFLOW when the steps of one event add up beyond 2^53 - 1.
   */
  step(event: PrivacyEvent): this {
    const e = normalizeEvent(event);
    pldGroup(e);
    this.#ledger.add(e);
    // the tail mass is a delta term this accountant adds itself, after min(PLD, RDP)
    this.#rdp.step('tailMass' in e ? { ...e, tailMass: 0 } : e);
    if (this.#cache.size > 0) this.#cache = new Map();
    return this;
  }

  /** The events recorded so far, with defaults filled in, repeated events merged (their steps added). */
  get events(): NormalizedEvent[] {
    return this.#ledger.events();
  }

  /** The recorded events as PLD groups, one per (sampleRate, noiseMultiplier). */
  #groups(): PldGroup[] {
    const groups: PldGroup[] = [];
    for (let i = 0; i < this.#ledger.size; i++) {
      const group = pldGroup(this.#ledger.group(i));
      const same = groups.find((g) => g.sampleRate === group.sampleRate && g.noiseMultiplier === group.noiseMultiplier);
      if (same) same.steps += group.steps;
      else groups.push(group);
    }
    return groups;
  }

  #compose(deltaError: number): ComposedPld {
    let pld = this.#cache.get(deltaError);
    if (!pld) {
      pld = composePld(this.#groups(), this.epsilonError, deltaError);
      this.#cache.set(deltaError, pld);
    }
    return pld;
  }

  /**
   * An upper bound on epsilon at `delta`: min(PLD upper bound, RDP bound), with the events' tail mass
   * T taking (1 + e^epsilon) T of delta (as in {@link RdpAccountant.getEpsilon}).
   *
   * @param delta - in (0, 1).
   * @throws {PrivkitError} E_ARG when delta is not in (0, 1).
   */
  getEpsilon(delta: number): PldEpsilonResult {
    assertDelta('delta', delta);
    if (this.#ledger.size === 0) return { epsilon: 0, estimate: 0, errorBound: 0 };
    const infinite = { epsilon: Number.POSITIVE_INFINITY, estimate: Number.POSITIVE_INFINITY, errorBound: 0 };
    return epsilonWithTail((d) => this.#epsilonOfComposition(d), delta, totalTailMass(this.events), infinite);
  }

  #epsilonOfComposition(delta: number): PldEpsilonResult {
    const rdp = this.#rdp.getEpsilon(delta).epsilon;
    if (rdp === Number.POSITIVE_INFINITY) return { epsilon: rdp, estimate: rdp, errorBound: 0 };
    const pld = this.#compose(delta * SLACK_SHARE);
    // No grid fits the composition (~1e11 steps or more): the RDP bound stands alone.
    if (pld.directions.length === 0) return { epsilon: rdp, estimate: rdp, errorBound: 0 };
    const { upper, estimate } = pldEpsilon(pld, delta);
    return { epsilon: Math.min(upper, rdp), estimate, errorBound: pld.epsilonShift };
  }

  /**
   * An upper bound on delta at `epsilon`: min(PLD bound, RDP bound), plus (1 + e^epsilon) times the
   * events' tail mass.
   *
   * @param epsilon - finite and >= 0.
   * @throws {PrivkitError} E_ARG when epsilon is not finite and >= 0.
   */
  getDelta(epsilon: number): DeltaResult {
    assertNumber('epsilon', epsilon, 'nonnegative');
    if (this.#ledger.size === 0) return { delta: 0 };
    return deltaWithTail(this.#deltaOfComposition(epsilon), epsilon, totalTailMass(this.events));
  }

  #deltaOfComposition(epsilon: number): DeltaResult {
    const rdp = this.#rdp.getDelta(epsilon);
    if (rdp.delta === 0) return { delta: 0 };
    if (this.#groups().some((g) => g.noiseMultiplier === 0)) return { delta: 1 };
    // The PLD slack is a share of the RDP delta; a second pass re-sizes it to the (smaller) PLD delta.
    let deltaError = rdp.delta * SLACK_SHARE;
    let delta = pldDelta(this.#compose(deltaError), epsilon);
    if (delta * SLACK_SHARE < deltaError / 2) {
      deltaError = delta * SLACK_SHARE;
      delta = pldDelta(this.#compose(deltaError), epsilon);
    }
    return { delta: Math.min(rdp.delta, delta) };
  }

  /** An independent accountant with the same settings and events (O(distinct events)). */
  clone(): PldAccountant {
    const copy = new PldAccountant({ epsilonError: this.epsilonError });
    copy.#ledger = this.#ledger.clone();
    copy.#rdp = this.#rdp.clone();
    copy.#cache = new Map(this.#cache);
    return copy;
  }

  /** The accountant as versioned JSON (epsilonError and merged events), for `PldAccountant.fromJSON`. */
  toJSON(): AccountantJson {
    return { format: ACCOUNTANT_FORMAT, version: ACCOUNTANT_VERSION, accountant: 'pld', epsilonError: this.epsilonError, events: this.events };
  }

  /**
   * Rebuilds an accountant from `toJSON()` output (the object or its JSON text). Throws PrivkitError E_ARG on anything malformed.
   *
   * @throws {PrivkitError} E_ARG when json is not valid JSON text or an object of format 'privkit-accountant', version 1, accountant 'pld', or its epsilonError or an event is malformed.
   */
  static fromJSON(json: unknown): PldAccountant {
    const record = parseAccountantJson(json, 'pld');
    const accountant = new PldAccountant({ epsilonError: assertNumber('json.epsilonError', record['epsilonError'], 'positive') });
    replayEvents(accountant, record.events);
    return accountant;
  }
}
