// tsc output filtering shared by the docs check (scripts/check-docs.mjs) and the README examples test
// (test/e2e/readme.test.ts), which both compile examples that import privkit/tfjs.

/**
 * tsc's output without the errors it reports inside TensorFlow.js's own declaration files (with
 * their indented continuation lines): tfjs 4.22's .d.ts do not pass a strict library check (a
 * global `Long`, optional properties under a JSON index type), which privkit/tfjs's examples
 * cannot change; every other file, privkit's declarations included, stays checked.
 */
export function withoutTfjsLibErrors(output) {
  let skipping = false;
  return output
    .split('\n')
    .filter((line) => {
      if (/^node_modules\/@tensorflow\//.test(line)) skipping = true;
      else if (!/^\s/.test(line)) skipping = false;
      return !skipping;
    })
    .join('\n');
}
