// PrivacyBudget: an (epsilon, delta) allowance that records events through an accountant and refuses,
// before recording it, any event that would overspend.
import { PrivkitError } from '../errors.js';
import { assertNumber, describe, readOptions } from '../validate.js';
import { argError, assertDelta, type NormalizedEvent, type PrivacyEvent } from './events.js';
import { PldAccountant } from './pld-accountant.js';
import { RdpAccountant } from './rdp-accountant.js';

export type Accountant = RdpAccountant | PldAccountant;

export interface PrivacyBudgetOptions {
  epsilon: number;
  delta: number;
  /** 'rdp' (default), 'pld', or an accountant whose recorded events count as already spent (it is copied, not shared). */
  accountant?: 'rdp' | 'pld' | Accountant;
}

export class PrivacyBudget {
  readonly epsilon: number;
  readonly delta: number;
  #accountant: Accountant;
  #spent: number;

  constructor(options: PrivacyBudgetOptions) {
    const o = readOptions(options, ['epsilon', 'delta', 'accountant'], 'options');
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

  /** The epsilon the budget would have spent after `event`, without recording it (O(distinct events)). */
  preview(event: PrivacyEvent): number {
    return this.#accountant.clone().step(event).getEpsilon(this.delta).epsilon;
  }

  /** True when `event` fits in the remaining budget. */
  canSpend(event: PrivacyEvent): boolean {
    return this.preview(event) <= this.epsilon;
  }

  /**
   * Records `event` and returns the epsilon spent in total. Throws PrivkitError E_BUDGET, leaving the
   * budget unchanged, when the event would take the spent epsilon above the budget.
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
