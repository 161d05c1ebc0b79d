/**
 * The one error type that every saslkit mechanism throws.
 *
 * @module
 */

/**
 * Stable machine-readable reasons for a {@linkcode SaslError}.
 *
 * - `invalid-argument`: the caller passed an option that cannot work (empty username, unknown qop).
 * - `invalid-state`: a method was called at a point of the exchange where it is not allowed.
 * - `invalid-base64`: a peer sent text that is not strict base64.
 * - `malformed-challenge`: the server's message does not follow the mechanism's grammar.
 * - `malformed-response`: the client's message does not follow the mechanism's grammar.
 * - `message-too-long`: a challenge or response is longer than the mechanism allows.
 * - `no-acceptable-qop`: none of the protection levels the caller accepts is offered.
 * - `no-acceptable-cipher`: none of the ciphers the caller accepts is offered.
 * - `server-verification-failed`: the server could not prove it knows the password (rspauth).
 * - `server-not-verified`: success was reported before the server proved itself.
 * - `authentication-failed`: the client's proof is wrong or the user is unknown (server side).
 * - `authorization-failed`: the authentication identity may not act as the authorization identity.
 * - `replay`: a nonce or nonce-count was used again.
 * - `stale-nonce`: the server asked for a new authentication (`stale=true`).
 * - `integrity-check-failed`: a security-layer buffer's MAC or padding is wrong, or the buffer is
 *   too short to hold them.
 * - `sequence-mismatch`: a security-layer buffer arrived out of order or was replayed.
 * - `buffer-too-large`: a security-layer buffer exceeds the negotiated maximum.
 * - `invalid-token`: the server refused an OAuth token as invalid or expired (OAuth status
 *   `invalid_token`, or `401`); a fresh one may work.
 * - `oauth-error`: the server reported another OAuth error (`insufficient_scope`, `invalid_request`…).
 * - `iteration-count-rejected`: the server's SCRAM iteration count is outside the caller's range.
 * - `channel-binding-mismatch`: the peer's channel binding (type or data) differs from this side's.
 * - `channel-binding-downgrade`: a client that can bind was told the server cannot (SCRAM `y`).
 * - `server-rejected`: the server ended the exchange with its own error (SCRAM `e=`).
 * - `saslprep-unavailable`: a string that is not printable ASCII needs SASLprep's library
 *   (`@mongodb-js/saslprep`), which cannot load here (a browser without a `Buffer` polyfill) or
 *   is not loaded yet for a synchronous call.
 */
export type SaslErrorCode =
  | "invalid-argument"
  | "invalid-state"
  | "invalid-base64"
  | "malformed-challenge"
  | "malformed-response"
  | "message-too-long"
  | "no-acceptable-qop"
  | "no-acceptable-cipher"
  | "server-verification-failed"
  | "server-not-verified"
  | "authentication-failed"
  | "authorization-failed"
  | "replay"
  | "stale-nonce"
  | "integrity-check-failed"
  | "sequence-mismatch"
  | "buffer-too-large"
  | "invalid-token"
  | "oauth-error"
  | "iteration-count-rejected"
  | "channel-binding-mismatch"
  | "channel-binding-downgrade"
  | "server-rejected"
  | "saslprep-unavailable";

/**
 * A failure of a SASL exchange or of a security layer.
 *
 * Messages never contain a password, a response or a key; they may name the directive or the
 * step that failed.
 *
 * @example Telling errors apart by their stable code
 * ```ts
 * import { SaslError } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const error = new SaslError("replay", "nonce-count 1 was already used");
 * assert.equal(error.code, "replay");
 * assert.ok(error instanceof Error);
 * ```
 */
export class SaslError extends Error {
  /** Why the exchange failed; stable across releases, unlike {@linkcode Error.message}. */
  readonly code: SaslErrorCode;

  /**
   * Creates an error with a stable code and a human-readable message.
   *
   * @param code The stable reason.
   * @param message What went wrong, free of secrets.
   * @param options Standard error options, such as a `cause`.
   */
  constructor(code: SaslErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SaslError";
    this.code = code;
  }
}
