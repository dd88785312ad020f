/** The actor system's public surface (docs/architecture.md): re-exported by the package's index. */
export type { ActorContext, ActorKind, Effect, Envelope, GroupItem, MailGroupItem } from './actor';
export { canonicalJson, summarizePayload } from './canonical';
export * from './eventLog';
export { actorStream, ActorHost, describeError } from './host';
export { logEvent, sendTo, withImmer, type Recipe } from './immer';
export {
  loadPayloadDigest,
  PayloadDigestError,
  payloadDigestOfVersion,
  SHA256_DIGEST,
  type PayloadDigest,
  type PayloadDigestName,
} from './payloadDigest';
export { PiscinaTransport, workerEntry } from './piscinaTransport';
export type { ActorSnapshot, HostApi, PayloadSummary } from './protocol';
export * from './runtime';
export * from './topology';
export { ChannelTransport, InlineTransport, WorkerDiedError, type HostEndpoint, type Transport } from './transport';
