// What OAUTHBEARER (RFC 7628) and XOAUTH2 share: the bearer token check, the key/value
// pairs, the JSON error a server sends instead of a failure, and the types of the server's
// token validator. Internal: the public types are re-exported by oauthbearer.ts and xoauth2.ts.

import { decodeLatin1, decodeUtf8, hasControlCharacter, utf8 } from "./_bytes.ts";
import type { Credentials, OAuthCredentials, TokenProvider } from "./credentials.ts";
import { SaslError } from "./error.ts";

/** The two bearer-token mechanisms. */
export type OAuthMechanismName = "OAUTHBEARER" | "XOAUTH2";

/**
 * What a server reported in its JSON error challenge (RFC 7628 §3.2.2, or Google's XOAUTH2
 * error). `status` is an OAuth error code such as `invalid_token` (RFC 7628) or an HTTP
 * status such as `401` (XOAUTH2); the other members are present when the server sent them.
 */
export interface OAuthErrorDetails {
  /** The error: `invalid_token`, `insufficient_scope`, `invalid_request`, `401`, `400`… */
  readonly status: string;
  /** The scope the token needs, space-separated. */
  readonly scope?: string;
  /** RFC 7628: the URL of the OpenID Connect discovery document (`openid-configuration`). */
  readonly openidConfiguration?: string;
  /** XOAUTH2: the HTTP authentication schemes the server accepts, such as `bearer`. */
  readonly schemes?: string;
}

/** What a server's token validator learns besides the token. */
export interface TokenRequest {
  /** The mechanism that carried the token. */
  readonly mechanism: OAuthMechanismName;
  /**
   * The identity the client asked for: OAUTHBEARER's `a=` authzid, XOAUTH2's `user=`. Absent
   * when OAUTHBEARER carried none; the token alone then says who the client is.
   */
  readonly authorizationId?: string;
  /** OAUTHBEARER's `host=`, the server name the client connected to, when sent. */
  readonly host?: string;
  /** OAUTHBEARER's `port=`, when sent. */
  readonly port?: number;
}

/**
 * A validator's verdict: the identity the token belongs to, or the OAuth error to report to
 * the client (sent as the JSON error challenge, then the exchange fails).
 */
export type TokenValidation =
  | { readonly authenticationId: string }
  | { readonly error: OAuthErrorDetails };

/**
 * Checks a bearer token (for example by verifying a JWT or asking an introspection endpoint,
 * RFC 7662). May be asynchronous; the server's `next()` then returns a promise.
 *
 * @param token The token exactly as the client sent it, without `Bearer `.
 * @param request What else the client sent.
 * @returns The identity, or the error to report.
 *
 * @example One validator for both bearer mechanisms
 * ```ts
 * import { OAuthBearerServer, type TokenValidator, XOAuth2Server } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const tokens = new Map([["ya29.alice", "alice@example.com"]]);
 * const validate: TokenValidator = (token, request) => {
 *   const owner = tokens.get(token);
 *   if (owner === undefined) return { error: { status: "invalid_token", scope: "mail" } };
 *   return request.authorizationId === undefined || request.authorizationId === owner
 *     ? { authenticationId: owner }
 *     : { error: { status: "invalid_request" } };
 * };
 * const xoauth2 = new XOAuth2Server({ validate });
 * const step = await xoauth2.next(
 *   new TextEncoder().encode("user=alice@example.com\x01auth=Bearer ya29.alice\x01\x01"),
 * );
 * assert.equal(step.done, true);
 * const bearer = new OAuthBearerServer({ validate });
 * const error = await bearer.next(new TextEncoder().encode("n,,\x01auth=Bearer nope\x01\x01"));
 * assert.equal(new TextDecoder().decode(error.challenge), '{"status":"invalid_token","scope":"mail"}');
 * ```
 */
export type TokenValidator = (
  token: string,
  request: TokenRequest,
) => TokenValidation | Promise<TokenValidation>;

// Tokens are opaque; access tokens of the big providers are a few KiB (JWTs with many claims).
export const MAX_CLIENT_MESSAGE_OCTETS = 65536;
// Identities: an email address is at most 320 octets; DNs and URIs get room to spare.
export const MAX_IDENTITY_OCTETS = 1024;
// A DNS name is at most 253 octets; an IPv6 literal in brackets fits too.
export const MAX_HOST_OCTETS = 255;
// Real error challenges are under 200 octets.
export const MAX_ERROR_OCTETS = 4096;
export const MAX_KVPAIRS = 32;

