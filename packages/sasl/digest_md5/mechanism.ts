/**
 * DIGEST-MD5 in the mechanism registry.
 *
 * @module
 */

import { lookup, passwordCredentials, shown } from "../_descriptor.ts";
import { defineMechanism, type MechanismDescriptor } from "../registry.ts";
import { DigestMd5Client } from "./client.ts";
import { DigestMd5Server } from "./server.ts";
import { DIGEST_MD5_PROPERTIES } from "./_options.ts";
import { allCiphers, ciphersByName } from "./ciphers.ts";
import type { DigestMd5MechanismOptions } from "../registry.ts";
import { SaslError } from "../error.ts";

// The registry takes cipher names (a command line, a policy file); the classes take the cipher
// objects. Without names every cipher is allowed.
function suites(o: DigestMd5MechanismOptions) {
  if (!o.ciphers) return allCiphers;
  if (!Array.isArray(o.ciphers)) {
    throw new SaslError(
      "invalid-argument",
      "options.digestMd5.ciphers takes a list of cipher names",
    );
  }
  if (o.ciphers.length === 0 && o.qop?.includes("auth-conf")) {
    throw new SaslError("invalid-argument", "auth-conf needs at least one cipher name");
  }
  return ciphersByName(o.ciphers);
}

// Only the response directive: at the start or after a comma, any spacing, any case, quoted
// or not. A username that happens to contain "response=" stays as it is.
const RESPONSE_DIRECTIVE = /(^|,)(\s*response\s*=\s*)("[^"]*"|[^,]*)/gi;

/**
 * DIGEST-MD5 in the mechanism registry: password credentials; the settings of
 * `context.options.digestMd5` (qop, ciphers, realm…) on both sides; the server side needs the
 * plaintext `store.password`; a transcript hides the `response` digest, which would allow an
 * offline guess of the password.
 *
 * @example
 * ```ts
 * import { digestMd5Mechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const client = await digestMd5Mechanism.createClient(
 *   { username: "chris", password: "secret" },
 *   { service: "smtp", host: "mail.example.com", options: { digestMd5: { qop: ["auth"] } } },
 * );
 * assert.equal(client.start(), undefined);
 * const message = new TextEncoder().encode('username="chris",response=0123456789abcdef');
 * assert.equal(digestMd5Mechanism.redact(message, {}), 'username="chris",response=***');
 * ```
 */
export const digestMd5Mechanism: MechanismDescriptor = /* @__PURE__ */ defineMechanism({
  name: "DIGEST-MD5",
  properties: DIGEST_MD5_PROPERTIES,
  credentialKind: "password",
  createClient(credentials, context) {
    const { username, password, authorizationId } = passwordCredentials("DIGEST-MD5", credentials);
    const o = context.options?.digestMd5 ?? {};
    return new DigestMd5Client({
      username,
      password,
      authorizationId,
      service: context.service,
      host: context.host,
      qop: o.qop,
      ciphers: suites(o),
      maxbuf: o.maxbuf,
      realm: o.realm,
      reauthCache: o.reauthCache,
      credentialEncoding: o.credentialEncoding,
    });
  },
  createServer(store, context) {
    const password = lookup("DIGEST-MD5", store, "password");
    const o = context.options?.digestMd5 ?? {};
    return new DigestMd5Server({
      service: context.service,
      host: o.hosts ?? context.host,
      realms: o.realms,
      qop: o.qop,
      ciphers: suites(o),
      maxbuf: o.maxbuf,
      nonceStore: o.nonceStore,
      authorize: store.authorize,
      credentials: (user) => {
        const secret = password(user);
        return secret === undefined ? undefined : { password: secret };
      },
    });
  },
  redact(message) {
    return shown(
      message,
      (text) =>
        text.replace(RESPONSE_DIRECTIVE, (_, lead: string, name: string) => `${lead}${name}***`),
    );
  },
});
