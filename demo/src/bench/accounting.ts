// The accounting family: the epsilon of DP-SGD on MNIST (batch 256 of 60,000 examples, noise
// multiplier 1.1, delta 1e-5) after many steps, from privkit's RDP accountant (one event of T
// steps, and a training loop's T step() calls) and from its PLD accountant (tighter, and slower).
// No JavaScript accountant exists to compare with (Opacus, TF Privacy and dp_accounting are Python),
// so the rows compare the two accountants, with RDP, the common choice, as the baseline.
import { PldAccountant, RdpAccountant } from 'privkit/accounting';
import { count, type BenchContext, type Family, type Group } from './family';

const STEPS = { quick: 1_000, full: 10_000 };
const DELTA = 1e-5;
const STEP = { sampleRate: 256 / 60_000, noiseMultiplier: 1.1 };

function epsilonGroup(ctx: BenchContext): Group {
  const steps = STEPS[ctx.mode];
  const rdp = () => new RdpAccountant().step({ ...STEP, steps }).getEpsilon(DELTA).epsilon;
  const loop = () => {
    const accountant = new RdpAccountant();
    for (let i = 0; i < steps; i++) accountant.step(STEP);
    return accountant.getEpsilon(DELTA).epsilon;
  };
  const pld = () => new PldAccountant().step({ ...STEP, steps }).getEpsilon(DELTA).epsilon;
  const epsilon = (value: number) => `epsilon ${value.toFixed(3)}`;
  return {
    shape: `${count(steps)} steps, sample rate 256/60,000, noise multiplier 1.1, delta 1e-5`,
    setup: "import { PldAccountant, RdpAccountant } from 'privkit/accounting';\nconst step = { sampleRate: 256 / 60_000, noiseMultiplier: 1.1 };",
    baseline: 'rdp',
    tasks: [
      { id: 'rdp', label: 'RDP, one event of T steps', kind: 'privkit', code: 'new RdpAccountant().step({ ...step, steps: T }).getEpsilon(1e-5)', run: rdp, check: () => epsilon(rdp()) },
      { id: 'rdp-loop', label: 'RDP, T step() calls (a training loop)', kind: 'privkit', code: 'for (...) accountant.step(step); accountant.getEpsilon(1e-5)', run: loop, check: () => epsilon(loop()) },
      { id: 'pld', label: 'PLD, one event of T steps', kind: 'privkit', code: 'new PldAccountant().step({ ...step, steps: T }).getEpsilon(1e-5)', run: pld, check: () => epsilon(pld()) },
    ],
  };
}

export const accounting: Family = {
  id: 'accounting',
  title: 'Privacy accounting',
  intro:
    'The privacy loss of a DP-SGD training run. PLD accounting (privacy loss distributions) gives a tighter epsilon than RDP for the same run, at a higher cost. ' +
    'There is no JavaScript accountant to compare with, so RDP is the baseline.',
  groups: [{ id: 'epsilon', title: 'Epsilon after T DP-SGD steps', prepare: epsilonGroup }],
};