const VCHARS = /^[\x21-\x7e]+$/;
/** Whether a string can be encoded as UTF-8 without a silent U+FFFD (no lone surrogate). */
export function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xd800 || code > 0xdfff) continue;
    const next = text.charCodeAt(i + 1);
    if (code > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

/** Checks a client's token: printable ASCII without spaces (the `auth=Bearer` value). */
export function checkToken(mechanism: OAuthMechanismName, token: unknown): string {
  if (typeof token !== "string" || token === "") {
    throw new SaslError("invalid-argument", `${mechanism} token must be a non-empty string`);
  }
  // The message never quotes the token, not even a character of it.
  if (!VCHARS.test(token)) {
    throw new SaslError(
      "invalid-argument",
      `${mechanism} token must be printable ASCII without spaces (RFC 6750 b64token)`,
    );
  }
  if (token.length > MAX_CLIENT_MESSAGE_OCTETS - 1024) {
    throw new SaslError(
      "invalid-argument",
      `${mechanism} token exceeds ${MAX_CLIENT_MESSAGE_OCTETS - 1024} octets`,
    );
  }
  return token;
}

/**
 * Splits `key=value^A key=value^A ... ^A` (the part after OAUTHBEARER's GS2 header, or the
 * whole XOAUTH2 message) into pairs: keys `1*ALPHA`, each pair ended by %x01, the list ended
 * by one more %x01 that must be the last octet. Values are returned as bytes; the caller
 * checks their characters. Duplicate keys are an error.
 */
export function parseKvPairs(
  mechanism: OAuthMechanismName,
  bytes: Uint8Array,
  start: number,
): Map<string, Uint8Array> {
  const pairs = new Map<string, Uint8Array>();
  let pos = start;
  for (;;) {
    if (pos === bytes.length - 1 && bytes[pos] === 0x01) return pairs;
    const end = bytes.indexOf(0x01, pos);
    if (end < 0) {
      throw new SaslError(
        "malformed-response",
        `${mechanism} message must end with an empty key/value pair (%x01 %x01)`,
      );
    }
    if (end === pos) {
      throw new SaslError("malformed-response", `${mechanism} message has an empty key/value pair`);
    }
    if (pairs.size === MAX_KVPAIRS) {
      throw new SaslError(
        "message-too-long",
        `${mechanism} message has more than ${MAX_KVPAIRS} key/value pairs`,
      );
    }
    let eq = pos;
    while (eq < end && isAlpha(bytes[eq])) eq++;
    if (eq === pos || eq === end || bytes[eq] !== 0x3d /* = */) {
      throw new SaslError(
        "malformed-response",
        `${mechanism} key/value pair must be 1*ALPHA "=" value`,
      );
    }
    const key = decodeLatin1(bytes.subarray(pos, eq));
    if (pairs.has(key)) {
      throw new SaslError(
        "malformed-response",
        `${mechanism} key ${key.slice(0, 32)} appears twice`,
      );
    }
    pairs.set(key, bytes.subarray(eq + 1, end));
    pos = end + 1;
  }
}

function isAlpha(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
}

/** RFC 7628 `value = *(VCHAR / SP / HTAB / CR / LF)`, as ASCII text. */
export function readValue(mechanism: OAuthMechanismName, key: string, bytes: Uint8Array): string {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (!((b >= 0x20 && b <= 0x7e) || b === 0x09 || b === 0x0a || b === 0x0d)) {
      throw new SaslError(
        "malformed-response",
        `${mechanism} ${key} value has a character outside VCHAR / SP / HTAB / CR / LF`,
      );
    }
  }
  return decodeLatin1(bytes);
}

const BEARER = /^bearer +([\x21-\x7e]+)$/i;

/** Takes the token out of an `auth` value: `Bearer` (any case) 1*SP token. */
export function readBearer(mechanism: OAuthMechanismName, bytes: Uint8Array): string {
  const value = readValue(mechanism, "auth", bytes);
  const match = BEARER.exec(value);
  if (match === null) {
    throw new SaslError("malformed-response", `${mechanism} auth value must be "Bearer" SP token`);
  }
  return match[1];
}

/** The `auth=Bearer <token>` pair as sent. */
export function bearerPair(token: string): string {
  return `auth=Bearer ${token}\x01`;
}

