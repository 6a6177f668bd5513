// Scratch directories for tests whose files need not survive a power cut (a SQLite ledger opened and
// closed hundreds of times by the bad-input sweep): on tmpfs (/dev/shm) where the machine has one, so
// the ledger's fsyncs (synchronous=FULL) do not wait for a disk (a server start: ~40 ms on ext4,
// ~2 ms on tmpfs); in the OS temp directory elsewhere. The caller removes the directory.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/** A fresh empty directory named `prefix` + a random suffix. */
export const scratchDir = (prefix: string): string => mkdtempSync(join(ROOT, prefix));
