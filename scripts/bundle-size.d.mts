// Types of scripts/bundle-size.mjs, for the tests that import it.

/** A file of a build: its path in the output folder and its bytes. */
export interface BuiltFile {
  name: string;
  bytes: Buffer;
}

/** Builds an app whose main module is `source` with Vite against this package (workers in Vite's default format, or ES); returns the files of the build. */
export function buildApp(source: string, options?: { worker?: 'es' }): Promise<BuiltFile[]>;

/** The apps of `npm run size`: a name, the main module and Vite's worker format. */
export const APPS: readonly (readonly [name: string, source: string, worker?: 'es'])[];
