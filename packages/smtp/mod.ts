/**
 * SMTP AUTH (RFC 4954) on top of {@link https://jsr.io/@saslkit/sasl | @saslkit/sasl}: a
 * session that applies the security layer it negotiates, and a policy that tries mechanisms
 * in the caller's order, notices a server that fails after agreeing, and moves on.
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
 * const sent = await session.sendMail({
 *   from: '"A" <a@example.com>',
 *   to: "b@example.com",
 *   subject: "Hello",
 *   text: "Hi\n",
 * });
 * assert.deepEqual(sent.accepted, ["b@example.com"]);
 * assert.equal(sent.queueId, "5AQK00000001");
 * await session.quit();
 * await server.close();
 * ```
 *
 * @module
 */

// What applications call. The parsers, redaction and ordering helpers underneath are in
// `@saslkit/smtp/low-level`.
export type { SmtpCapabilities } from "./ehlo.ts";
export { SmtpError, type SmtpErrorCode } from "./error.ts";
export type { SmtpReply } from "./smtp_reply.ts";
export { type SessionAuthOptions, SmtpSession, type SmtpSessionOptions } from "./session.ts";
export {
  type CommandReply,
  type RejectedRecipient,
  type SendMailOptions,
  type SendMailResult,
  SmtpSendError,
} from "./mail.ts";
export { type Mailbox, parseMailbox, parseMailboxList } from "./address.ts";
export { buildMessage, type MessageOptions } from "./message.ts";
export type { TranscriptEntry, TranscriptSink } from "./transcript.ts";
export { type ConnectOptions, connectTcp, type SmtpTransport } from "./transport.ts";
export { connectDeno } from "./transport_deno.ts";
export { DEFAULT_MECHANISMS, type SmtpCredentials } from "./mechanisms.ts";
export {
  type AttemptResult,
  InMemoryMechanismMemory,
  type MechanismMemory,
  type ServerRecord,
} from "./memory.ts";
export {
  type AuthAttempt,
  authenticate,
  type AuthenticateOptions,
  type AuthResult,
  SmtpAuthError,
} from "./policy.ts";
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
  SecurityLayer,
  ServerCredentials,
  ServerMechanism,
  ServerStep,
  SkippedMechanism,
  SkipReason,
  TokenProvider,
  TokenVerdict,
} from "@saslkit/sasl";
export type { ScramCredentials } from "@saslkit/sasl/scram";
