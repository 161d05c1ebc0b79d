/**
 * SMTP AUTH (RFC 4954) on top of {@link https://jsr.io/@saslkit/sasl | @saslkit/sasl}: a
 * session that applies the security layer it negotiates, and a policy that tries mechanisms
 * in the caller's order, notices a server that fails after agreeing, and moves on.
 *
 * @example Which mechanisms does the server offer?
 * ```ts
 * import { parseEhloAuth } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseEhloAuth(["250-mx.example.com", "250 AUTH PLAIN LOGIN"]), [
 *   "PLAIN",
 *   "LOGIN",
 * ]);
 * ```
 *
 * @example Authenticating and sending, against the embedded test server
 * ```ts
 * import { authenticate, connectTcp } from "@saslkit/smtp";
 * import { startTestServer } from "@saslkit/smtp/test-server";
 * import assert from "node:assert/strict";
 *
 * // Behaves like Sendmail with Cyrus SASL, and drops the connection after 235 for DIGEST-MD5.
 * const server = await startTestServer({ behaviour: { dropAfterAuth: ["DIGEST-MD5"] } });
 * const { session, mechanism, attempts } = await authenticate({
 *   host: "mail.example.com",
 *   connect: () => connectTcp({ host: server.hostname, port: server.port }),
 *   security: "none",
 *   credentials: { username: "smtpuser", password: "secret" },
 * });
 * assert.equal(mechanism, "CRAM-MD5");
 * assert.equal(attempts[0].result, "dropped-after-auth");
 * await session.sendMail({ from: "a@example.com", to: ["b@example.com"], data: "Hi\r\n" });
 * await session.quit();
 * await server.close();
 * ```
 *
 * @module
 */

export * from "./ehlo.ts";
export * from "./error.ts";
export * from "./reply.ts";
export * from "./session.ts";
export * from "./transcript.ts";
export * from "./transport.ts";
export * from "./transport_deno.ts";
export * from "./mechanisms.ts";
export * from "./memory.ts";
export * from "./policy.ts";
// The @saslkit/sasl types that this package's API mentions, so that its documentation is whole.
export type {
  AnonymousCredentials,
  ChannelBindingMode,
  ChannelBindings,
  ChannelBindingType,
  ClientMechanism,
  CredentialKind,
  Credentials,
  DigestCipher,
  DigestMd5MechanismOptions,
  DigestMd5NonceStore,
  DigestMd5ReauthCache,
  ExternalCredentials,
  MechanismContext,
  MechanismDescriptor,
  MechanismOptions,
  MechanismProperties,
  MechanismRegistry,
  Negotiation,
  NegotiationInput,
  OAuthCredentials,
  PasswordCredentials,
  Qop,
  RedactionStep,
  SaslError,
  SaslErrorCode,
  SaslOutcome,
  ScramCache,
  ScramCachedKeys,
  ScramMechanismOptions,
  ScramStoredCredentials,
  SecurityLayer,
  ServerCredentials,
  ServerMechanism,
  ServerStep,
  SkippedMechanism,
  SkipReason,
  TokenProvider,
  TokenVerdict,
} from "@saslkit/sasl";
