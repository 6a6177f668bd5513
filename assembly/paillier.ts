// The paillier module (src/paillier/wasm.ts declares it): Montgomery modular exponentiation, public
// and constant-time (assembly/paillier/modpow.ts, called by src/paillier/modpow.ts).
export { heapBase } from './wasm/runtime';
export { montPow, montPowScratchBytes, montPowSecret, montPowSecretScratchBytes, secretWindowBits, montCounters } from './paillier/modpow';
