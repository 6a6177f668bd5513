// Every family the benchmark runs, in page order.
import { accounting } from './accounting';
import type { Family } from './family';
import { kernels } from './kernels';
import { noise } from './noise';
import { paillier } from './paillier';
import { prio } from './prio';
import { random } from './random';
import { secagg } from './secagg';

export const FAMILIES: Family[] = [kernels, random, noise, secagg, paillier, prio, accounting];
