// Types of scripts/tsc-output.mjs, for the tests that import it.

/** tsc's output without the errors reported inside node_modules/@tensorflow (and their continuation lines). */
export function withoutTfjsLibErrors(output: string): string;