/**
 * Parses a server's JSON error challenge strictly: at most 4096 octets of valid UTF-8 holding
 * a JSON object whose `status` is a non-empty string; `scope`, `openid-configuration` and
 * `schemes` must be strings when present. Other members are ignored.
 */
export function parseErrorChallenge(
  mechanism: OAuthMechanismName,
  challenge: Uint8Array,
): OAuthErrorDetails {
  if (challenge.length > MAX_ERROR_OCTETS) {
    throw new SaslError(
      "message-too-long",
      `${mechanism} error challenge exceeds ${MAX_ERROR_OCTETS} octets`,
    );
  }
  const text = decodeUtf8(challenge);
  if (text === undefined) {
    throw new SaslError("malformed-challenge", `${mechanism} error challenge is not valid UTF-8`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SaslError("malformed-challenge", `${mechanism} challenge is not a JSON error object`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SaslError(
      "malformed-challenge",
      `${mechanism} error challenge must be a JSON object`,
    );
  }
  const object = value as Record<string, unknown>;
  const member = (name: string): string | undefined => {
    if (!Object.hasOwn(object, name)) return undefined;
    const found = object[name];
    if (typeof found !== "string") {
      throw new SaslError(
        "malformed-challenge",
        `${mechanism} error member "${name}" must be a string`,
      );
    }
    return found;
  };
  const status = member("status");
  if (status === undefined || status === "") {
    throw new SaslError("malformed-challenge", `${mechanism} error challenge has no "status"`);
  }
  const details: {
    status: string;
    scope?: string;
    openidConfiguration?: string;
    schemes?: string;
  } = { status };
  const scope = member("scope");
  if (scope !== undefined) details.scope = scope;
  const openid = member("openid-configuration");
  if (openid !== undefined) details.openidConfiguration = openid;
  const schemes = member("schemes");
  if (schemes !== undefined) details.schemes = schemes;
  return Object.freeze(details);
}

/** The JSON error challenge a server sends, checked against the same limits. */
export function encodeErrorChallenge(
  mechanism: OAuthMechanismName,
  details: OAuthErrorDetails,
): Uint8Array {
  const status = details?.status;
  if (typeof status !== "string" || status === "") {
    throw new SaslError(
      "invalid-argument",
      `${mechanism} validator error needs a non-empty status`,
    );
  }
  const json: Record<string, string> = { status };
  for (
    const [name, value] of [
      ["schemes", details.schemes],
      ["scope", details.scope],
      ["openid-configuration", details.openidConfiguration],
    ] as const
  ) {
    if (value === undefined) continue;
    if (typeof value !== "string") {
      throw new SaslError(
        "invalid-argument",
        `${mechanism} validator error ${name} must be a string`,
      );
    }
    json[name] = value;
  }
  const bytes = utf8(JSON.stringify(json));
  if (bytes.length > MAX_ERROR_OCTETS) {
    throw new SaslError(
      "invalid-argument",
      `${mechanism} error challenge exceeds ${MAX_ERROR_OCTETS} octets`,
    );
  }
  return bytes;
}

/**
 * The error for a reported OAuth failure: `invalid-token` for `invalid_token` or `401` (a
 * fresh token may help), `oauth-error` for anything else. The message quotes status and scope
 * (JSON-quoted, so control characters cannot forge a log line) and never the token.
 */
export function oauthErrorOf(mechanism: OAuthMechanismName, details: OAuthErrorDetails): SaslError {
  const invalid = details.status === "invalid_token" || details.status === "401";
  const scope = details.scope === undefined ? "" : `, scope ${quote(details.scope)}`;
  return new SaslError(
    invalid ? "invalid-token" : "oauth-error",
    invalid
      ? `${mechanism}: the server rejected the token (status ${quote(details.status)}${scope})`
      : `${mechanism}: the server reported OAuth error status ${quote(details.status)}${scope}`,
  );
}

function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

/** Turns whatever a validator threw into a SaslError; a SaslError passes as it is. */
export function validatorFailure(mechanism: OAuthMechanismName, error: unknown): SaslError {
  if (error instanceof SaslError) return error;
  // The cause is the validator's own error, passed through untouched for the server's logs.
  return new SaslError("authentication-failed", `${mechanism} token validator failed`, {
    cause: error,
  });
}

/** Checks a validator's verdict and returns it in one shape. */
export function readValidation(
  mechanism: OAuthMechanismName,
  result: unknown,
): { authenticationId: string } | { error: OAuthErrorDetails } {
  if (typeof result === "object" && result !== null) {
    const r = result as Record<string, unknown>;
    if (typeof r.authenticationId === "string" && r.authenticationId !== "" && !("error" in r)) {
      return { authenticationId: r.authenticationId };
    }
    if (typeof r.error === "object" && r.error !== null && !("authenticationId" in r)) {
      return { error: r.error as OAuthErrorDetails };
    }
  }
  throw new SaslError(
    "invalid-argument",
    `${mechanism} validator must return { authenticationId } or { error: { status } }`,
  );
}

/** Whether a value is a thenable (a validator's promise). */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown })?.then === "function";
}

