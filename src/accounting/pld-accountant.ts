// PldAccountant: composes Gaussian events through their privacy loss distributions (see pld.ts) and
// reports an upper bound on epsilon that is never above the RDP bound for the same events.
import { PrivkitError } from '../errors.js';
import { assertNumber } from '../validate.js';
import { rdpToDelta, rdpToEpsilon, type DeltaResult, type EpsilonResult } from './conversion.js';
import { assertDelta, normalizeEvent, type NormalizedEvent, type PrivacyEvent } from './events.js';
import { composePld, pldDelta, pldEpsilon, type ComposedPld, type PldGroup } from './pld.js';
import { DEFAULT_ORDERS, eventRdp } from './rdp.js';

export interface PldAccountantOptions {
  /**
   * The Hoeffding margin s added to the PLD estimate to make it an upper bound, in epsilon units
   * (0.01 by default, as Opacus' PRV accountant). Smaller values refine the grid (time and memory ~ 1/s).
   */
  epsilonError?: number;
}

export interface PldEpsilonResult extends EpsilonResult {
  /** The PLD point estimate of epsilon (not a bound). */
  estimate: number;
  /** The margin the PLD upper bound adds to the estimate (epsilonError plus the rounding-bias bound). */
  errorBound: number;
}

/** Of all the delta, this share is set aside for the PLD's own slack (Hoeffding, truncation, wrap-around). */
const SLACK_SHARE = 1e-3;

export class PldAccountant {
  readonly epsilonError: number;
  readonly #events: NormalizedEvent[] = [];
  readonly #groups: PldGroup[] = [];
  readonly #rdp = new Float64Array(DEFAULT_ORDERS.length);
  #cache = new Map<number, ComposedPld>();

  constructor(options: PldAccountantOptions = {}) {
    this.epsilonError = options.epsilonError === undefined ? 0.01 : assertNumber('epsilonError', options.epsilonError, 'positive');
  }

  /** Records `event`: the Poisson-subsampled or the plain Gaussian mechanism. Returns this accountant. */
  step(event: PrivacyEvent): this {
    const e = normalizeEvent(event);
    let group: PldGroup;
    if (e.mechanism === 'subsampled-gaussian' && e.sampling === 'poisson') {
      group = { sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier, steps: e.steps };
    } else if (e.mechanism === 'gaussian') {
      group = { sampleRate: 1, noiseMultiplier: e.noiseMultiplier, steps: e.steps };
    } else {
      const argument = e.mechanism === 'subsampled-gaussian' ? 'event.sampling' : 'event.mechanism';
      throw new PrivkitError(
        'E_ARG',
        `${argument}: PldAccountant handles the Poisson-subsampled and the plain Gaussian mechanism; use RdpAccountant for ${e.mechanism === 'subsampled-gaussian' ? 'sampling without replacement' : `'${e.mechanism}' events`}`,
        { argument },
      );
    }
    const same = this.#groups.find((g) => g.sampleRate === group.sampleRate && g.noiseMultiplier === group.noiseMultiplier);
    if (same) same.steps += group.steps;
    else this.#groups.push(group);
    const rdp = eventRdp(e, DEFAULT_ORDERS);
    for (let k = 0; k < rdp.length; k++) this.#rdp[k] += rdp[k]!;
    this.#events.push(e);
    this.#cache = new Map();
    return this;
  }

  /** The events recorded so far, with defaults filled in. */
  get events(): readonly NormalizedEvent[] {
    return this.#events.slice();
  }

  #compose(deltaError: number): ComposedPld {
    let pld = this.#cache.get(deltaError);
    if (!pld) {
      pld = composePld(this.#groups, this.epsilonError, deltaError);
      this.#cache.set(deltaError, pld);
    }
    return pld;
  }

  /** An upper bound on epsilon at `delta`: min(PLD upper bound, RDP bound). */
  getEpsilon(delta: number): PldEpsilonResult {
    assertDelta('delta', delta);
    const rdp = rdpToEpsilon(DEFAULT_ORDERS, this.#rdp, delta);
    if (this.#groups.length === 0) return { epsilon: 0, estimate: 0, errorBound: 0 };
    if (rdp.epsilon === Number.POSITIVE_INFINITY) return { epsilon: rdp.epsilon, estimate: rdp.epsilon, errorBound: 0 };
    const pld = this.#compose(delta * SLACK_SHARE);
    const { upper, estimate } = pldEpsilon(pld, delta);
    return { epsilon: Math.min(upper, rdp.epsilon), estimate, errorBound: pld.epsilonShift };
  }

  /** An upper bound on delta at `epsilon`: min(PLD bound, RDP bound). */
  getDelta(epsilon: number): DeltaResult {
    assertNumber('epsilon', epsilon, 'nonnegative');
    const rdp = rdpToDelta(DEFAULT_ORDERS, this.#rdp, epsilon);
    if (this.#groups.length === 0) return { delta: 0 };
    if (this.#groups.some((g) => g.noiseMultiplier === 0)) return { delta: 1 };
    // The PLD slack is a share of the RDP delta; a second pass re-sizes it to the (smaller) PLD delta.
    let deltaError = rdp.delta * SLACK_SHARE;
    let delta = pldDelta(this.#compose(deltaError), epsilon);
    if (delta * SLACK_SHARE < deltaError / 2) {
      deltaError = delta * SLACK_SHARE;
      delta = pldDelta(this.#compose(deltaError), epsilon);
    }
    return { delta: Math.min(rdp.delta, delta) };
  }

  /** An independent accountant with the same settings and events. */
  clone(): PldAccountant {
    const copy = new PldAccountant({ epsilonError: this.epsilonError });
    copy.#events.push(...this.#events);
    copy.#groups.push(...this.#groups.map((g) => ({ ...g })));
    copy.#rdp.set(this.#rdp);
    copy.#cache = this.#cache;
    return copy;
  }
}
