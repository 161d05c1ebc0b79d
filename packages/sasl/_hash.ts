// The one seam through which saslkit hashes. Every mechanism calls these functions and nothing
// else, so that a benchmark can later choose the fastest backend per runtime without touching
// mechanism code. Today every function is @noble/hashes: portable, audited, synchronous.
import { hmac } from "@noble/hashes/hmac.js";
import { md5 as nobleMd5 } from "@noble/hashes/legacy.js";

/** MD5 of the concatenation of the given parts. */
export function md5(...parts: Uint8Array[]): Uint8Array {
  const h = nobleMd5.create();
  for (const part of parts) h.update(part);
  return h.digest();
}

/** HMAC-MD5 of the concatenation of the given parts. */
export function hmacMd5(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = hmac.create(nobleMd5, key);
  for (const part of parts) h.update(part);
  return h.digest();
}
