/**
 * DIGEST-MD5 (RFC 2831) on its own: the client, the server, their security layers, the
 * ciphers of `auth-conf` and the registry descriptor, for an app that needs nothing else. A
 * bundler keeps only what the app uses: the ciphers only when it passes them.
 *
 * @example
 * ```ts
 * import { DigestMd5Client } from "@saslkit/sasl/digest-md5";
 * import assert from "node:assert/strict";
 *
 * const client = new DigestMd5Client({
 *   username: "chris",
 *   password: "secret",
 *   service: "smtp",
 *   host: "mail.example.com",
 * });
 * assert.equal(client.start(), undefined); // the server speaks first
 * ```
 *
 * @module
 */

export * from "./client.ts";
export * from "./server.ts";
export * from "./mechanism.ts";
export * from "./ciphers.ts";
