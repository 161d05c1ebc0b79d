// Reading the server's digest-challenge (RFC 2831 §2.1.1) and writing the client's
// digest-response (§2.1.2). Every rule of the grammar that a real server could break is checked
// here, each with its own message, so that a broken or hostile server is named, not obeyed.

import { decodeLatin1, decodeUtf8 } from "../_bytes.ts";
import { SaslError } from "../error.ts";
import type { Qop } from "../mechanism.ts";
import { type Directive, parseDirectives, splitList } from "./_directives.ts";

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

/** Checks the `at most once` / `exactly once` rules and returns the single value, if any. */
export function single(
  directives: readonly Directive[],
  name: string,
  required: boolean,
  code: "malformed-challenge" | "malformed-response",
): Directive | undefined {
  let found: Directive | undefined;
  for (const d of directives) {
    if (d.name !== name) continue;
    if (found) throw new SaslError(code, `DIGEST-MD5: directive "${name}" appears more than once`);
    found = d;
  }
  if (required && !found) {
    throw new SaslError(code, `DIGEST-MD5: directive "${name}" is missing`);
  }
  return found;
}

/** Parses a maxbuf value. */
export function parseMaxbuf(
  value: string,
  code: "malformed-challenge" | "malformed-response",
): number {
  if (!/^[0-9]{1,9}$/.test(value)) throw new SaslError(code, "DIGEST-MD5: maxbuf is not a number");
  const n = Number(value);
  if (n <= 16 || n > MAX_MAXBUF) {
    throw new SaslError(code, `DIGEST-MD5: maxbuf ${n} is outside 17..${MAX_MAXBUF}`);
  }
  return n;
}

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
  const directives = parseDirectives(decodeLatin1(bytes), code);
  if (directives.some((d) => d.name === "rspauth")) {
    throw new SaslError(code, "DIGEST-MD5: rspauth arrived before the client responded");
  }
  const charset = single(directives, "charset", false, code);
  if (charset && charset.value.toLowerCase() !== "utf-8") {
    throw new SaslError(code, `DIGEST-MD5: unknown charset "${charset.value}"`);
  }
  const utf8 = charset !== undefined;
  const algorithm = single(directives, "algorithm", true, code)!;
  if (algorithm.value.toLowerCase() !== "md5-sess") {
    throw new SaslError(code, `DIGEST-MD5: algorithm must be md5-sess, not "${algorithm.value}"`);
  }
  const nonce = single(directives, "nonce", true, code)!;
  if (nonce.value.length === 0) throw new SaslError(code, "DIGEST-MD5: the nonce is empty");
  // The nonce goes back into the response and into the hash; only ASCII is the same bytes
  // under both charsets.
  if (!/^[\x20-\x7e]+$/.test(nonce.value)) {
    throw new SaslError(code, "DIGEST-MD5: the nonce is not printable ASCII");
  }
  const qopDirective = single(directives, "qop", false, code);
  const offeredQops = qopDirective ? splitList(qopDirective.value.toLowerCase()) : ["auth"];
  const qops = QOPS.filter((q) => offeredQops.includes(q)) as Qop[];
  if (qops.length === 0) throw new SaslError(code, "DIGEST-MD5: the server offers no known qop");
  const cipherDirective = single(directives, "cipher", false, code);
  const ciphers = cipherDirective ? splitList(cipherDirective.value.toLowerCase()) : [];
  if (offeredQops.includes("auth-conf") && !cipherDirective) {
    throw new SaslError(code, "DIGEST-MD5: auth-conf is offered without a cipher directive");
  }
  const maxbufDirective = single(directives, "maxbuf", false, code);
  const maxbuf = maxbufDirective ? parseMaxbuf(maxbufDirective.value, code) : DEFAULT_MAXBUF;
  const staleDirective = single(directives, "stale", false, code);
  if (staleDirective && staleDirective.value.toLowerCase() !== "true") {
    throw new SaslError(code, `DIGEST-MD5: stale must be "true"`);
  }
  const realms = directives.filter((d) => d.name === "realm").map((d) =>
    reencodeValue(d.value, utf8, code)
  );
  return {
    realms,
    nonce: reencodeValue(nonce.value, utf8, code),
    qops,
    ciphers,
    maxbuf,
    utf8,
    stale: staleDirective !== undefined,
  };
}
