// Reading the server's digest-challenge (RFC 2831 §2.1.1) and writing the client's
// digest-response (§2.1.2). Every rule of the grammar that a real server could break is checked
// here, each with its own message, so that a broken or hostile server is named, not obeyed.

import { decodeLatin1, decodeUtf8 } from "../_bytes.ts";
import { SaslError } from "../error.ts";
import type { Qop } from "../mechanism.ts";
import { type DirectiveSlots, scanDirectives, splitList } from "./_directives.ts";

/** RFC 2831 §2.1.1: a digest-challenge is at most 2048 bytes. */
export const MAX_CHALLENGE_LENGTH = 2048;
/** RFC 2831 §2.1.2: a digest-response is at most 4096 bytes. */
export const MAX_RESPONSE_LENGTH = 4096;
/** RFC 2831: maxbuf lies in (16, 16777215]; 65536 when absent. */
export const MAX_MAXBUF = 16777215;
export const DEFAULT_MAXBUF = 65536;

const QOPS: readonly string[] = ["auth", "auth-int", "auth-conf"];

/** A parsed digest-challenge. */
export interface DigestChallenge {
  readonly realms: readonly string[];
  readonly nonce: string;
  /** Offered protection levels this implementation knows, in the server's order. */
  readonly qops: readonly Qop[];
  /** Offered cipher names, lower-cased, in the server's order (the client matches its own). */
  readonly ciphers: readonly string[];
  readonly maxbuf: number;
  readonly utf8: boolean;
  readonly stale: boolean;
}

/**
 * Decodes a message's text. The grammar is ASCII, so parsing runs on ISO-8859-1 text; quoted
 * values are re-read as UTF-8 when the message says `charset=utf-8`.
 */
export function reencodeValue(
  value: string,
  utf8: boolean,
  code: "malformed-challenge" | "malformed-response",
): string {
  if (!utf8) return value;
  // ASCII reads the same under both charsets: no decoder call for most values.
  let ascii = true;
  for (let i = 0; i < value.length && ascii; i++) ascii = value.charCodeAt(i) < 0x80;
  if (ascii) return value;
  const bytes = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i);
  const text = decodeUtf8(bytes);
  if (text === undefined) throw new SaslError(code, "DIGEST-MD5: a value is not valid UTF-8");
  return text;
}

/**
 * Checks the `at most once` / `exactly once` rules for the known name at `index` of a
 * {@linkcode scanDirectives} result and returns its value, if any.
 */
export function single(
  slots: DirectiveSlots,
  index: number,
  name: string,
  required: boolean,
  code: "malformed-challenge" | "malformed-response",
): string | undefined {
  const count = slots.counts[index];
  if (count > 1) {
    throw new SaslError(code, `DIGEST-MD5: directive "${name}" appears more than once`);
  }
  if (required && count === 0) {
    throw new SaslError(code, `DIGEST-MD5: directive "${name}" is missing`);
  }
  return slots.values[index];
}

/** Parses a maxbuf value. */
export function parseMaxbuf(
  value: string,
  code: "malformed-challenge" | "malformed-response",
): number {
  // 1 to 9 decimal digits.
  let digits = value.length > 0 && value.length <= 9;
  for (let i = 0; i < value.length && digits; i++) {
    const c = value.charCodeAt(i);
    digits = c >= 0x30 && c <= 0x39;
  }
  if (!digits) throw new SaslError(code, "DIGEST-MD5: maxbuf is not a number");
  const n = Number(value);
  if (n <= 16 || n > MAX_MAXBUF) {
    throw new SaslError(code, `DIGEST-MD5: maxbuf ${n} is outside 17..${MAX_MAXBUF}`);
  }
  return n;
}

/** Whether text is non-empty and every character is printable ASCII (0x20..0x7E). */
export function isPrintableAscii(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// The names a challenge's checks read, by their index in the scan's slots.
const CHALLENGE_NAMES = [
  "realm",
  "nonce",
  "qop",
  "cipher",
  "maxbuf",
  "charset",
  "algorithm",
  "stale",
  "rspauth",
] as const;
const REALM = 0;
const NONCE = 1;
const QOP = 2;
const CIPHER = 3;
const MAXBUF = 4;
const CHARSET = 5;
const ALGORITHM = 6;
const STALE = 7;
const RSPAUTH = 8;

/** Parses and checks a digest-challenge. */
export function parseChallenge(bytes: Uint8Array): DigestChallenge {
  const code = "malformed-challenge";
  if (bytes.length > MAX_CHALLENGE_LENGTH) {
    throw new SaslError(
      "message-too-long",
      `DIGEST-MD5: challenge of ${bytes.length} bytes exceeds ${MAX_CHALLENGE_LENGTH}`,
    );
  }
  if (bytes.length === 0) throw new SaslError(code, "DIGEST-MD5: the challenge is empty");
  // One pass; then the checks in a fixed order, each on its own slot.
  const slots = scanDirectives(decodeLatin1(bytes), code, CHALLENGE_NAMES, REALM);
  if (slots.counts[RSPAUTH] > 0) {
    throw new SaslError(code, "DIGEST-MD5: rspauth arrived before the client responded");
  }
  const charset = single(slots, CHARSET, "charset", false, code);
  if (charset !== undefined && charset.toLowerCase() !== "utf-8") {
    throw new SaslError(code, `DIGEST-MD5: unknown charset "${charset}"`);
  }
  const utf8 = charset !== undefined;
  const algorithm = single(slots, ALGORITHM, "algorithm", true, code)!;
  if (algorithm.toLowerCase() !== "md5-sess") {
    throw new SaslError(code, `DIGEST-MD5: algorithm must be md5-sess, not "${algorithm}"`);
  }
  const nonce = single(slots, NONCE, "nonce", true, code)!;
  if (nonce.length === 0) throw new SaslError(code, "DIGEST-MD5: the nonce is empty");
  // The nonce goes back into the response and into the hash; only ASCII is the same bytes
  // under both charsets (so it needs no re-decoding).
  if (!isPrintableAscii(nonce)) {
    throw new SaslError(code, "DIGEST-MD5: the nonce is not printable ASCII");
  }
  const qopValue = single(slots, QOP, "qop", false, code);
  const offeredQops = qopValue !== undefined ? splitList(qopValue.toLowerCase()) : ["auth"];
  const qops = QOPS.filter((q) => offeredQops.includes(q)) as Qop[];
  if (qops.length === 0) throw new SaslError(code, "DIGEST-MD5: the server offers no known qop");
  const cipherValue = single(slots, CIPHER, "cipher", false, code);
  const ciphers = cipherValue !== undefined ? splitList(cipherValue.toLowerCase()) : [];
  if (cipherValue === undefined && offeredQops.includes("auth-conf")) {
    throw new SaslError(code, "DIGEST-MD5: auth-conf is offered without a cipher directive");
  }
  const maxbufValue = single(slots, MAXBUF, "maxbuf", false, code);
  const maxbuf = maxbufValue !== undefined ? parseMaxbuf(maxbufValue, code) : DEFAULT_MAXBUF;
  const stale = single(slots, STALE, "stale", false, code);
  if (stale !== undefined && stale.toLowerCase() !== "true") {
    throw new SaslError(code, `DIGEST-MD5: stale must be "true"`);
  }
  const realms = slots.all;
  // ASCII reads the same under both charsets.
  if (!slots.ascii) {
    for (let k = 0; k < realms.length; k++) realms[k] = reencodeValue(realms[k], utf8, code);
  }
  return { realms, nonce, qops, ciphers, maxbuf, utf8, stale: stale !== undefined };
}
