// Byte helpers shared by the mechanisms. Internal: not exported from mod.ts.

const encoder = /* @__PURE__ */ new TextEncoder();
const strictDecoder = /* @__PURE__ */ new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
// Only ever given ASCII, which every UTF-8 decoder reads as ISO-8859-1 would.
const asciiDecoder = /* @__PURE__ */ new TextDecoder("utf-8", { ignoreBOM: true });

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  // Short ASCII text is its char codes: a call into TextEncoder costs more than the copy. Past
  // 64 bytes the array lives outside the JavaScript heap (V8), which costs the same either way,
  // and a string made by concatenation (a rope) is read a character at a time slowly (Node 20),
  // where TextEncoder flattens it once.
  if (text.length <= 64) {
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) return encoder.encode(text);
      out[i] = code;
    }
    return out;
  }
  return encoder.encode(text);
}

/**
 * Writes the UTF-8 bytes of a string into `out` from `at`, which must have room for 3 bytes per
 * UTF-16 unit; returns the offset after them. The same bytes as {@linkcode utf8}.
 */
export function utf8Into(text: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) {
      return at + i + encoder.encodeInto(text.slice(i), out.subarray(at + i)).written;
    }
    out[at + i] = code;
  }
  return at + text.length;
}

/**
 * The bytes of strings that are all ASCII, written piece by piece into one array of the exact
 * length (no concatenated string to flatten, no TextEncoder call); `undefined` as soon as a
 * character is not ASCII.
 */
export function asciiPieces(pieces: readonly string[], last = ""): Uint8Array | undefined {
  let length = last.length;
  for (let k = 0; k < pieces.length; k++) length += pieces[k].length;
  const out = new Uint8Array(length);
  let at = 0;
  for (let k = 0; k <= pieces.length; k++) {
    const piece = k < pieces.length ? pieces[k] : last;
    for (let i = 0; i < piece.length; i++) {
      const code = piece.charCodeAt(i);
      if (code > 0x7f) return undefined;
      out[at++] = code;
    }
  }
  return out;
}

/** Decodes UTF-8, returning `undefined` when the bytes are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** ISO-8859-1 bytes of a string, or `undefined` when a character is above U+00FF. */
export function latin1(text: string): Uint8Array | undefined {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) return undefined;
    out[i] = code;
  }
  return out;
}

// Bytes per String.fromCharCode call: far below any engine's argument limit.
const LATIN1_CHUNK = 8192;

/**
 * Decodes ISO-8859-1 bytes (every byte is one character, U+0000..U+00FF). Not
 * `TextDecoder("latin1")`: WHATWG maps that label to windows-1252, which turns 0x80..0x9F into
 * other characters. Linear: a chunk of characters per call rather than one string per byte.
 */
export function decodeLatin1(bytes: Uint8Array): string {
  if (bytes.length <= LATIN1_CHUNK) {
    // ASCII (nearly every protocol message) reads the same as UTF-8, and TextDecoder makes the
    // string in one native call, 2-7x faster than String.fromCharCode in Node, Deno and Bun.
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return asciiDecoder.decode(bytes);
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += LATIN1_CHUNK) {
    parts.push(
      String.fromCharCode.apply(null, bytes.subarray(i, i + LATIN1_CHUNK) as unknown as number[]),
    );
  }
  return parts.join("");
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const HEX_PAIRS: readonly string[] = /* @__PURE__ */ Array.from(
  { length: 256 },
  (_, i) => (i < 16 ? "0" : "") + i.toString(16),
);

/** Lower-case hexadecimal of bytes. */
export function hex(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += HEX_PAIRS[bytes[i]];
  return text;
}

/**
 * Compares two byte arrays in time that depends only on their lengths, so that a server
 * does not reveal how much of a guessed digest was right.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Big-endian 4-byte encoding of an unsigned 32-bit integer. */
export function uint32be(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, false);
  return out;
}

/** Reads a big-endian unsigned 32-bit integer. */
export function readUint32be(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, false);
}

// crypto.getRandomValues costs about 1.7 us a call in Node 20 whatever the length, so short
// requests (nonces) are served from a pool filled 4 KiB at a time. Each pooled byte is handed
// out once and zeroed as it leaves the pool.
const POOL_SIZE = 4096;
const pool = /* @__PURE__ */ new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** Fills a fresh array with cryptographically strong random bytes. */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (length > 256) {
    crypto.getRandomValues(out);
    return out;
  }
  if (poolOffset + length > POOL_SIZE) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const taken = pool.subarray(poolOffset, poolOffset + length);
  out.set(taken);
  taken.fill(0);
  poolOffset += length;
  return out;
}

/** Base64url without padding, for nonces: printable, and never needs quoting. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return base64Url(bytes, 0, bytes.length);
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The characters are collected as codes and made into one flat string in one call (a string
// grown a character at a time is a rope, slow to read back).
function base64Url(bytes: Uint8Array, start: number, end: number): string {
  const codes: number[] = [];
  let i = start;
  for (; i + 3 <= end; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    codes.push(
      BASE64URL.charCodeAt(v >> 18),
      BASE64URL.charCodeAt((v >> 12) & 63),
      BASE64URL.charCodeAt((v >> 6) & 63),
      BASE64URL.charCodeAt(v & 63),
    );
  }
  if (end - i === 1) {
    const v = bytes[i];
    codes.push(BASE64URL.charCodeAt(v >> 2), BASE64URL.charCodeAt((v << 4) & 63));
  } else if (end - i === 2) {
    const v = (bytes[i] << 8) | bytes[i + 1];
    codes.push(
      BASE64URL.charCodeAt(v >> 10),
      BASE64URL.charCodeAt((v >> 4) & 63),
      BASE64URL.charCodeAt((v << 2) & 63),
    );
  }
  // Chunked like decodeLatin1, for long inputs.
  if (codes.length <= LATIN1_CHUNK) return String.fromCharCode.apply(null, codes);
  const parts: string[] = [];
  for (let k = 0; k < codes.length; k += LATIN1_CHUNK) {
    parts.push(String.fromCharCode.apply(null, codes.slice(k, k + LATIN1_CHUNK)));
  }
  return parts.join("");
}

/**
 * A nonce: `length` cryptographically strong random bytes as base64url without padding, read
 * straight from the pool {@linkcode randomBytes} serves (no array of its own), each byte zeroed
 * as it is used.
 */
export function randomBase64Url(length: number): string {
  if (length > 256) return encodeBase64Url(randomBytes(length));
  if (poolOffset + length > POOL_SIZE) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const text = base64Url(pool, poolOffset, poolOffset + length);
  pool.fill(0, poolOffset, poolOffset + length);
  poolOffset += length;
  return text;
}

/**
 * Whether a nonce can travel in a quoted-string without escapes: non-empty printable ASCII
 * without `"` or `\`. Both sides check their nonces, since a test hook may supply them.
 */
export function isNonceText(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x21 || code > 0x7e || code === 0x22 || code === 0x5c) return false;
  }
  return true;
}

/** Whether text holds a C0 control character or DEL. */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
