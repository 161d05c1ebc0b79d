// What the SCRAM client and server share: names, properties, option checks, the server-error
// type. Internal: the public parts are re-exported by client.ts and server.ts.

import { randomBase64Url } from "../_bytes.ts";
import type { ShaName } from "../_sha.ts";
import { SaslError, type SaslErrorCode } from "../error.ts";
import type { MechanismProperties } from "../mechanism.ts";
import { CHANNEL_BINDING_TYPES, type ChannelBindingType, isPrintable } from "./_messages.ts";

/**
 * The hash functions saslkit's SCRAM supports: SCRAM-SHA-1, SCRAM-SHA-256, SCRAM-SHA-512.
 *
 * @example
 * ```ts
 * import { ScramClient, type ScramHash } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * const hash: ScramHash = "SHA-512";
 * assert.equal(new ScramClient({ hash, username: "u", password: "p" }).name, "SCRAM-SHA-512");
 * ```
 */
export type ScramHash = "SHA-1" | "SHA-256" | "SHA-512";

/**
 * Every {@linkcode ScramHash}, strongest first.
 *
 * @example
 * ```ts
 * import { SCRAM_HASHES } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(SCRAM_HASHES, ["SHA-512", "SHA-256", "SHA-1"]);
 * ```
 */
export const SCRAM_HASHES: readonly ScramHash[] = /* @__PURE__ */ Object.freeze([
  "SHA-512",
  "SHA-256",
  "SHA-1",
]);

/**
 * Channel-binding data for SCRAM-PLUS: the type and the bytes the TLS layer gave for it.
 *
 * @example The tls-exporter data of a Node TLS socket (RFC 9266)
 * ```ts ignore
 * import type { ScramChannelBinding } from "@saslkit/sasl/scram";
 * import type { TLSSocket } from "node:tls";
 *
 * declare const socket: TLSSocket; // a connected TLS 1.3 socket
 * const binding: ScramChannelBinding = {
 *   type: "tls-exporter",
 *   data: socket.exportKeyingMaterial(32, "EXPORTER-Channel-Binding"),
 * };
 * ```
 */
export interface ScramChannelBinding {
  /** `tls-exporter` (RFC 9266), `tls-unique` (RFC 5929 §3) or `tls-server-end-point` (§4). */
  readonly type: ChannelBindingType;
  /** The channel-binding data; for `tls-server-end-point` see `tlsServerEndPoint()`. */
  readonly data: Uint8Array;
}

/**
 * Lowest iteration count a client accepts unless told otherwise (RFC 7677 §4: 4096); also the
 * count `deriveScramCredentials` uses by default.
 *
 * @example
 * ```ts
 * import { DEFAULT_MIN_ITERATIONS } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_MIN_ITERATIONS, 4096);
 * ```
 */
export const DEFAULT_MIN_ITERATIONS = 4096;
/**
 * Highest iteration count a client accepts unless told otherwise: 65536, sixteen times the
 * RFC minimum. It covers the defaults of the servers in use (PostgreSQL, Dovecot, Cyrus and
 * Prosody 4096, MongoDB 15000) while bounding what a hostile server can make the client
 * spend (65536 iterations of PBKDF2-SHA-512 in plain JavaScript is a few hundred ms).
 * Raise it with the client's `maxIterations` for a server configured higher.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_ITERATIONS } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_MAX_ITERATIONS, 65536);
 * ```
 */
export const DEFAULT_MAX_ITERATIONS = 65536;

/** `SCRAM-SHA-256`, `SCRAM-SHA-256-PLUS`… */
export function scramName(hash: ScramHash, plus: boolean): string {
  return `SCRAM-${hash}${plus ? "-PLUS" : ""}`;
}

/** What SCRAM does, with and without channel binding. */
export function scramProperties(plus: boolean): MechanismProperties {
  return plus ? PLUS_PROPERTIES : PROPERTIES;
}

const PROPERTIES: MechanismProperties = /* @__PURE__ */ Object.freeze({
  sendsCleartextPassword: false,
  verifiesServer: true,
  offersSecurityLayer: false,
  clientFirst: true,
  channelBinding: false,
  carriesAuthorizationId: true,
});
const PLUS_PROPERTIES: MechanismProperties = /* @__PURE__ */ Object.freeze({
  ...PROPERTIES,
  channelBinding: true,
});

/** Checks a hash option. */
export function checkHash(hash: unknown): ShaName {
  if (hash !== "SHA-1" && hash !== "SHA-256" && hash !== "SHA-512") {
    throw new SaslError("invalid-argument", "SCRAM hash must be SHA-1, SHA-256 or SHA-512");
  }
  return hash;
}

/** Checks a channel-binding option. */
export function checkChannelBinding(binding: ScramChannelBinding): void {
  if (!CHANNEL_BINDING_TYPES.includes(binding.type)) {
    throw new SaslError("invalid-argument", "unknown SCRAM channel-binding type");
  }
  if (!(binding.data instanceof Uint8Array) || binding.data.length === 0) {
    throw new SaslError("invalid-argument", "SCRAM channel-binding data must not be empty");
  }
}

/** A fresh nonce (24 printable characters, 144 random bits), or the test hook's checked one. */
export function makeNonce(given: string | undefined, who: "client" | "server"): string {
  if (given === undefined) return randomBase64Url(18);
  if (!isPrintable(given)) {
    throw new SaslError(
      "invalid-argument",
      `the ${who} nonce must be printable ASCII without a comma`,
    );
  }
  return given;
}

/**
 * A failure the other side reported with SCRAM's `e=` (RFC 5802 §7), or one this server sent.
 * {@linkcode ScramServerError.serverError} is the value as sent, such as `invalid-proof`; it
 * is a fixed token of the protocol, not a secret.
 *
 * @example
 * ```ts
 * import { ScramServerError } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * const error = new ScramServerError("authentication-failed", "invalid-proof", "wrong password");
 * assert.equal(error.code, "authentication-failed");
 * assert.equal(error.serverError, "invalid-proof");
 * ```
 */
export class ScramServerError extends SaslError {
  /** The `server-error-value`, such as `invalid-proof` or `channel-bindings-dont-match`. */
  readonly serverError: string;

  /**
   * Creates the error.
   *
   * @param code The stable saslkit code the value maps to.
   * @param serverError The `e=` value.
   * @param message What went wrong, free of secrets.
   */
  constructor(code: SaslErrorCode, serverError: string, message: string) {
    super(code, message);
    this.name = "ScramServerError";
    this.serverError = serverError;
  }
}
