// The privacy ledger's on-disk format (the kill -9 test of the ledger, with a server in a child
// process, is test/e2e/server-ledger-crash.test.ts).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LEDGER_FILE } from 'privkit/server';
import { scratchDir } from '../support/scratch.js';

describe('ledger format', () => {
  it('refuses a ledger of an earlier format (its charges would replay under the old sampler slack, without tail mass) and changes nothing in it', async () => {
    const { Ledger, LEDGER_FORMAT } = await import('../../dist/src/server/ledger.js');
    const dir = scratchDir('privkit-ledger-format-');
    try {
      new Ledger(dir).close();
      const file = join(dir, LEDGER_FILE);
      const db = new Database(file);
      expect(db.pragma('user_version', { simple: true })).toBe(LEDGER_FORMAT);
      db.pragma('user_version = 1'); // as a file from before the format existed would read (0) or an older one
      db.close();
      expect(() => new Ledger(dir)).toThrow(/has format 1; this privkit reads format 2/);
      const after = new Database(file);
      expect(after.pragma('user_version', { simple: true })).toBe(1);
      after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
