// The resource limits of secure aggregation: how many clients a round registers, how large a
// neighbourhood, an id, a vector, a byte field and a message may be. Messages (./messages.ts), the
// key handling (./crypto.ts), the ring (./graph.ts), clients and servers all check against these.

/** Most clients a round may register. */
export const MAX_CLIENTS = 65_536;
/** Largest neighbourhood, min(n, k + 1): every client does work quadratic in it (Shamir). */
export const MAX_NEIGHBOURHOOD = 1_024;
/** Longest client id or round id, in UTF-16 code units. */
export const MAX_ID_LENGTH = 256;
/** Largest supported vector length (one Uint32Array of the masked input). */
export const MAX_VECTOR_LENGTH = 2 ** 30;
/** Largest byte field (keys, ciphertexts, shares, signatures are all smaller). */
export const MAX_FIELD_BYTES = 256;
/** Default bound on the JSON text decodeMessage parses when it is not given the round (64 Mi characters). */
export const MAX_MESSAGE_CHARS = 2 ** 26;
