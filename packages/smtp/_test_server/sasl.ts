// The server mechanisms the test server implements, and how their payloads appear in the
// transcript without the passwords.

import {
  CramMd5Server,
  DigestMd5Server,
  LoginServer,
  PlainServer,
  type ServerMechanism,
} from "@saslkit/sasl";
import type { ResolvedOptions } from "./options.ts";
import { escapeControls } from "../_bytes.ts";

/** The mechanisms that have a server side here; other advertised names answer 504. */
export const IMPLEMENTED: ReadonlySet<string> = new Set([
  "DIGEST-MD5",
  "CRAM-MD5",
  "LOGIN",
  "PLAIN",
]);

/** A fresh server mechanism for one AUTH command, or `undefined` if not implemented. */
export function createMechanism(
  name: string,
  options: ResolvedOptions,
): ServerMechanism | undefined {
  const { users } = options;
  const verify = (user: string, password: string) => users.get(user) === password;
  switch (name) {
    case "PLAIN":
      return new PlainServer({ verify });
    case "LOGIN":
      return new LoginServer({ verify });
    case "CRAM-MD5":
      return new CramMd5Server({ password: (user) => users.get(user), host: options.domain });
    case "DIGEST-MD5":
      return new DigestMd5Server({
        service: "smtp",
        host: options.digestHosts,
        realms: [options.realm],
        qop: options.digestQop,
        ciphers: options.digestCiphers,
        maxbuf: options.maxbuf,
        credentials: (user) => {
          const password = users.get(user);
          return password === undefined ? undefined : { password };
        },
      });
    default:
      return undefined;
  }
}

/** An `rspauth=` with every hex digit changed, so that no client can accept it. */
export function falsifyRspauth(challenge: Uint8Array): Uint8Array {
  const text = new TextDecoder().decode(challenge);
  const lying = text.replace(
    /^rspauth=([0-9a-f]+)/i,
    (_, digits: string) =>
      "rspauth=" +
      [...digits].map((d) => ((parseInt(d, 16) + 1) % 16).toString(16)).join(""),
  );
  return new TextEncoder().encode(lying);
}

const decoder = new TextDecoder();

/** Bytes as a transcript string: UTF-8 where valid, control characters as `\xNN`. */
export function printable(bytes: Uint8Array): string {
  // The same escapes as the client's transcript, so the two read alike side by side.
  return escapeControls(decoder.decode(bytes));
}

/**
 * A client message of a SASL exchange as the transcript shows it.
 *
 * @param mechanism The mechanism name of the AUTH command.
 * @param bytes The decoded message.
 * @param lastChallenge The challenge it answers, decoded; `undefined` for an initial response.
 */
export function showResponse(
  mechanism: string,
  bytes: Uint8Array,
  lastChallenge: string | undefined,
): string {
  if (!IMPLEMENTED.has(mechanism)) return "***";
  // Digests are not passwords, but they allow an offline guess; the identities stay readable.
  if (mechanism === "DIGEST-MD5") {
    return printable(bytes).replace(/response=[0-9a-fA-F]*/i, "response=***");
  }
  if (mechanism === "CRAM-MD5") {
    const text = printable(bytes);
    const space = text.lastIndexOf(" ");
    return space > 0 ? `${text.slice(0, space)} ***` : "***";
  }
  if (mechanism === "PLAIN") {
    // authzid NUL authcid NUL passwd: keep the identities, never the password.
    const first = bytes.indexOf(0);
    const second = first < 0 ? -1 : bytes.indexOf(0, first + 1);
    return second < 0 ? "***" : `${printable(bytes.subarray(0, second + 1))}***`;
  }
  // Only the answer to the username prompt (or the initial response) is not a password.
  if (
    mechanism === "LOGIN" && lastChallenge !== undefined && !/^user ?name/i.test(lastChallenge)
  ) {
    return "***";
  }
  return printable(bytes);
}
