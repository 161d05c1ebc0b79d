/**
 * Pure SASL (RFC 4422) for TypeScript: mechanisms as explicit client and server state machines,
 * with no I/O, for Deno, Node.js, Bun, browsers and workers.
 *
 * DIGEST-MD5 (RFC 2831) is complete, security layers included; SCRAM-SHA-1/-256/-512 and their
 * -PLUS variants (RFC 5802, RFC 7677) head the default registry; PLAIN, LOGIN and CRAM-MD5 sit
 * beside them, with OAUTHBEARER (RFC 7628), XOAUTH2, EXTERNAL and ANONYMOUS. Every mechanism
 * implements {@linkcode ClientMechanism} or {@linkcode ServerMechanism}, and every failure is a
 * {@linkcode SaslError} with a stable code.
 *
 * @example A DIGEST-MD5 exchange, both sides in one process
 * ```ts
 * import { DigestMd5Client, DigestMd5Server } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const server = new DigestMd5Server({
 *   service: "smtp",
 *   host: "mail.example.com",
 *   realms: ["example.com"],
 *   credentials: (username) => username === "chris" ? { password: "secret" } : undefined,
 * });
 * const client = new DigestMd5Client({
 *   username: "chris",
 *   password: "secret",
 *   service: "smtp",
 *   host: "mail.example.com",
 * });
 *
 * client.start(); // DIGEST-MD5 has no initial response
 * const challenge = server.next(undefined).challenge!;
 * const final = server.next(client.next(challenge)); // carries rspauth
 * assert.equal(final.done, true);
 * client.next(final.challenge!); // verifies rspauth, answers with an empty response
 * const outcome = client.finish();
 * assert.equal(outcome.qop, "auth"); // no security layer unless the caller asks for one
 * assert.equal(server.outcome().authenticationId, "chris");
 * ```
 *
 * @module
 */

export * from "./error.ts";
export * from "./base64.ts";
export * from "./mechanism.ts";
export * from "./credentials.ts";
export * from "./registry.ts";
export * from "./default_registry.ts";
export * from "./security_layer.ts";
export * from "./digest_md5/mod.ts";
export * from "./plain.ts";
export * from "./login.ts";
export * from "./cram_md5.ts";
export * from "./oauthbearer.ts";
export * from "./xoauth2.ts";
export * from "./external.ts";
export * from "./anonymous.ts";
export * from "./channel_binding.ts";
export * from "./scram/mod.ts";
