// PrivacyBudget: an (epsilon, delta) allowance that records events through an accountant and refuses,
// before recording it, any event that would overspend.
import { PrivkitError } from '../errors.js';
import { assertNumber, describe, readOptions } from '../validate.js';
import { argError, assertDelta, type NormalizedEvent, type PrivacyEvent } from './events.js';
import { PldAccountant } from './pld-accountant.js';
import { RdpAccountant } from './rdp-accountant.js';

/** An accountant a {@link PrivacyBudget} can record with. */
export type Accountant = RdpAccountant | PldAccountant;

/** Options of {@link PrivacyBudget}. */
export interface PrivacyBudgetOptions {
  /** The epsilon allowance (> 0). */
  epsilon: number;
  /** The delta every epsilon is measured at, in (0, 1). */
  delta: number;
  /** 'rdp' (default), 'pld', or an accountant whose recorded events count as already spent (it is copied, not shared). */
  accountant?: 'rdp' | 'pld' | Accountant;
}

/**
 * An (epsilon, delta) allowance: records events through an accountant and refuses, before recording
 * it, any event that would take the spent epsilon (at this delta) above the allowance.
 *
 * @example
 * ```ts
 * import { PrivkitError } from 'privkit';
 * import { PrivacyBudget } from 'privkit/accounting';
 * const budget = new PrivacyBudget({ epsilon: 2, delta: 1e-5 });
 * const epoch = { noiseMultiplier: 1.1, sampleRate: 0.004, steps: 250 };
 * while (budget.canSpend(epoch)) {
 *   // ... train one epoch ...
 *   budget.spend(epoch);
 * }
 * try {
 *   budget.spend(epoch);
 * } catch (e) {
 *   if (e instanceof PrivkitError && e.code === 'E_BUDGET') console.log('budget spent:', budget.spent);
 * }
 * ```
 */
export class PrivacyBudget {
  /** The epsilon allowance. */
  readonly epsilon: number;
  /** The delta every epsilon is measured at. */
  readonly delta: number;
  #accountant: Accountant;
  #spent: number;

  /**
   * @throws {PrivkitError} E_ARG when options is not an object, epsilon is not finite and > 0, delta is not in (0, 1), or accountant is not 'rdp', 'pld' or an accountant.
   * @throws {PrivkitError} E_BUDGET when the given accountant has already spent more than epsilon.
   */
  constructor(options: PrivacyBudgetOptions) {
    const o = readOptions(options, ['epsilon', 'delta', 'accountant'], 'options', true);
    this.epsilon = assertNumber('epsilon', o.epsilon, 'positive');
    this.delta = assertDelta('delta', o.delta);
    const accountant = o.accountant === undefined ? 'rdp' : o.accountant;
    if (accountant === 'rdp') this.#accountant = new RdpAccountant();
    else if (accountant === 'pld') this.#accountant = new PldAccountant();
    else if (accountant instanceof RdpAccountant || accountant instanceof PldAccountant) this.#accountant = accountant.clone();
    else throw argError('accountant', `must be 'rdp', 'pld' or an accountant, got ${describe(accountant)}`);
    this.#spent = this.#accountant.getEpsilon(this.delta).epsilon;
    if (this.#spent > this.epsilon) {
      throw new PrivkitError('E_BUDGET', `the accountant has already spent epsilon ${this.#spent} > ${this.epsilon}`, { argument: 'accountant' });
    }
  }

  /** Epsilon spent so far (at this budget's delta). */
  get spent(): number {
    return this.#spent;
  }

  /** Epsilon still available: epsilon - spent, never below 0. */
  get remaining(): number {
    return Math.max(0, this.epsilon - this.#spent);
  }

  /** The events recorded so far (repeated events merged). */
  get events(): readonly NormalizedEvent[] {
    return this.#accountant.events;
  }

  /** A copy of the accountant holding what was spent: persist it with `toJSON()` and resume with `new PrivacyBudget({ ..., accountant: RdpAccountant.fromJSON(json) })`. */
  get accountant(): Accountant {
    return this.#accountant.clone();
  }

  /**
   * The epsilon the budget would have spent after `event`, without recording it (O(distinct events)).
   *
   * @throws {PrivkitError} E_ARG when the event is malformed or the accountant does not take it.
   */
  preview(event: PrivacyEvent): number {
    return this.#accountant.clone().step(event).getEpsilon(this.delta).epsilon;
  }

  /**
   * True when `event` fits in the remaining budget.
   *
   * @throws {PrivkitError} E_ARG when the event is malformed or the accountant does not take it.
   */
  canSpend(event: PrivacyEvent): boolean {
    return this.preview(event) <= this.epsilon;
  }

  /**
   * Records `event` and returns the epsilon spent in total. Throws PrivkitError E_BUDGET, leaving the
   * budget unchanged, when the event would take the spent epsilon above the budget.
   *
   * @throws {PrivkitError} E_BUDGET when the event would overspend (nothing is recorded then).
   * @throws {PrivkitError} E_ARG when the event is malformed or the accountant does not take it.
   */
  spend(event: PrivacyEvent): number {
    const next = this.#accountant.clone().step(event);
    const spent = next.getEpsilon(this.delta).epsilon;
    if (!(spent <= this.epsilon)) {
      throw new PrivkitError(
        'E_BUDGET',
        `spending this event would bring epsilon to ${spent} > budget ${this.epsilon} (delta ${this.delta}; spent so far ${this.#spent})`,
        { argument: 'event' },
      );
    }
    this.#accountant = next;
    this.#spent = spent;
    return spent;
  }
}
