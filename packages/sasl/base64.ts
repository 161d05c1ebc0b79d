/**
 * Strict base64 (RFC 4648 §4, with padding), as SASL profiles put challenges and responses on
 * the wire. Decoding rejects anything a lenient decoder would silently repair, so that a
 * broken peer is noticed instead of authenticated with garbage.
 *
 * @module
 */

import { SaslError } from "./error.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/**
 * Encodes bytes as padded base64.
 *
 * @example
 * ```ts
 * import { encodeBase64 } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.equal(encodeBase64(new TextEncoder().encode("\0tim\0tanstaaftanstaaf")),
 *   "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
 * ```
 */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] +
      ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + "=";
  }
  return out;
}

/**
 * Decodes strict padded base64: no whitespace, no missing or extra padding, no non-zero
 * trailing bits.
 *
 * @throws {SaslError} `invalid-base64` for anything else.
 *
 * @example
 * ```ts
 * import { decodeBase64, SaslError } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(decodeBase64("AAEC"), new Uint8Array([0, 1, 2]));
 * assert.throws(() => decodeBase64("AAE"), SaslError);
 * ```
 */
export function decodeBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) {
    throw new SaslError("invalid-base64", "base64 length is not a multiple of 4");
  }
  let padding = 0;
  if (text.endsWith("==")) padding = 2;
  else if (text.endsWith("=")) padding = 1;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      let v: number;
      if (c === 61 /* = */ && last && j >= 4 - padding) v = 0;
      else {
        v = c < 128 ? DECODE[c] : -1;
        if (v < 0) {
          throw new SaslError("invalid-base64", `invalid base64 character at offset ${i + j}`);
        }
      }
      n = (n << 6) | v;
    }
    if (last && padding === 2 && (n & 0xffff) !== 0) {
      throw new SaslError("invalid-base64", "base64 has non-zero trailing bits");
    }
    if (last && padding === 1 && (n & 0xff) !== 0) {
      throw new SaslError("invalid-base64", "base64 has non-zero trailing bits");
    }
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}
