// RdpAccountant: composes privacy events by adding their Renyi DP at each order and converts the
// total to (epsilon, delta) (Mironov 2017; Balle et al. 2020, Thm 21). Repeated events are merged
// (EventLedger), so a training loop that calls step() once per step pays O(1) per call; the RDP of
// each distinct event is computed once and the total is summed when an epsilon is asked for.
import { deltaWithTail, epsilonWithTail, rdpToDelta, rdpToEpsilon, type DeltaResult, type EpsilonResult } from './conversion.js';
import { argError, assertDelta, normalizeEvent, totalTailMass, type NormalizedEvent, type PrivacyEvent } from './events.js';
import { ACCOUNTANT_FORMAT, ACCOUNTANT_VERSION, EventLedger, parseAccountantJson, replayEvents, type AccountantJson } from './ledger.js';
import { normalizeOrders } from './orders.js';
import { eventRdp } from './rdp.js';
import { assertNumber, readOptions } from '../validate.js';

/** Options of {@link RdpAccountant}. */
export interface RdpAccountantOptions {
  /** RDP orders (each > 1, Infinity allowed); DEFAULT_ORDERS when omitted. */
  orders?: readonly number[];
}

/**
 * The Renyi-DP accountant (Mironov 2017): composes privacy events by adding their RDP at each order
 * and converts the total to (epsilon, delta) with the conversion of Balle et al. 2020 (Thm 21),
 * minimized over the orders. Repeated events are merged, so `step` is O(1) per call in a training
 * loop. Covers every {@link PrivacyEvent}, including sampling without replacement (replace-one
 * neighbours) and the distributed discrete Gaussian.
 *
 * @example
 * ```ts
 * import { RdpAccountant } from 'privkit/accounting';
 * const accountant = new RdpAccountant();
 * // DP-SGD: batches of 256 from 64,000 records (Poisson, q = 0.004), sigma = 1.1 x clip norm
 * for (let epoch = 0; epoch < 10; epoch++) accountant.step({ noiseMultiplier: 1.1, sampleRate: 0.004, steps: 250 });
 * const { epsilon, order } = accountant.getEpsilon(1e-5);
 * const saved = JSON.stringify(accountant); // resume later with RdpAccountant.fromJSON(saved)
 * ```
 */
export class RdpAccountant {
  /** The orders the RDP is tracked at. */
  readonly orders: readonly number[];
  #ledger = new EventLedger();
  /** RDP of one step of each ledger group, at each order. */
  #perStep: Float64Array[] = [];
  /** Cached total RDP and epsilons, dropped by step(). */
  #total: Float64Array | undefined;
  #epsilons = new Map<number, EpsilonResult>();

  /**
   * @param options - the RDP orders (default {@link DEFAULT_ORDERS}).
   * @throws {PrivkitError} E_ARG when options is not an object or orders is not a non-empty array of numbers > 1.
   */
  constructor(options: RdpAccountantOptions = {}) {
    this.orders = normalizeOrders(readOptions(options, ['orders'], 'options', true).orders, 'orders');
  }

  /**
   * Records `event` (all its steps). Returns this accountant. O(1) for an event already recorded.
   *
   * @throws {PrivkitError} E_ARG when a field of the event is missing or out of range (the message names it, e.g. `event.sampleRate`), or sampling and neighbours do not pair ('poisson' with 'add-remove', 'without-replacement' with 'replace-one').
   * @throws {PrivkitError} E_OVERFLOW when the steps of one event add up beyond 2^53 - 1.
   */
  step(event: PrivacyEvent): this {
    const e = normalizeEvent(event);
    if (this.#ledger.indexOf(e) < 0) this.#perStep.push(eventRdp({ ...e, steps: 1 }, this.orders));
    this.#ledger.add(e);
    this.#total = undefined;
    if (this.#epsilons.size > 0) this.#epsilons = new Map();
    return this;
  }

  /** The events recorded so far, with defaults filled in, repeated events merged (their steps added). */
  get events(): NormalizedEvent[] {
    return this.#ledger.events();
  }

  #rdp(): Float64Array {
    if (this.#total === undefined) {
      const total = new Float64Array(this.orders.length);
      for (let g = 0; g < this.#ledger.size; g++) {
        const steps = this.#ledger.group(g).steps;
        const perStep = this.#perStep[g]!;
        for (let k = 0; k < total.length; k++) total[k] += perStep[k]! * steps;
      }
      this.#total = total;
    }
    return this.#total;
  }

  /** The total RDP at each of `orders` (a copy). */
  getRdp(): Float64Array {
    return this.#rdp().slice();
  }

  /**
   * The smallest epsilon over the orders at which the recorded events are (epsilon, delta)-DP; the
   * events' tail mass T takes (1 + e^epsilon) T of delta (epsilonWithTail).
   *
   * @param delta - in (0, 1).
   * @throws {PrivkitError} E_ARG when delta is not in (0, 1).
   */
  getEpsilon(delta: number): EpsilonResult {
    assertDelta('delta', delta);
    let result = this.#epsilons.get(delta);
    if (result === undefined) {
      const rdp = this.#rdp();
      result = epsilonWithTail((d) => rdpToEpsilon(this.orders, rdp, d), delta, totalTailMass(this.#ledger.events()), { epsilon: Number.POSITIVE_INFINITY });
      this.#epsilons.set(delta, result);
    }
    return { ...result };
  }

  /**
   * The smallest delta over the orders at which the recorded events are (epsilon, delta)-DP, plus
   * (1 + e^epsilon) times the events' tail mass.
   *
   * @param epsilon - finite and >= 0.
   * @throws {PrivkitError} E_ARG when epsilon is not finite and >= 0.
   */
  getDelta(epsilon: number): DeltaResult {
    assertNumber('epsilon', epsilon, 'nonnegative');
    return deltaWithTail(rdpToDelta(this.orders, this.#rdp(), epsilon), epsilon, totalTailMass(this.#ledger.events()));
  }

  /** An independent accountant with the same orders and events (O(distinct events)). */
  clone(): RdpAccountant {
    const copy = new RdpAccountant({ orders: this.orders });
    copy.#ledger = this.#ledger.clone();
    copy.#perStep = this.#perStep.slice();
    copy.#total = this.#total;
    return copy;
  }

  /** The accountant as versioned JSON (orders and merged events), for `RdpAccountant.fromJSON`. */
  toJSON(): AccountantJson {
    return {
      format: ACCOUNTANT_FORMAT,
      version: ACCOUNTANT_VERSION,
      accountant: 'rdp',
      orders: this.orders.map((alpha) => (alpha === Number.POSITIVE_INFINITY ? 'Infinity' : alpha)),
      events: this.events,
    };
  }

  /**
   * Rebuilds an accountant from `toJSON()` output (the object or its JSON text), re-checking every
   * event and recomputing the RDP from them. Throws PrivkitError E_ARG on anything malformed.
   *
   * @throws {PrivkitError} E_ARG when json is not valid JSON text or an object of format 'privkit-accountant', version 1, accountant 'rdp', or its orders or an event are malformed.
   */
  static fromJSON(json: unknown): RdpAccountant {
    const record = parseAccountantJson(json, 'rdp');
    const orders = record['orders'];
    if (!Array.isArray(orders)) throw argError('json.orders', 'must be an array');
    const accountant = new RdpAccountant({
      orders: normalizeOrders(
        orders.map((alpha: unknown) => (alpha === 'Infinity' ? Number.POSITIVE_INFINITY : alpha)),
        'json.orders',
      ),
    });
    replayEvents(accountant, record.events);
    return accountant;
  }
}
