/**
 * The error type of `@saslkit/smtp`.
 *
 * @module
 */

import type { SmtpReply } from "./smtp_reply.ts";

/**
 * Stable reasons for an {@linkcode SmtpError}.
 *
 * - `connection-failed`: the TCP or TLS connection could not be made.
 * - `connection-lost`: the server closed the connection, or the socket failed.
 * - `timeout`: the server did not answer in time.
 * - `protocol`: the server broke the SMTP grammar (bad reply line, oversize line or reply).
 * - `tls`: STARTTLS failed or is not offered when required, or the TLS handshake failed.
 * - `tls-expected`: the server speaks TLS from the first byte (a TLS record where the greeting
 *   belongs, or silence on port 465): connect with implicit TLS (`security: "tls"`, `--tls`).
 * - `plaintext-server`: implicit TLS was asked for and the server answered in plaintext
 *   (OpenSSL's "wrong version number"): drop `security: "tls"` and use STARTTLS.
 * - `untrusted-certificate`: the server's certificate is self-signed, or its CA is not trusted,
 *   or it does not name the host: trust a private CA with `ca` (`--ca FILE`).
 * - `insufficient-protection`: authentication ended with less protection than `minQop`.
 * - `not-supported`: the message needs an extension the server does not offer (SMTPUTF8).
 * - `rejected`: the server answered a command with a failure reply; see `reply`.
 * - `auth-rejected`: the server refused an AUTH exchange; see `reply`.
 * - `auth-client`: saslkit's side of an AUTH exchange failed (a malformed challenge, a server
 *   that could not prove itself); the exchange was cancelled with `*`. See `cause`.
 * - `no-mechanism`: no mechanism of the caller's list can be used with this server.
 * - `cleartext-refused`: the only usable mechanisms would send the password in the clear
 *   over an unencrypted connection.
 * - `invalid-argument`: the caller passed something unusable (an address with CR/LF…).
 * - `invalid-state`: a command was issued when the session cannot take it.
 */
export type SmtpErrorCode =
  | "connection-failed"
  | "connection-lost"
  | "timeout"
  | "protocol"
  | "tls"
  | "tls-expected"
  | "plaintext-server"
  | "untrusted-certificate"
  | "insufficient-protection"
  | "not-supported"
  | "rejected"
  | "auth-rejected"
  | "auth-client"
  | "no-mechanism"
  | "cleartext-refused"
  | "invalid-argument"
  | "invalid-state";

/**
 * A failure of an SMTP session or of the authentication policy. Messages and replies never
 * contain a password, a SASL response or a token.
 *
 * @example
 * ```ts
 * import { SmtpError } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * const error = new SmtpError("timeout", "no reply within 30000 ms");
 * assert.equal(error.code, "timeout");
 * assert.equal(error.reply, undefined);
 * ```
 */
export class SmtpError extends Error {
  /** Why the session failed; stable across releases. */
  readonly code: SmtpErrorCode;
  /** The server's reply, when the failure is one. */
  readonly reply?: SmtpReply;

  /**
   * Creates an error.
   *
   * @param code The stable reason.
   * @param message What went wrong, free of secrets.
   * @param options `reply`: the server's reply; `cause`: the underlying error.
   */
  constructor(
    code: SmtpErrorCode,
    message: string,
    options: { reply?: SmtpReply; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SmtpError";
    this.code = code;
    this.reply = options.reply;
  }
}
