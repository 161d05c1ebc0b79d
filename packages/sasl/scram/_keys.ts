// SCRAM's key schedule (RFC 5802 §3) on top of the hashing seam, and the cache key.
// Internal: not exported from mod.ts.

import { concat, randomBytes, uint32be, utf8 } from "../_bytes.ts";
import { hmacSha, pbkdf2Sha, sha, type ShaName } from "../_sha.ts";
import { encodeBase64 } from "../base64.ts";

const CLIENT_KEY = utf8("Client Key");
const SERVER_KEY = utf8("Server Key");

/** ClientKey, StoredKey and ServerKey from a SaltedPassword. */
export async function keysFromSaltedPassword(
  hash: ShaName,
  saltedPassword: Uint8Array,
): Promise<{ clientKey: Uint8Array; storedKey: Uint8Array; serverKey: Uint8Array }> {
  const clientKey = await hmacSha(hash, saltedPassword, CLIENT_KEY);
  const serverKey = await hmacSha(hash, saltedPassword, SERVER_KEY);
  const storedKey = await sha(hash, clientKey);
  return { clientKey, storedKey, serverKey };
}

/** SaltedPassword = Hi(Normalize(password), salt, i), i.e. PBKDF2-HMAC-H. */
export function saltedPassword(
  hash: ShaName,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  return pbkdf2Sha(hash, password, salt, iterations);
}

/** XOR of two arrays of the same length, into a fresh array. */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

// A random key for this process: cache keys are HMACs under it, so a dump of a cache (its keys)
// cannot be used to test password guesses, and no key contains the password.
let cacheSecret: Uint8Array | undefined;

/**
 * The key under which a salted-password cache keeps ClientKey and ServerKey:
 * base64(HMAC-SHA-256(per-process random key, hash ‖ 0 ‖ iterations ‖ 0 ‖ len(salt) ‖ salt ‖
 * password)). The username is not part of it: the keys depend only on these inputs.
 */
export function cacheKey(
  hash: ShaName,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<string> {
  cacheSecret ??= randomBytes(32);
  const input = concat(
    utf8(`${hash}\0${iterations}\0`),
    uint32be(salt.length),
    salt,
    password,
  );
  return hmacSha("SHA-256", cacheSecret, input).then((mac) => {
    input.fill(0);
    return encodeBase64(mac);
  });
}

/** Fills arrays with zeros. */
export function wipe(...arrays: (Uint8Array | undefined)[]): void {
  for (const array of arrays) array?.fill(0);
}

/**
 * The salt a server gives a username it derives keys for itself: for an unknown user (so the
 * same name always gets the same salt) and for credentials derived on the fly from a stored
 * password (so a known user's salt looks like an unknown one's).
 * HMAC-SHA-256(HMAC-SHA-256(secret, hash ‖ 0 ‖ username), "salt"), first 16 bytes.
 */
export async function stableSalt(
  secret: Uint8Array,
  hash: ShaName,
  username: string,
): Promise<Uint8Array> {
  const seed = await userSeed(secret, hash, username);
  const salt = (await hmacSha("SHA-256", seed, utf8("salt"))).slice(0, 16);
  wipe(seed);
  return salt;
}

/** The per-user seed the fake credentials of an unknown user come from. */
export function userSeed(secret: Uint8Array, hash: ShaName, username: string): Promise<Uint8Array> {
  return hmacSha("SHA-256", secret, utf8(`${hash}\0${username}`));
}
