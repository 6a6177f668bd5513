// What the page says about where it runs: the browser, the cores, whether the page is cross-origin
// isolated (COOP + COEP headers: only then do SharedArrayBuffer and the pool's zero-copy path exist),
// and the privkit version the page was built with (vite.config.ts defines __PRIVKIT_VERSION__ from
// package.json at build time).
declare const __PRIVKIT_VERSION__: string;

export const PRIVKIT_VERSION = __PRIVKIT_VERSION__;

export interface Machine {
  browser: string;
  cores: number | undefined;
  isolated: boolean;
}

export function machine(): Machine {
  return { browser: browserName(navigator.userAgent), cores: navigator.hardwareConcurrency, isolated: self.crossOriginIsolated === true };
}

/** A short browser name and major version from the user agent string (most specific token first). */
export function browserName(agent: string): string {
  for (const [pattern, name] of [
    [/Edg\/(\d+)/, 'Edge'],
    [/OPR\/(\d+)/, 'Opera'],
    [/Firefox\/(\d+)/, 'Firefox'],
    [/HeadlessChrome\/(\d+)/, 'Headless Chrome'],
    [/Chrom(?:e|ium)\/(\d+)/, 'Chrome'],
    [/Version\/(\d+)[\d.]* .*Safari\//, 'Safari'],
  ] as const) {
    const match = agent.match(pattern);
    if (match !== null) return `${name} ${match[1]}`;
  }
  return agent;
}
