// Types of scripts/bundle-size.mjs, for the tests that import it.

/** A file of a build: its path in the output folder and its bytes. */
export interface BuiltFile {
  name: string;
  bytes: Buffer;
}

/** Builds an app whose main module is `source` with Vite (defaults) against this package; returns the files of the build. */
export function buildApp(source: string): Promise<BuiltFile[]>;

/** The apps of `npm run size`: a name and the main module. */
export const APPS: readonly (readonly [name: string, source: string])[];
