/**
 * The confidentiality ciphers of DIGEST-MD5 (RFC 2831 §2.4), for `qop: ["auth-conf"]`. Each is
 * an object to pass in the `ciphers` option of `DigestMd5Client` or `DigestMd5Server`; only the
 * ciphers an app imports end up in its bundle, so an app without `auth-conf` carries no cipher
 * code at all.
 *
 * @example A client that accepts RC4 and triple DES
 * ```ts
 * import { DigestMd5Client } from "@saslkit/sasl/digest-md5";
 * import { rc4, tripleDes } from "@saslkit/sasl/digest-md5/ciphers";
 * import assert from "node:assert/strict";
 *
 * const client = new DigestMd5Client({
 *   username: "chris",
 *   password: "secret",
 *   service: "smtp",
 *   host: "mail.example.com",
 *   qop: ["auth-conf", "auth-int"],
 *   ciphers: [rc4, tripleDes], // most preferred first
 * });
 * assert.equal(client.start(), undefined);
 * assert.equal(tripleDes.name, "3des"); // the name on the wire
 * ```
 *
 * @module
 */

import { concat } from "../_bytes.ts";
import { desCbc } from "../_cipher/des.ts";
import { Rc4 } from "../_cipher/rc4.ts";
import { SaslError } from "../error.ts";
import { expandDesKey, sealingKeys } from "./_compute.ts";
import { acceptCipherSuite } from "./_options.ts";

/** The name of a cipher RFC 2831 defines for `auth-conf`, as sent in the `cipher` directive. */
export type DigestCipher = "3des" | "des" | "rc4" | "rc4-56" | "rc4-40";

/** One direction of a confidentiality layer, keeping its state (keystream or CBC chain). */
export interface DigestCipherStream {
  /** Encrypts or decrypts `data` into `out`, which may be `data` itself. */
  processInto(data: Uint8Array, out: Uint8Array): void;
}

/**
 * A DIGEST-MD5 cipher: its wire name, how its keys are derived and how it is run. Pass the
 * constants of this module ({@linkcode rc4}, {@linkcode tripleDes}…); the members are what
 * the security layer uses. Only these constants are accepted: an object of the same shape is
 * refused with `invalid-argument`, since its name would go on the wire and its streams would
 * key the layer.
 */
export interface DigestCipherSuite {
  /** The name in the `cipher` directive. */
  readonly name: DigestCipher;
  /** 1 for RC4 (a stream cipher), 8 for DES and triple DES (CBC, padded to whole blocks). */
  readonly blockSize: 1 | 8;
  /**
   * Derives one side's sealing keys Kcc and Kcs from H(A1) (RFC 2831 §2.4) and keys both
   * directions with them.
   */
  streams(
    ha1: Uint8Array,
    side: "client" | "server",
  ): { readonly encrypt: DigestCipherStream; readonly decrypt: DigestCipherStream };
}

// keyBytes: how many leading bytes of H(A1) the sealing keys hash, 5 for rc4-40, 7 for rc4-56,
// all 16 otherwise; make: one direction from its 16-byte sealing key Kc.
const suite = (
  name: DigestCipher,
  blockSize: 1 | 8,
  keyBytes: number,
  make: (kc: Uint8Array, direction: "encrypt" | "decrypt") => DigestCipherStream,
): DigestCipherSuite =>
  acceptCipherSuite(Object.freeze({
    name,
    blockSize,
    streams(ha1: Uint8Array, side: "client" | "server") {
      const [send, receive] = sealingKeys(ha1, side, keyBytes);
      return { encrypt: make(send, "encrypt"), decrypt: make(receive, "decrypt") };
    },
  }));

// The strength of rc4-40 and rc4-56 lies in how Kc was derived; RC4 is keyed with all of Kc.
const rc4Suite = (name: DigestCipher, keyBytes: number) =>
  suite(name, 1, keyBytes, (kc) => new Rc4(kc));

// DES keys are built from the first 7 (des) or 14 (3des, two keys) bytes of Kc; the IV is its
// last 8 bytes.
const desSuite = (name: DigestCipher, keys: 1 | 2) =>
  suite(name, 8, 16, (kc, direction) =>
    desCbc(
      keys === 1
        ? expandDesKey(kc.subarray(0, 7))
        : concat(expandDesKey(kc.subarray(0, 7)), expandDesKey(kc.subarray(7, 14))),
      kc.slice(8, 16),
      direction,
    ));

