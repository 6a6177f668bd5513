// The README's code examples compile under strict TypeScript and run as written against the built
// package (a user's first contact): one tsc run emits them all, then each runs in Node.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { withoutTfjsLibErrors } from '../../scripts/tsc-output.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const examples = [...readFileSync(`${root}/README.md`, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
// Inside the package folder, so `import 'privkit'` resolves to this package's exports, as it does for a user.
const dir = `${root}/test-results/readme-examples`;

describe('README examples', () => {
  beforeAll(() => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    examples.forEach((code, i) => writeFileSync(`${dir}/example-${i + 1}.ts`, `${code}\nexport {};\n`));
    const compilerOptions = {
      target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2023', 'dom'], types: ['node'],
      strict: true, skipLibCheck: false, rootDir: '.', outDir: 'out',
    };
    writeFileSync(`${dir}/tsconfig.json`, JSON.stringify({ compilerOptions, include: ['*.ts'] }));
    try {
      execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', `${dir}/tsconfig.json`], { encoding: 'utf8' });
    } catch (error) {
      // tsc emits even with errors; those inside TensorFlow.js's own declaration files (which fail a
      // strict library check in tfjs 4.22) are not the README's: every other error fails
      const errors = withoutTfjsLibErrors((error as { stdout: string }).stdout);
      if (errors.trim() !== '') throw new Error(`README examples do not compile under strict TypeScript:\n${errors}`);
    }
  }, 120_000);

  it('has the sync API and the pool examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  examples.forEach((code, i) => {
    it(`example ${i + 1} runs in Node`, () => {
      const output = execFileSync(process.execPath, [`${dir}/out/example-${i + 1}.js`], { encoding: 'utf8' });
      if (code.includes('E_NONFINITE')) expect(output.trim()).toBe('E_NONFINITE x 1');
      if (code.includes('E_BUDGET 800')) expect(output).toMatch(/E_BUDGET 800 1\.929/);
    });
  });
});
