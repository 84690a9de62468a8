/** The pure core of ebs-cdp: geometry, delta maps, the chain and its algebra, and the plans. */
export * from './constants';
export * from './errors';
export * from './chain-entry';
export * from './delta-map';
// Only the limits callers size storage by; the containers and codec stay DeltaMap's internals.
export { MAX_ENCODED_SEGMENT_BYTES, SEGMENT_FORMAT_VERSION } from './segment-codec';
export * from './chain';
export * from './pit-map';
export * from './verify-plan';
export * from './restore-plan';
export * from './retention';
export * from './retention-tiers';