/**
 * `rc4`: RC4 keyed with a 128-bit key.
 *
 * @example
 * ```ts
 * import { rc4 } from "@saslkit/sasl/digest-md5/ciphers";
 * import assert from "node:assert/strict";
 *
 * assert.equal(rc4.name, "rc4");
 * ```
 */
export const rc4: DigestCipherSuite = /* @__PURE__ */ rc4Suite("rc4", 16);

/**
 * `rc4-56`: RC4 whose key is derived from 56 bits of H(A1).
 *
 * @example
 * ```ts
 * import { rc4_56 } from "@saslkit/sasl/digest-md5/ciphers";
 * import assert from "node:assert/strict";
 *
 * assert.equal(rc4_56.name, "rc4-56");
 * ```
 */
export const rc4_56: DigestCipherSuite = /* @__PURE__ */ rc4Suite("rc4-56", 7);

/**
 * `rc4-40`: RC4 whose key is derived from 40 bits of H(A1).
 *
 * @example
 * ```ts
 * import { rc4_40 } from "@saslkit/sasl/digest-md5/ciphers";
 * import assert from "node:assert/strict";
 *
 * assert.equal(rc4_40.name, "rc4-40");
 * ```
 */
export const rc4_40: DigestCipherSuite = /* @__PURE__ */ rc4Suite("rc4-40", 5);

/**
 * `des`: single DES in CBC mode (56-bit key).
 *
 * @example
 * ```ts
 * import { des } from "@saslkit/sasl/digest-md5/ciphers";
 * import assert from "node:assert/strict";
 *
 * assert.equal(des.name, "des");
 * ```
 */
export const des: DigestCipherSuite = /* @__PURE__ */ desSuite("des", 1);

/**
 * `3des`: two-key triple DES (EDE) in CBC mode.
 *
 * @example
 * ```ts
 * import { tripleDes } from "@saslkit/sasl/digest-md5/ciphers";
 * import assert from "node:assert/strict";
 *
 * assert.equal(tripleDes.name, "3des");
 * ```
 */
export const tripleDes: DigestCipherSuite = /* @__PURE__ */ desSuite("3des", 2);

/**
 * Every cipher, strongest first (by the strength Cyrus SASL assigns): rc4, 3des, rc4-56, des,
 * rc4-40. A server that offers all of them passes this list.
 *
 * @example
 * ```ts
 * import { allCiphers } from "@saslkit/sasl/digest-md5/ciphers";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(allCiphers.map((c) => c.name), ["rc4", "3des", "rc4-56", "des", "rc4-40"]);
 * ```
 */
export const allCiphers: readonly DigestCipherSuite[] = /* @__PURE__ */ Object.freeze([
  rc4,
  tripleDes,
  rc4_56,
  des,
  rc4_40,
]);

/**
 * The names of every cipher, strongest first: what a command line or a configuration file
 * may list. Made from {@linkcode allCiphers}, so importing it bundles every cipher, as
 * {@linkcode ciphersByName} does.
 *
 * @example
 * ```ts
 * import { DIGEST_CIPHERS } from "@saslkit/sasl/digest-md5/ciphers";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(DIGEST_CIPHERS, ["rc4", "3des", "rc4-56", "des", "rc4-40"]);
 * ```
 */
export const DIGEST_CIPHERS: readonly DigestCipher[] = /* @__PURE__ */ Object.freeze(
  /* @__PURE__ */ allCiphers.map((c) => c.name),
);

/**
 * The ciphers of the given names, in the given order, for callers that hold names (a command
 * line, a configuration file). This imports every cipher; an app that knows its ciphers imports
 * the constants instead.
 *
 * @example
 * ```ts
 * import { ciphersByName, rc4, tripleDes } from "@saslkit/sasl/digest-md5/ciphers";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(ciphersByName(["3des", "RC4"]), [tripleDes, rc4]);
 * ```
 *
 * @throws {SaslError} `invalid-argument` for a name that is not a DIGEST-MD5 cipher.
 */
export function ciphersByName(names: readonly string[]): DigestCipherSuite[] {
  if (!Array.isArray(names)) {
    throw new SaslError("invalid-argument", "ciphersByName takes a list of cipher names");
  }
  return names.map((name) => {
    const suite = typeof name === "string"
      ? allCiphers.find((c) => c.name === name.toLowerCase())
      : undefined;
    if (!suite) {
      throw new SaslError(
        "invalid-argument",
        `unknown DIGEST-MD5 cipher ${JSON.stringify(String(name))}: the ciphers are ${
          DIGEST_CIPHERS.join(", ")
        }`,
      );
    }
    return suite;
  });
}
