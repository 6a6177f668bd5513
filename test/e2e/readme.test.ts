// The README's code examples run as written against the built package (a user's first contact).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const examples = [...readFileSync(`${root}/README.md`, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('README examples', () => {
  it('has the sync API and the pool examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  examples.forEach((code, i) => {
    it(`example ${i + 1} runs in Node`, () => {
      // Inside the package folder, so `import 'privkit'` resolves to this package's exports.
      mkdirSync(`${root}/test-results`, { recursive: true });
      const file = `${root}/test-results/readme-example-${i + 1}.mjs`;
      writeFileSync(file, code);
      const output = execFileSync(process.execPath, [file], { encoding: 'utf8' });
      if (code.includes('E_NONFINITE')) expect(output.trim()).toBe('E_NONFINITE x 1');
    });
  });
});
