/**
 * Which SASL client mechanisms SMTP can use, built from one set of credentials.
 *
 * @module
 */

import {
  type ClientMechanism,
  CramMd5Client,
  type DigestCipher,
  DigestMd5Client,
  LoginClient,
  PlainClient,
  type Qop,
} from "@saslkit/sasl";

/** What the caller authenticates with. */
export interface SmtpCredentials {
  /** The authentication identity. */
  readonly username: string;
  /** The password; never logged, never put into an error. */
  readonly password: string;
  /** The identity to act as, where the mechanism can carry one. */
  readonly authorizationId?: string;
}

/** How to build each mechanism beyond the credentials. */
export interface MechanismSettings {
  /** The server's host name, for DIGEST-MD5's `digest-uri`. */
  readonly host: string;
  /**
   * The strongest protection DIGEST-MD5 may negotiate: `auth` (the default, no layer),
   * `auth-int` or `auth-conf`. The session applies whatever is negotiated.
   */
  readonly qop?: Qop;
  /** Ciphers acceptable for `auth-conf`, most preferred first. */
  readonly ciphers?: readonly DigestCipher[];
}

/**
 * The default order: mechanisms that never reveal the password first (strongest first), then
 * those that send it, which the policy uses only over TLS unless told otherwise.
 */
export const DEFAULT_MECHANISMS: readonly string[] = ["DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN"];

/** Every mechanism name {@linkcode createClientMechanism} knows. */
export const SUPPORTED_MECHANISMS: readonly string[] = ["DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN"];

const QOP_LEVELS: Record<Qop, readonly Qop[]> = {
  "auth": ["auth"],
  "auth-int": ["auth-int", "auth"],
  "auth-conf": ["auth-conf", "auth-int", "auth"],
};

/**
 * Builds a fresh client mechanism, or `undefined` for a name saslkit does not implement, or
 * for CRAM-MD5 and LOGIN when an authorization identity is asked for (they cannot carry one,
 * and logging in as oneself instead would be a silent change of identity).
 *
 * @example
 * ```ts
 * import { createClientMechanism } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * const mechanism = createClientMechanism("digest-md5", { username: "u", password: "p" }, {
 *   host: "mail.example.com",
 * });
 * assert.equal(mechanism?.name, "DIGEST-MD5");
 * assert.equal(createClientMechanism("GSSAPI", { username: "u", password: "p" }, { host: "h" }), undefined);
 * ```
 */
export function createClientMechanism(
  name: string,
  credentials: SmtpCredentials,
  settings: MechanismSettings,
): ClientMechanism | undefined {
  const { username, password, authorizationId } = credentials;
  switch (name.toUpperCase()) {
    case "DIGEST-MD5":
      return new DigestMd5Client({
        username,
        password,
        authorizationId,
        service: "smtp",
        host: settings.host,
        qop: QOP_LEVELS[settings.qop ?? "auth"],
        ciphers: settings.ciphers,
      });
    case "CRAM-MD5":
      return authorizationId ? undefined : new CramMd5Client({ username, password });
    case "PLAIN":
      return new PlainClient({ username, password, authorizationId });
    case "LOGIN":
      return authorizationId ? undefined : new LoginClient({ username, password });
    default:
      return undefined;
  }
}
