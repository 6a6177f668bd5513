// The page script of the protect-browser suite (./protect-browser.ts bundles it with esbuild): runs
// ./protect-rounds.ts in Chromium when the suite calls `window.__protectBench(modelBytes)`. The
// page collects garbage with V8's `gc` (Chromium started with --js-flags=--expose-gc; called twice,
// because the first collection only schedules the freeing of dead ArrayBuffers' backing stores) and
// reads its live ArrayBuffer bytes through `window.__liveBytes`, a function the suite exposes that
// asks DevTools' Runtime.getHeapUsage for backingStorageSize.
import { measureProtect, type ProtectMeasurement } from './protect-rounds.js';

const page = globalThis as unknown as {
  gc: () => void;
  __liveBytes: () => Promise<number>;
  __protectBench?: (modelBytes: number) => Promise<ProtectMeasurement>;
};

page.__protectBench = (modelBytes) =>
  measureProtect(modelBytes, {
    gc: () => {
      page.gc();
      page.gc();
    },
    liveBytes: () => page.__liveBytes(),
  });
