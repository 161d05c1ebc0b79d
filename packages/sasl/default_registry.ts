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

/**
 * Every mechanism saslkit implements, most preferred first: those that never reveal the
 * password and verify the server, then those that only hide it, then cleartext ones.
 * Adding a mechanism is its own file and one line here.
 *
 * @example
 * ```ts
 * import { defaultRegistry } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.equal(defaultRegistry.get("cram-md5")?.properties.verifiesServer, false);
 * assert.ok(defaultRegistry.names.includes("DIGEST-MD5"));
 * ```
 */
export const defaultRegistry: MechanismRegistry = new MechanismRegistry([
  digestMd5Mechanism,
  cramMd5Mechanism,
  plainMechanism,
  loginMechanism,
  oauthBearerMechanism,
  xoauth2Mechanism,
  externalMechanism,
  anonymousMechanism,
]);