/** Decodes an identity: strict UTF-8, no control characters, at most 1024 octets. */
export function readIdentity(
  mechanism: OAuthMechanismName,
  what: string,
  bytes: Uint8Array,
): string {
  if (bytes.length > MAX_IDENTITY_OCTETS) {
    throw new SaslError(
      "message-too-long",
      `${mechanism} ${what} exceeds ${MAX_IDENTITY_OCTETS} octets`,
    );
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    throw new SaslError("malformed-response", `${mechanism} ${what} is not valid UTF-8`);
  }
  if (hasControlCharacter(text)) {
    throw new SaslError("malformed-response", `${mechanism} ${what} contains a control character`);
  }
  return text;
}

/** Checks an identity a client is asked to send. */
export function checkIdentity(
  mechanism: OAuthMechanismName,
  what: string,
  text: string,
  mayBeEmpty: boolean,
): string {
  if (typeof text !== "string" || (!mayBeEmpty && text === "")) {
    throw new SaslError("invalid-argument", `${mechanism} ${what} must be a non-empty string`);
  }
  if (hasControlCharacter(text) || !isWellFormed(text)) {
    throw new SaslError(
      "invalid-argument",
      `${mechanism} ${what} must be well-formed text without control characters`,
    );
  }
  if (utf8(text).length > MAX_IDENTITY_OCTETS) {
    throw new SaslError(
      "invalid-argument",
      `${mechanism} ${what} exceeds ${MAX_IDENTITY_OCTETS} octets`,
    );
  }
  return text;
}

/** The OAuth credentials an OAuth mechanism was given, or `invalid-argument`. */
export function oauthCredentials(
  mechanism: OAuthMechanismName,
  credentials: Credentials,
): OAuthCredentials {
  if (credentials?.kind !== "oauth") {
    throw new SaslError("invalid-argument", `${mechanism} takes OAuth credentials (kind "oauth")`);
  }
  return credentials;
}

/**
 * The token itself: the string, or what the provider returns when asked with
 * `{ refresh }`. A provider that throws fails with `invalid-argument`, its error as `cause`.
 */
export async function resolveToken(
  mechanism: OAuthMechanismName,
  token: string | TokenProvider,
  refresh: boolean,
): Promise<string> {
  if (typeof token === "string") return token;
  if (typeof token !== "function") {
    throw new SaslError("invalid-argument", `${mechanism} token must be a string or a provider`);
  }
  let resolved: unknown;
  try {
    resolved = await token({ refresh });
  } catch (error) {
    throw new SaslError("invalid-argument", `${mechanism} token provider failed`, { cause: error });
  }
  if (typeof resolved !== "string") {
    throw new SaslError("invalid-argument", `${mechanism} token provider returned no string`);
  }
  return resolved;
}

/**
 * Shows `key=value^A` pairs with every value replaced by `***` except those of `keep`; an
 * `auth` value keeps its `Bearer` scheme. What does not split into pairs becomes `***`.
 */
export function redactPairs(text: string, keep: readonly string[]): string {
  const parts = text.split("\x01");
  return parts.map((part, i) => {
    if (part === "" && i > 0) return part;
    const eq = part.indexOf("=");
    if (eq <= 0) return "***";
    const key = part.slice(0, eq);
    if (keep.includes(key)) return part;
    if (key === "auth") {
      const scheme = /^bearer +/i.exec(part.slice(eq + 1));
      return `auth=${scheme === null ? "" : scheme[0]}***`;
    }
    return `${key}=***`;
  }).join("\x01");
}
