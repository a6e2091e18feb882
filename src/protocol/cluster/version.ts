/** Bumped on any incompatible change of the frame or handshake layout; peers must agree exactly. */
export const PROTOCOL_VERSION = 2;
