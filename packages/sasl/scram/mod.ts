/**
 * SCRAM (RFC 5802, RFC 7677) for TypeScript: client and server for SCRAM-SHA-1,
 * SCRAM-SHA-256 and SCRAM-SHA-512, each also as -PLUS with channel binding (`tls-exporter`,
 * RFC 9266; `tls-unique` and `tls-server-end-point`, RFC 5929). The password never crosses
 * the wire, the server proves it knows it too, and a server stores only derived keys.
 *
 * Choose SCRAM-SHA-256 (or -512 where both ends have it), -PLUS whenever the connection is TLS
 * and the server offers it; SCRAM-SHA-1 only for servers that have nothing else.
 *
 * A whole exchange, both sides in one process:
 * ```ts
 * import { deriveScramCredentials, ScramClient, ScramServer } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * // The server stores StoredKey, ServerKey, salt and iteration count: never the password.
 * const stored = await deriveScramCredentials("pencil", { hash: "SHA-256", iterations: 4096 });
 * const server = new ScramServer({
 *   hash: "SHA-256",
 *   credentials: (username) => username === "user" ? stored : undefined,
 * });
 * const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil" });
 *
 * const clientFirst = client.start(); // "n,,n=user,r=<nonce>": SCRAM is client-first
 * const serverFirst = await server.next(clientFirst); // "r=<nonce+>,s=<salt>,i=4096"
 * const clientFinal = await client.next(serverFirst.challenge!); // "c=biws,r=…,p=<proof>"
 * const serverFinal = await server.next(clientFinal); // "v=<server signature>", done
 * assert.equal(serverFinal.done, true);
 * const outcome = client.finish(serverFinal.challenge); // throws unless v= is right
 * assert.deepEqual(outcome, {
 *   mechanism: "SCRAM-SHA-256",
 *   authenticationId: "user",
 *   qop: "auth",
 *   iterations: 4096, // what the server asked for
 * });
 * ```
 *
 * ## Driving it from a protocol
 *
 * `next()` returns a Promise on both sides: deriving the keys is PBKDF2, and the only native
 * PBKDF2 in browsers (WebCrypto) is asynchronous. Protocols carry the server-final message
 * either as one more challenge (SMTP `334 dj0uLi4=`; the client answers with an empty
 * response from `next()`) or as data with the success reply (IMAP, XMPP `<success>`; pass it
 * to `finish()`). Either way the client refuses success until the server signature checked
 * out: `finish()` without it throws `server-not-verified`, and a wrong one
 * `server-verification-failed`. Comparisons of signatures and proofs are constant-time.
 *
 * ## What the client checks
 *
 * - Username, authzid and password go through SASLprep (RFC 4013, as a query) in the
 *   constructor; a string it refuses is `invalid-argument` before anything is sent, and no
 *   message quotes it. `,` and `=` in names are sent as `=2C` and `=3D`. Printable ASCII needs
 *   nothing for that; other strings need SASLprep's library, which the descriptors load by
 *   themselves and direct callers load with {@linkcode loadSaslprep} (see "Browsers").
 * - The server nonce must start with the client's (24 random printable characters) and be
 *   longer; the salt must be strict, non-empty base64; the iteration count a positive decimal
 *   within `minIterations` (default 4096, RFC 7677 §4) and `maxIterations` (default 65536,
 *   sixteen times that, above every server default we know: PostgreSQL, Dovecot, Cyrus and
 *   Prosody 4096, MongoDB 15000) — outside it, `iteration-count-rejected` before PBKDF2 runs.
 * - Attributes in order, none missing or repeated, no `m=` (mandatory extension), valid UTF-8,
 *   at most 4096 octets: else `malformed-challenge` (or `message-too-long`).
 * - A server `e=` becomes a {@linkcode ScramServerError} carrying the value
 *   (`client.serverError` keeps it): `invalid-proof` and `unknown-user` are
 *   `authentication-failed`; `channel-bindings-dont-match`, `channel-binding-not-supported`
 *   and `unsupported-channel-binding-type` are `channel-binding-mismatch`;
 *   `server-does-support-channel-binding` is `channel-binding-downgrade`; every other value
 *   `server-rejected`.
 *
 * ## What the server does
 *
 * - Works from {@linkcode ScramCredentials} (make them with
 *   {@linkcode deriveScramCredentials}); the lookup may be asynchronous.
 * - A fresh nonce per exchange; the client-final nonce must equal it (else `replay`).
 * - An unknown user gets a salt derived from the server's `secret` (stable for the same name)
 *   and the usual iteration count, and fails only at the proof, like a wrong password.
 * - Errors in the client-final message are answered as SCRAM defines (`e=invalid-proof`,
 *   `e=channel-bindings-dont-match`…): `next()` returns that challenge with `done: false`, and
 *   the next call, or `outcome()`, throws the typed error. A malformed client-first message
 *   throws at once.
 *
 * ## Channel binding (-PLUS)
 *
 * Give the client the binding data of the TLS connection and say whether the server offered
 * the -PLUS variant. With `serverOffersPlus: true` it is `SCRAM-…-PLUS` and binds
 * (`p=<type>`); without, it tells the server it could have bound (`y`), so that a server that
 * does offer -PLUS sees its mechanism list was stripped (`channel-binding-downgrade`). The
 * types: `tls-exporter` (RFC 9266, TLS 1.3; Node: `socket.exportKeyingMaterial(32,
 * "EXPORTER-Channel-Binding")`), `tls-unique` (RFC 5929, TLS 1.2 only; Node:
 * `socket.getFinished()`), `tls-server-end-point` (a hash of the server certificate:
 * `tlsServerEndPoint()` of `@saslkit/sasl`, from `socket.getPeerCertificate().raw`).
 *
 * ```ts
 * import { deriveScramCredentials, ScramClient, ScramServer } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * const exporter = new Uint8Array(32).fill(7); // what both ends' TLS stacks would export
 * const stored = await deriveScramCredentials("pencil", { hash: "SHA-256" });
 * const server = new ScramServer({
 *   hash: "SHA-256",
 *   plus: true,
 *   credentials: () => stored,
 *   channelBindings: { "tls-exporter": exporter },
 * });
 * const client = new ScramClient({
 *   hash: "SHA-256",
 *   username: "user",
 *   password: "pencil",
 *   channelBinding: { type: "tls-exporter", data: exporter },
 *   serverOffersPlus: true,
 * });
 * assert.equal(client.name, "SCRAM-SHA-256-PLUS");
 * const first = await server.next(client.start()); // "p=tls-exporter,,n=user,r=…"
 * const final = await server.next(await client.next(first.challenge!));
 * assert.equal(client.finish(final.challenge).mechanism, "SCRAM-SHA-256-PLUS");
 * ```
 *
 * ## Mechanism descriptors
 *
 * {@linkcode scramMechanisms} holds the six descriptors (SHA-512, SHA-256, SHA-1, each -PLUS
 * first), which also head `defaultRegistry` of `@saslkit/sasl`. They read `options.scram` of
 * the context (`minIterations`, `maxIterations`, `cache`, `channelBinding`,
 * `channelBindingType`) and its `channelBindings` and `offered`; a server side comes from
 * `store.scram(username, hash)` or, with only `store.password`, derives the keys on the fly.
 *
 * ## Browsers
 *
 * Hashing needs nothing: `node:crypto` where the runtime has it (Node, Bun); WebCrypto PBKDF2
 * with `@noble/hashes` HMAC in Deno; WebCrypto alone in browsers and workers (so a browser
 * bundle carries no `@noble/hashes` SHA-2); `@noble/hashes` alone where neither exists.
 * SASLprep is `@mongodb-js/saslprep` (1.6), loaded with `import()` only for a string that is
 * not printable ASCII (bundlers make it a chunk of its own, about 560 kB); its browser build
 * and its dependency `sparse-bitfield` call Node's `Buffer` when they load. So a browser app
 * with ASCII credentials needs no polyfill; one with other credentials sets a global `Buffer`
 * (the `buffer` package) before the first, or gets the typed error `saslprep-unavailable`.
 *
 * ## Caching derived keys
 *
 * An {@linkcode InMemoryScramCache} (or any `ScramCache`) lets a client skip PBKDF2 when the
 * server sends the same salt and count again. Its keys are HMACs under a per-process random
 * key, never the password; its values are as sensitive as the password.
 *
 * @module
 */

export {
  DEFAULT_MAX_ITERATIONS,
  DEFAULT_MIN_ITERATIONS,
  SCRAM_HASHES,
  type ScramChannelBinding,
  type ScramHash,
  ScramServerError,
} from "./_common.ts";
export type { ChannelBindingType } from "../mechanism.ts";
export { loadSaslprep } from "../saslprep.ts";
export * from "./client.ts";
export * from "./server.ts";
export * from "./mechanism.ts";
