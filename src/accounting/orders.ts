// Validation of user-supplied RDP orders.
import { describe } from '../validate.js';
import { argError } from './events.js';
import { DEFAULT_ORDERS } from './rdp.js';

/** Checks `orders` (a non-empty array of numbers > 1; Infinity allowed) and returns a frozen copy, or the defaults. */
export function normalizeOrders(orders: unknown, name = 'orders'): readonly number[] {
  if (orders === undefined) return DEFAULT_ORDERS;
  if (!Array.isArray(orders) && !(orders instanceof Float64Array)) {
    throw argError(name, `must be an array of numbers > 1, got ${describe(orders)}`);
  }
  if (orders.length === 0) throw argError(name, 'must hold at least one order');
  const copy = Array.from(orders as ArrayLike<unknown>, (alpha, i) => {
    if (typeof alpha !== 'number' || !(alpha > 1)) {
      throw argError(name, `must be a number > 1, got ${describe(alpha)}`, i);
    }
    return alpha;
  });
  return Object.freeze(copy);
}
