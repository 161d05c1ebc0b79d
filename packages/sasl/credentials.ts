/**
 * What a client authenticates with, as one union a caller can write by hand: a password, an
 * OAuth token, an identity the transport already established (a TLS client certificate), or
 * nothing at all (anonymous). Each mechanism in the registry takes one kind.
 *
 * @module
 */

import { SaslError } from "./error.ts";

/** A username and password; `kind` may be left out. */
export interface PasswordCredentials {
  /** Optional tag; a credential without `kind` is a password. */
  readonly kind?: "password";
  /** The authentication identity. */
  readonly username: string;
  /** The password; never logged, never put into an error. */
  readonly password: string;
  /** The identity to act as, where the mechanism can carry one. */
  readonly authorizationId?: string;
}

/**
 * Supplies an OAuth 2.0 access token. Called with `refresh: false` for the first attempt and,
 * after the server answered `invalid_token`, once more with `refresh: true`: return a fresh
 * token then.
 */
export type TokenProvider = (request: { readonly refresh: boolean }) => string | Promise<string>;

/** An OAuth 2.0 bearer token, for OAUTHBEARER (RFC 7628) and XOAUTH2. */
export interface OAuthCredentials {
  /** The tag. */
  readonly kind: "oauth";
  /** The user the token was issued to; XOAUTH2 needs it, OAUTHBEARER sends it as `a=`. */
  readonly username?: string;
  /** The access token, or a provider that can be asked for a fresh one. */
  readonly token: string | TokenProvider;
}

/** An identity established outside SASL, such as a TLS client certificate (EXTERNAL). */
export interface ExternalCredentials {
  /** The tag. */
  readonly kind: "external";
  /** The identity to act as; empty or absent: the one the transport established. */
  readonly authorizationId?: string;
}

/** No credentials: ANONYMOUS (RFC 4505). */
export interface AnonymousCredentials {
  /** The tag. */
  readonly kind: "anonymous";
  /** Optional trace information, such as an email address (at most 255 characters). */
  readonly trace?: string;
}

/** Every kind of credential a mechanism can take. */
export type Credentials =
  | PasswordCredentials
  | OAuthCredentials
  | ExternalCredentials
  | AnonymousCredentials;

/** The kinds of {@linkcode Credentials}, as a mechanism descriptor names the one it takes. */
export type CredentialKind = "password" | "oauth" | "external" | "anonymous";

const KINDS: readonly CredentialKind[] = ["password", "oauth", "external", "anonymous"];

/**
 * Checks credentials that may come from JavaScript without types and tells their kind.
 *
 * @param credentials What the caller passed.
 * @returns The kind of credentials.
 * @throws {SaslError} `invalid-argument` when the value is not one of the four shapes; the
 * message names the field, never its value.
 *
 * @example
 * ```ts
 * import { credentialKind } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.equal(credentialKind({ username: "tim", password: "tanstaaf" }), "password");
 * assert.equal(credentialKind({ kind: "oauth", token: () => "ya29.token" }), "oauth");
 * assert.throws(() => credentialKind({ username: "tim" }), { code: "invalid-argument" });
 * ```
 */
export function credentialKind(credentials: unknown): CredentialKind {
  if (typeof credentials !== "object" || credentials === null) {
    throw new SaslError("invalid-argument", "credentials must be an object");
  }
  const c = credentials as Record<string, unknown>;
  const kind = c.kind ?? "password";
  if (typeof kind !== "string" || !(KINDS as readonly string[]).includes(kind)) {
    throw new SaslError(
      "invalid-argument",
      `credentials.kind must be one of ${KINDS.join(", ")}`,
    );
  }
  switch (kind as CredentialKind) {
    case "password":
      requireString(c, "username", true);
      requireString(c, "password", true);
      optionalString(c, "authorizationId");
      break;
    case "oauth":
      if (typeof c.token !== "function") requireString(c, "token", true);
      optionalString(c, "username");
      break;
    case "external":
      optionalString(c, "authorizationId");
      break;
    case "anonymous":
      optionalString(c, "trace");
      break;
  }
  return kind as CredentialKind;
}

function requireString(c: Record<string, unknown>, field: string, nonEmpty: boolean): void {
  if (typeof c[field] !== "string" || (nonEmpty && c[field] === "")) {
    throw new SaslError("invalid-argument", `credentials.${field} must be a non-empty string`);
  }
}

function optionalString(c: Record<string, unknown>, field: string): void {
  if (c[field] !== undefined && typeof c[field] !== "string") {
    throw new SaslError("invalid-argument", `credentials.${field} must be a string`);
  }
}

/**
 * The authorization identity the credentials ask for, or `""` when they ask for none.
 *
 * @param credentials Checked credentials.
 * @returns The authzid, empty for none.
 *
 * @example
 * ```ts
 * import { requestedAuthorizationId } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.equal(requestedAuthorizationId({ username: "u", password: "p", authorizationId: "a" }), "a");
 * assert.equal(requestedAuthorizationId({ kind: "anonymous" }), "");
 * ```
 */
export function requestedAuthorizationId(credentials: Credentials): string {
  return "authorizationId" in credentials ? credentials.authorizationId ?? "" : "";
}
