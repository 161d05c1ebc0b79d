/**
 * The registry of every mechanism saslkit implements, strongest first.
 *
 * @module
 */

import { MechanismRegistry } from "./registry.ts";
import { digestMd5Mechanism } from "./digest_md5/mechanism.ts";
import { cramMd5Mechanism } from "./cram_md5.ts";
import { plainMechanism } from "./plain.ts";
import { loginMechanism } from "./login.ts";
import { oauthBearerMechanism } from "./oauthbearer.ts";
import { xoauth2Mechanism } from "./xoauth2.ts";
import { externalMechanism } from "./external.ts";
import { anonymousMechanism } from "./anonymous.ts";
import { scramMechanisms } from "./scram/mechanism.ts";

/**
 * Every mechanism saslkit implements, most preferred first: those that never reveal the
 * password and verify the server (the SCRAM family, channel-bound variants and stronger hashes
 * first, then DIGEST-MD5), then those that only hide it, then cleartext ones.
 * Adding a mechanism is its own file and one line here.
 *
 * SCRAM prepares credentials with SASLprep; strings of printable ASCII need nothing for that,
 * and others load `@mongodb-js/saslprep` with `import()` when they first come (in a browser
 * that library needs a global `Buffer` polyfill; see `@saslkit/sasl/saslprep`).
 *
 * @example
 * ```ts
 * import { defaultRegistry } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.equal(defaultRegistry.get("cram-md5")?.properties.verifiesServer, false);
 * assert.ok(defaultRegistry.get("SCRAM-SHA-256-PLUS")?.properties.channelBinding);
 * assert.deepEqual(defaultRegistry.names.slice(0, 7), [
 *   "SCRAM-SHA-512-PLUS",
 *   "SCRAM-SHA-512",
 *   "SCRAM-SHA-256-PLUS",
 *   "SCRAM-SHA-256",
 *   "SCRAM-SHA-1-PLUS",
 *   "SCRAM-SHA-1",
 *   "DIGEST-MD5",
 * ]);
 * ```
 */
export const defaultRegistry: MechanismRegistry = /* @__PURE__ */ new MechanismRegistry([
  ...scramMechanisms,
  digestMd5Mechanism,
  cramMd5Mechanism,
  plainMechanism,
  loginMechanism,
  oauthBearerMechanism,
  xoauth2Mechanism,
  externalMechanism,
  anonymousMechanism,
]);
