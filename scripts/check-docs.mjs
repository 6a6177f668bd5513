// Checks the API reference (npm run docs:check): runs TypeDoc's validation over the entry points of
// typedoc.json with every warning an error (undocumented exports, broken {@link}s, malformed doc
// comments), requires an @example on the main entry points, and compiles every @example under strict
// TypeScript against the built package (run `node scripts/build.mjs` first). Exits non-zero listing
// what is missing.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, Logger, LogLevel, ReflectionKind } from 'typedoc';
import { withoutTfjsLibErrors } from './tsc-output.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The main entry points, each of which must carry an @example (by its full TypeDoc name).
const REQUIRES_EXAMPLE = [
  'index.ready',
  'index.clipAndSum',
  'index.PrivkitError',
  'pool.createPool',
  'dp.createRng',
  'dp.gaussianNoise',
  'dp.laplaceNoise',
  'dp.addGaussianNoise',
  'dp.discreteGaussian',
  'dp.discreteLaplace',
  'dp.secureGaussian',
  'dp.secureLaplace',
  'dp.gaussianMechanism',
  'dp.laplaceMechanism',
  'dp.discreteGaussianMechanism',
  'dp.dpMean',
  'accounting.RdpAccountant',
  'accounting.PldAccountant',
  'accounting.calibrateNoiseMultiplier',
  'accounting.PrivacyBudget',
  'paillier.generateKeyPair',
  'paillier.encryptVector',
  'secagg.SecAggClient',
  'secagg.SecAggServer',
  'secagg.simulateRound',
  'fl.FedAvg',
  'fl.runFedAvg',
  'audit.auditMechanism',
];

/** Collects TypeDoc's warnings and errors instead of printing them. */
class CollectingLogger extends Logger {
  messages = [];
  log(message, level) {
    super.log(message, level);
    if (level >= LogLevel.Warn) this.messages.push({ level, message });
  }
}

const logger = new CollectingLogger();
const app = await Application.bootstrapWithPlugins({
  validation: { notExported: false, invalidLink: true, notDocumented: true },
  treatWarningsAsErrors: true,
});
app.logger = logger;
const project = await app.convert();
if (project !== undefined) app.validate(project);

const failures = logger.messages.map(({ level, message }) => `${level === LogLevel.Error ? 'error' : 'warning'}: ${message}`);
if (project === undefined) failures.push('error: TypeDoc could not convert the entry points');

const examples = [];
if (project !== undefined) {
  for (const name of REQUIRES_EXAMPLE) {
    const reflection = project.getChildByName(name.split('.'));
    if (reflection === undefined) failures.push(`missing: ${name} is not exported`);
    else if (examplesOf(reflection).length === 0) failures.push(`missing @example: ${name}`);
  }
  // TypeDoc gives each overload of a function the comment of the first: compile each block once.
  const seen = new Set();
  for (const reflection of project.getReflectionsByKind(ReflectionKind.All)) {
    for (const [i, code] of examplesOf(reflection, false).entries()) {
      if (!seen.has(code)) examples.push({ name: `${reflection.getFullName()}#${i + 1}`, code });
      seen.add(code);
    }
  }
  failures.push(...compileExamples(examples));
}

if (failures.length > 0) {
  console.error(failures.join('\n'));
  console.error(`\ndocs check failed: ${failures.length} problem(s)`);
  process.exit(1);
}
console.log(`docs check passed: every export documented, ${examples.length} @example blocks compile`);

/**
 * The TypeScript code blocks of the @example tags of a reflection (with `deep`, of its signatures as
 * well, which is where TypeDoc keeps a function's comment).
 */
function examplesOf(reflection, deep = true) {
  const comments = [reflection.comment];
  if (deep) comments.push(...(reflection.signatures ?? []).map((signature) => signature.comment));
  const blocks = [];
  for (const comment of comments) {
    for (const tag of comment?.blockTags ?? []) {
      if (tag.tag !== '@example') continue;
      for (const part of tag.content) {
        const code = part.kind === 'code' ? /^```ts\n([\s\S]*?)```$/.exec(part.text) : null;
        if (code) blocks.push(code[1]);
      }
    }
  }
  return blocks;
}

/**
 * Compiles the examples in one strict tsc run inside the package folder, so that `import 'privkit'`
 * resolves to this package's exports as it does for a user (as test/readme.test.ts does for the README).
 */
function compileExamples(blocks) {
  const dir = join(root, 'test-results/doc-examples');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = new Map();
  blocks.forEach(({ name, code }, i) => {
    const file = `example-${i + 1}.ts`;
    files.set(file, name);
    writeFileSync(join(dir, file), `// ${name}\n${code}\nexport {};\n`);
  });
  const compilerOptions = {
    target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2023', 'dom'], types: ['node'],
    strict: true, noEmit: true, skipLibCheck: false,
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }));
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    return [];
  } catch (error) {
    const output = withoutTfjsLibErrors(String(error.stdout ?? error));
    return output
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => `@example does not compile: ${line.replace(/^\S*?(example-\d+\.ts)/, (_, file) => `${files.get(file)} (${file})`)}`);
  }
}
