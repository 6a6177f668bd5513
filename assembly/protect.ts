// The protect module (src/protect/wasm.ts declares it): the batched HMAC-SHA-256 of keyed
// pseudonyms, in a module of its own so that an app that does not pseudonymize does not carry it.
export { heapBase } from './wasm/runtime';
export { sha256, hmacKeyStates, hmacStart, hmacAbsorb, hmacFinish, hmacTokens, hmacWorkBytes } from './protect/hmac';
