// The arithmetic of DIGEST-MD5 (RFC 2831 §2.1.2.1, §2.3, §2.4): H(A1), the response and rspauth
// values, and the session keys of the security layers. Pure functions over bytes.

import { hex, latin1, utf8, utf8Into } from "../_bytes.ts";
import { md5, md5Hex, md5Into } from "../_hash.ts";

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

/**
 * How {@linkcode userSecretOf} turns each string into bytes: `latin1` (ISO-8859-1, or fail),
 * `latin1-or-utf8` (each string on its own, as {@linkcode credentialBytes} with charset=utf-8)
 * or `utf8`.
 */
export type CredentialEncoding = "latin1" | "latin1-or-utf8" | "utf8";

// What is hashed as bytes (the user secret's input holds the password, H(A1)'s the secret) is
// written into this one buffer, never into fresh arrays (in Deno each short typed array costs
// about 0.5 us), and wiped after every hash; the user secret itself is hashed into its first
// 16 bytes, where H(A1)'s input starts. A longer input gets its own array, wiped alike. (Views
// of it kept per length, in place of a subarray per hash, measured no faster in Deno.)
const scratch = /* @__PURE__ */ new Uint8Array(1024);

/** For tests: whether the shared buffer is all zero (it is between calls). */
export function scratchIsWiped(): boolean {
  return scratch.every((byte) => byte === 0);
}

function scratchFor(length: number): Uint8Array {
  return length <= scratch.length ? scratch : new Uint8Array(length);
}

// Writes text at `at` under `encoding`; the new offset, or -1 when latin1 does not fit it.
// `out` has room for 3 bytes per UTF-16 unit.
function writeCredential(
  text: string,
  encoding: CredentialEncoding,
  out: Uint8Array,
  at: number,
): number {
  if (encoding !== "utf8") {
    let i = 0;
    for (; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0xff) break;
      out[at + i] = code;
    }
    if (i === text.length) return at + i;
    if (encoding === "latin1") return -1;
  }
  return utf8Into(text, out, at);
}

// The user secret of the strings in the first 16 bytes of the returned buffer, the rest of
// which is zero and at least `room` long; `undefined` (and nothing left in the buffer) when
// latin1 cannot encode one.
function secretInto(
  username: string,
  realm: string,
  password: string,
  encoding: CredentialEncoding,
  room: number,
): Uint8Array | undefined {
  const input = 3 * (username.length + realm.length + password.length) + 2;
  const buf = scratchFor(Math.max(room, input));
  let at = writeCredential(username, encoding, buf, 0);
  if (at >= 0) {
    buf[at++] = 0x3a;
    at = writeCredential(realm, encoding, buf, at);
  }
  if (at >= 0) {
    buf[at++] = 0x3a;
    at = writeCredential(password, encoding, buf, at);
  }
  if (at >= 0) md5Into(buf.subarray(0, at), buf);
  buf.fill(0, at < 0 ? 0 : 16, input);
  return at < 0 ? undefined : buf;
}

/**
 * H({ username-value, ":", realm-value, ":", passwd }) from the strings, each encoded under
 * `encoding`; `undefined` when `latin1` cannot encode one of them. The bytes never leave one
 * wiped buffer.
 */
export function userSecretOf(
  username: string,
  realm: string,
  password: string,
  encoding: CredentialEncoding,
): Uint8Array | undefined {
  const buf = secretInto(username, realm, password, encoding, 0);
  const secret = buf?.slice(0, 16);
  buf?.fill(0, 0, 16);
  return secret;
}

/** H({ username-value, ":", realm-value, ":", passwd }): what a server may store instead of the password. */
export function userSecret(
  username: Uint8Array,
  realm: Uint8Array,
  password: Uint8Array,
): Uint8Array {
  // One buffer, one hash call (a native hash pays per call), wiped after: it holds the password.
  const length = username.length + realm.length + password.length + 2;
  const joined = scratchFor(length);
  joined.set(username, 0);
  joined[username.length] = 0x3a;
  joined.set(realm, username.length + 1);
  joined[username.length + realm.length + 1] = 0x3a;
  joined.set(password, username.length + realm.length + 2);
  const secret = new Uint8Array(16);
  md5Into(joined.subarray(0, length), secret);
  joined.fill(0, 0, length);
  return secret;
}

