// The arithmetic of DIGEST-MD5 (RFC 2831 §2.1.2.1, §2.3, §2.4): H(A1), the response and rspauth
// values, and the session keys of the security layers. Pure functions over bytes.

import { hex, latin1, utf8 } from "../_bytes.ts";
import { md5, md5Hex } from "../_hash.ts";

/**
 * Encodes username, realm or password for hashing. With `charset=utf-8` negotiated, real
 * servers (Cyrus SASL, the JDK) convert each string on its own to ISO-8859-1 when every
 * character fits, and otherwise hash its UTF-8 bytes. Without it every string is ISO-8859-1.
 */
export function credentialBytes(text: string, utf8Negotiated: boolean): Uint8Array | undefined {
  const narrow = latin1(text);
  if (narrow) return narrow;
  return utf8Negotiated ? utf8(text) : undefined;
}

/** H({ username-value, ":", realm-value, ":", passwd }): what a server may store instead of the password. */
export function userSecret(
  username: Uint8Array,
  realm: Uint8Array,
  password: Uint8Array,
): Uint8Array {
  // One buffer, one hash call (a native hash pays per call), wiped after: it holds the password.
  const joined = new Uint8Array(username.length + realm.length + password.length + 2);
  joined.set(username, 0);
  joined[username.length] = 0x3a;
  joined.set(realm, username.length + 1);
  joined[username.length + realm.length + 1] = 0x3a;
  joined.set(password, username.length + realm.length + 2);
  const secret = md5(joined);
  joined.fill(0);
  return secret;
}

/** H(A1) as raw bytes, for md5-sess; authzid is always UTF-8 (RFC 2831 §2.1.2.1). */
export function hashA1(
  secret: Uint8Array,
  nonce: string,
  cnonce: string,
  authzid: string | undefined,
): Uint8Array {
  if (authzid) return md5(secret, utf8(`:${nonce}:${cnonce}:${authzid}`));
  // nonce and cnonce are printable ASCII (both sides check): their bytes are their char codes,
  // written straight after the secret in one buffer.
  const out = new Uint8Array(secret.length + nonce.length + cnonce.length + 2);
  out.set(secret);
  let at = secret.length;
  out[at++] = 0x3a;
  for (let i = 0; i < nonce.length; i++) out[at++] = nonce.charCodeAt(i);
  out[at++] = 0x3a;
  for (let i = 0; i < cnonce.length; i++) out[at++] = cnonce.charCodeAt(i);
  return md5(out);
}

const ZERO_BODY_HASH = ":00000000000000000000000000000000";

/**
 * The `response-value` (client proof, `prefix` "AUTHENTICATE") or the `rspauth` value (server
 * proof, `prefix` ""), lower-case hex.
 */
export function digestValue(
  ha1: Uint8Array,
  prefix: "AUTHENTICATE" | "",
  digestUri: string,
  nonce: string,
  nc: string,
  cnonce: string,
  qop: string,
): string {
  const ha2 = md5Hex(`${prefix}:${digestUri}${qop === "auth" ? "" : ZERO_BODY_HASH}`);
  return md5Hex(`${hex(ha1)}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
}

// The magic constants of RFC 2831 §2.3-2.4, for the client-to-server and server-to-client keys.
// Built from one pattern each, so that a bundle without sealing carries only the signing text.
const magic = (start: string, kind: string) => [
  `${start} to client-to-server ${kind} key magic constant`,
  `${start} to server-to-client ${kind} key magic constant`,
];

/** The session keys of RFC 2831 §2.3–2.4, seen from one side: [send, receive]. */
export type KeyPair = [send: Uint8Array, receive: Uint8Array];

/** Derives the integrity keys Kic/Kis (RFC 2831 §2.3). */
export function integrityKeys(ha1: Uint8Array, side: "client" | "server"): KeyPair {
  return keyPair(ha1, side, magic("Digest session key", "signing"));
}

/**
 * Derives the sealing keys Kcc/Kcs (RFC 2831 §2.4) from the first `keyBytes` bytes of H(A1):
 * 5 for rc4-40, 7 for rc4-56, all 16 otherwise.
 */
export function sealingKeys(ha1: Uint8Array, side: "client" | "server", keyBytes: number): KeyPair {
  return keyPair(ha1.subarray(0, keyBytes), side, magic("Digest H(A1)", "sealing"));
}

function keyPair(
  base: Uint8Array,
  side: "client" | "server",
  [client, server]: string[],
): KeyPair {
  const c = md5(base, utf8(client));
  const s = md5(base, utf8(server));
  return side === "client" ? [c, s] : [s, c];
}

/**
 * Spreads 7 key bytes over 8 DES key bytes, 7 bits each, leaving the low bit of each byte for
 * parity (Cyrus SASL's `slidebits`, the JDK's `addDesParity`); the parity bit is set odd so the
 * key is also a well-formed DES key.
 */
export function expandDesKey(seven: Uint8Array): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = seven[0];
  for (let i = 1; i < 7; i++) out[i] = ((seven[i - 1] << (8 - i)) | (seven[i] >> i)) & 0xff;
  out[7] = (seven[6] << 1) & 0xff;
  for (let i = 0; i < 8; i++) {
    let bits = 0;
    for (let b = 1; b < 8; b++) bits += (out[i] >> b) & 1;
    out[i] = (out[i] & 0xfe) | (bits % 2 === 0 ? 1 : 0);
  }
  return out;
}
