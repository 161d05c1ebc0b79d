// Helpers the mechanism descriptors share: taking the credentials a mechanism needs, the
// server lookup it needs, and showing messages for a transcript. Internal: not exported.

import { timingSafeEqual, utf8 } from "./_bytes.ts";
import type { Credentials, PasswordCredentials } from "./credentials.ts";
import { SaslError } from "./error.ts";
import type { ServerCredentials } from "./registry.ts";

/** The password credentials a password mechanism was given, or `invalid-argument`. */
export function passwordCredentials(
  mechanism: string,
  credentials: Credentials,
): PasswordCredentials {
  if (credentials.kind !== undefined && credentials.kind !== "password") {
    throw new SaslError("invalid-argument", `${mechanism} takes a username and password`);
  }
  return credentials;
}

/** The server lookup a mechanism needs, or `invalid-argument` when the store lacks it. */
export function lookup<K extends keyof ServerCredentials>(
  mechanism: string,
  store: ServerCredentials,
  key: K,
): NonNullable<ServerCredentials[K]> {
  const value = store[key];
  if (value === undefined) {
    throw new SaslError("invalid-argument", `a ${mechanism} server needs the "${key}" lookup`);
  }
  return value as NonNullable<ServerCredentials[K]>;
}

/** Checks a password against the stored one in time that depends only on the lengths. */
export function verifyPassword(store: ServerCredentials, mechanism: string) {
  const password = lookup(mechanism, store, "password");
  return (username: string, candidate: string): boolean => {
    const stored = password(username);
    // An unknown user costs the same comparison as a known one.
    const expected = utf8(stored ?? candidate);
    return timingSafeEqual(expected, utf8(candidate)) && stored !== undefined;
  };
}

const lenient = new TextDecoder();

/** Bytes as text for a transcript: UTF-8, invalid sequences as U+FFFD. */
export function text(bytes: Uint8Array): string {
  return lenient.decode(bytes);
}

/** A redacted message, or `(empty)`. */
export function shown(bytes: Uint8Array, redact: (text: string) => string): string {
  return bytes.length === 0 ? "(empty)" : redact(text(bytes));
}
