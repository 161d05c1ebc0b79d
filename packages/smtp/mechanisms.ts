/**
 * What SMTP authenticates with, and in which order it tries mechanisms. Everything else about
 * a mechanism — its properties, the credentials it takes, how it is built and redacted —
 * lives in its `@saslkit/sasl` registry entry.
 *
 * @module
 */

import type { Credentials } from "@saslkit/sasl";

/**
 * What the caller authenticates with: a password (`{ username, password, authorizationId? }`),
 * an OAuth token (`{ kind: "oauth", username, token }`, the token a string or a provider), an
 * identity the TLS connection established (`{ kind: "external" }`) or none
 * (`{ kind: "anonymous", trace? }`). Only mechanisms of that kind are tried.
 */
export type SmtpCredentials = Credentials;

/**
 * The default order. The SCRAM family, channel-bound variants first, strongest hash first;
 * then the mechanisms that never reveal the password; then those that send it, which the
 * policy uses only over TLS unless told otherwise; then one per other kind of credentials
 * (only the kind the caller has is ever tried).
 */
export const DEFAULT_MECHANISMS: readonly string[] = [
  "SCRAM-SHA-512-PLUS",
  "SCRAM-SHA-256-PLUS",
  "SCRAM-SHA-1-PLUS",
  "SCRAM-SHA-512",
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "DIGEST-MD5",
  "CRAM-MD5",
  "PLAIN",
  "LOGIN",
  "OAUTHBEARER",
  "XOAUTH2",
  "EXTERNAL",
  "ANONYMOUS",
];