// What A1 takes after a secret of `length` bytes.
const a1Room = (length: number, nonce: string, cnonce: string, authzid: string | undefined) =>
  length + nonce.length + cnonce.length + 2 + (authzid ? 1 + 3 * authzid.length : 0);

/** H(A1) as raw bytes, for md5-sess; authzid is always UTF-8 (RFC 2831 §2.1.2.1). */
export function hashA1(
  secret: Uint8Array,
  nonce: string,
  cnonce: string,
  authzid: string | undefined,
): Uint8Array {
  const buf = scratchFor(a1Room(secret.length, nonce, cnonce, authzid));
  buf.set(secret);
  return a1Of(buf, secret.length, nonce, cnonce, authzid);
}

/**
 * H(A1) straight from the strings, as {@linkcode hashA1} of {@linkcode userSecretOf}, but the
 * user secret never leaves the wiped buffer; `undefined` when `latin1` cannot encode one.
 */
export function clientHashA1(
  username: string,
  realm: string,
  password: string,
  encoding: CredentialEncoding,
  nonce: string,
  cnonce: string,
  authzid: string | undefined,
): Uint8Array | undefined {
  const buf = secretInto(username, realm, password, encoding, a1Room(16, nonce, cnonce, authzid));
  return buf && a1Of(buf, 16, nonce, cnonce, authzid);
}

// H(A1) of the secret in buf[0..at), the rest of A1 written after it (buf has room for it);
// every byte written is wiped after.
function a1Of(
  buf: Uint8Array,
  at: number,
  nonce: string,
  cnonce: string,
  authzid: string | undefined,
): Uint8Array {
  // nonce and cnonce are printable ASCII (both sides check): their bytes are their char codes.
  buf[at++] = 0x3a;
  for (let i = 0; i < nonce.length; i++) buf[at++] = nonce.charCodeAt(i);
  buf[at++] = 0x3a;
  for (let i = 0; i < cnonce.length; i++) buf[at++] = cnonce.charCodeAt(i);
  if (authzid) {
    buf[at++] = 0x3a;
    at = utf8Into(authzid, buf, at);
  }
  const ha1 = new Uint8Array(16);
  md5Into(buf.subarray(0, at), ha1);
  buf.fill(0, 0, at);
  return ha1;
}

const ZERO_BODY_HASH = ":00000000000000000000000000000000";

// H(A2) depends on public values only (the digest-uri, and whether the qop covers the body),
// which repeat from one exchange to the next: the last few are kept, in place of two of the
// six hashes of each side. Bounded, and holding nothing secret. Looked up by the digest-uri
// and two flags, so a hit builds no A2 string.
const HA2_KEPT = 8;
const ha2Uris: string[] = [];
const ha2Kinds: number[] = [];
const ha2Values: string[] = [];
let ha2Next = 0;

function hashA2(prefix: "AUTHENTICATE" | "", digestUri: string, qop: string): string {
  const kind = (prefix === "" ? 1 : 0) | (qop === "auth" ? 0 : 2);
  for (let k = 0; k < ha2Uris.length; k++) {
    if (ha2Kinds[k] === kind && ha2Uris[k] === digestUri) return ha2Values[k];
  }
  const value = md5Hex(`${prefix}:${digestUri}${qop === "auth" ? "" : ZERO_BODY_HASH}`);
  ha2Uris[ha2Next] = digestUri;
  ha2Kinds[ha2Next] = kind;
  ha2Values[ha2Next] = value;
  ha2Next = (ha2Next + 1) % HA2_KEPT;
  return value;
}

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
  const ha2 = hashA2(prefix, digestUri, qop);
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
