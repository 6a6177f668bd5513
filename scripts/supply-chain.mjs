// Supply-chain checks for CI: `npm audit --omit=dev` (known vulnerabilities in what users install) and
// `npm audit signatures` (registry signatures and provenance of the installed packages). Fails on a
// finding; where the registry does not answer (offline mirrors, proxies that refuse the audit
// endpoints) it says so and does not fail, since nothing was checked.
import { spawnSync } from 'node:child_process';

const npm = (args) => spawnSync('npm', args, { encoding: 'utf8', timeout: 120_000 });
/** The line of npm's output that says why a request failed. */
const why = (result) =>
  `${result.stdout ?? ''}\n${result.stderr ?? ''}\n${result.error ?? ''}`
    .split('\n')
    .find((line) => /\b\d{3}\b|ENOTFOUND|ETIMEDOUT|ECONNREFUSED|endpoint|timed out/i.test(line) && !/complete log/.test(line))
    ?.trim() ?? 'no answer';
let failed = false;

const audit = npm(['audit', '--omit=dev', '--json']);
let report;
try {
  report = JSON.parse(audit.stdout);
} catch {
  report = undefined;
}
if (report?.metadata?.vulnerabilities) {
  const { vulnerabilities } = report.metadata;
  const serious = (vulnerabilities.high ?? 0) + (vulnerabilities.critical ?? 0);
  console.log(`supply chain: npm audit --omit=dev: ${JSON.stringify(vulnerabilities)}`);
  if (serious > 0) failed = true;
} else {
  console.log(`supply chain: npm audit --omit=dev NOT CHECKED: the registry did not answer (${report?.message ?? report?.error?.summary ?? why(audit)})`);
}

const signatures = npm(['audit', 'signatures']);
if (signatures.status === 0) {
  console.log(`supply chain: npm audit signatures: ${signatures.stdout.trim().split('\n')[0]}`);
} else if (/invalid|missing/i.test(signatures.stdout)) {
  console.log(`supply chain: npm audit signatures FAILED:\n${signatures.stdout.trim()}`);
  failed = true;
} else {
  console.log(`supply chain: npm audit signatures NOT CHECKED: the registry did not answer (${why(signatures)})`);
}
process.exit(failed ? 1 : 0);
