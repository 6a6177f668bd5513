// RdpAccountant: composes privacy events by adding their Renyi DP at each order and converts the
// total to (epsilon, delta) (Mironov 2017; Balle et al. 2020, Thm 21).
import { rdpToDelta, rdpToEpsilon, type DeltaResult, type EpsilonResult } from './conversion.js';
import { assertDelta, normalizeEvent, type NormalizedEvent, type PrivacyEvent } from './events.js';
import { normalizeOrders } from './orders.js';
import { eventRdp } from './rdp.js';
import { assertNumber } from '../validate.js';

export interface RdpAccountantOptions {
  /** RDP orders (each > 1, Infinity allowed); DEFAULT_ORDERS when omitted. */
  orders?: readonly number[];
}

export class RdpAccountant {
  /** The orders the RDP is tracked at. */
  readonly orders: readonly number[];
  readonly #rdp: Float64Array;
  readonly #events: NormalizedEvent[] = [];

  constructor(options: RdpAccountantOptions = {}) {
    this.orders = normalizeOrders(options.orders, 'orders');
    this.#rdp = new Float64Array(this.orders.length);
  }

  /** Records `event` (all its steps). Returns this accountant. */
  step(event: PrivacyEvent): this {
    const normalized = normalizeEvent(event);
    const rdp = eventRdp(normalized, this.orders);
    for (let k = 0; k < rdp.length; k++) this.#rdp[k] += rdp[k]!;
    this.#events.push(normalized);
    return this;
  }

  /** The events recorded so far, with defaults filled in. */
  get events(): readonly NormalizedEvent[] {
    return this.#events.slice();
  }

  /** The total RDP at each of `orders` (a copy). */
  getRdp(): Float64Array {
    return this.#rdp.slice();
  }

  /** The smallest epsilon over the orders at which the recorded events are (epsilon, delta)-DP. */
  getEpsilon(delta: number): EpsilonResult {
    return rdpToEpsilon(this.orders, this.#rdp, assertDelta('delta', delta));
  }

  /** The smallest delta over the orders at which the recorded events are (epsilon, delta)-DP. */
  getDelta(epsilon: number): DeltaResult {
    return rdpToDelta(this.orders, this.#rdp, assertNumber('epsilon', epsilon, 'nonnegative'));
  }

  /** An independent accountant with the same orders and events. */
  clone(): RdpAccountant {
    const copy = new RdpAccountant({ orders: this.orders });
    copy.#rdp.set(this.#rdp);
    copy.#events.push(...this.#events);
    return copy;
  }
}
