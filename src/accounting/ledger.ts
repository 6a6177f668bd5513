// EventLedger: the events an accountant has recorded, merged by mechanism and parameters (their steps
// added), so that recording a repeated event is O(1) and cloning or serializing the ledger is
// O(distinct events) however long the training loop ran. Composition is commutative, so merging
// events that were not consecutive changes no epsilon.
import { PrivkitError } from '../errors.js';
import { eventKey, normalizeEvent, sameEvent, type NormalizedEvent, type PrivacyEvent } from './events.js';

export class EventLedger {
  readonly #groups: NormalizedEvent[] = [];
  readonly #index = new Map<string, number>();
  /** The group the last event went to: a training loop repeats one event, found without a key. */
  #last = -1;

  /** The position of the group `e` belongs to, or -1 when it would open a new one. */
  indexOf(e: NormalizedEvent): number {
    const last = this.#groups[this.#last];
    if (last !== undefined && sameEvent(last, e)) return this.#last;
    return this.#index.get(eventKey(e)) ?? -1;
  }

  /** Records `e` (a normalized event, not retained) and returns the position of its group. */
  add(e: NormalizedEvent): number {
    const found = this.indexOf(e);
    if (found >= 0) {
      const group = this.#groups[found]!;
      const steps = group.steps + e.steps;
      if (!Number.isSafeInteger(steps)) {
        throw new PrivkitError('E_OVERFLOW', `event.steps: ${group.steps} + ${e.steps} steps of one event exceed 2^53 - 1`, { argument: 'event.steps' });
      }
      group.steps = steps;
      this.#last = found;
      return found;
    }
    this.#last = this.#groups.length;
    this.#groups.push({ ...e });
    this.#index.set(eventKey(e), this.#last);
    return this.#last;
  }

  get size(): number {
    return this.#groups.length;
  }

  /** Group `i` (read-only: the ledger owns it). */
  group(i: number): Readonly<NormalizedEvent> {
    return this.#groups[i]!;
  }

  /** Copies of the groups, each with its total steps. */
  events(): NormalizedEvent[] {
    return this.#groups.map((g) => ({ ...g }));
  }

  clone(): EventLedger {
    const copy = new EventLedger();
    for (const g of this.#groups) copy.add(g);
    return copy;
  }
}

/** The versioned JSON form of an accountant (`toJSON()`), read back by the accountant's `fromJSON`. */
export interface AccountantJson {
  /** Always 'privkit-accountant': marks the object as an accountant's state. */
  format: 'privkit-accountant';
  /** The version of this format (1); `fromJSON` reads version 1 only. */
  version: 1;
  /** Which accountant wrote it; `fromJSON` of the other one refuses it. */
  accountant: 'rdp' | 'pld';
  /** RDP orders (the RDP accountant; Infinity written as the string 'Infinity'). */
  orders?: (number | 'Infinity')[];
  /** The PLD accountant's epsilonError. */
  epsilonError?: number;
  /** The recorded events, merged, each with its total steps. */
  events: NormalizedEvent[];
}

export const ACCOUNTANT_FORMAT = 'privkit-accountant';
export const ACCOUNTANT_VERSION = 1;

/**
 * Checks the envelope of an accountant's JSON form (an object, or its JSON text) and returns it; the
 * events and settings are checked by the accountant as it replays them.
 */
export function parseAccountantJson(json: unknown, accountant: 'rdp' | 'pld'): Record<string, unknown> & { events: unknown[] } {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch {
      throw new PrivkitError('E_ARG', 'json: not valid JSON text', { argument: 'json' });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PrivkitError('E_ARG', 'json must be an object (or its JSON text) from toJSON()', { argument: 'json' });
  }
  const record = value as Record<string, unknown>;
  if (record['format'] !== ACCOUNTANT_FORMAT) {
    throw new PrivkitError('E_ARG', `json.format must be '${ACCOUNTANT_FORMAT}'`, { argument: 'json.format' });
  }
  if (record['version'] !== ACCOUNTANT_VERSION) {
    throw new PrivkitError('E_ARG', `json.version must be ${ACCOUNTANT_VERSION} (this privkit reads version ${ACCOUNTANT_VERSION} only)`, { argument: 'json.version' });
  }
  if (record['accountant'] !== accountant) {
    throw new PrivkitError('E_ARG', `json.accountant must be '${accountant}' for this accountant`, { argument: 'json.accountant' });
  }
  if (!Array.isArray(record['events'])) throw new PrivkitError('E_ARG', 'json.events must be an array', { argument: 'json.events' });
  return record as Record<string, unknown> & { events: unknown[] };
}

/** Steps `accountant` through every event of a JSON form in order (a hole in the array is a missing event: E_ARG, never skipped). */
export function replayEvents(accountant: { step(event: PrivacyEvent): unknown }, events: readonly unknown[]): void {
  for (let i = 0; i < events.length; i++) accountant.step(normalizeEvent(events[i], `json.events[${i}]`));
}
