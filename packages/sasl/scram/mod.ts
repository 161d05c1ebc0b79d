/**
 * SCRAM (RFC 5802, RFC 7677) for TypeScript: client and server for SCRAM-SHA-1,
 * SCRAM-SHA-256 and SCRAM-SHA-512, each also as -PLUS with channel binding (`tls-exporter`,
 * RFC 9266; `tls-unique` and `tls-server-end-point`, RFC 5929).
 *
 * DOCS_PLACEHOLDER
 *
 * @module
 */

export {
  DEFAULT_MAX_ITERATIONS,
  DEFAULT_MIN_ITERATIONS,
  SCRAM_HASHES,
  type ScramChannelBinding,
  type ScramHash,
  ScramServerError,
} from "./_common.ts";
export type { ChannelBindingType } from "../mechanism.ts";
export * from "./client.ts";
export * from "./server.ts";
