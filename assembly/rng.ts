// The rng module (src/dp/wasm.ts declares it): the ChaCha20 generator alone, for the generator's own
// outputs (bytes, uint32, uniform doubles of src/dp/rng.ts). An app that draws only those (Paillier
// key generation, FedAvg's sampling) carries this small module, not the samplers of assembly/dp.ts.
export { heapBase } from './wasm/runtime';
export { chachaBytes, uniformDoubles, generatorBytes } from './dp/rng';
