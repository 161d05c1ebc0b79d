// What the DIGEST-MD5 client and server share in checking their options.

import { SaslError } from "../error.ts";
import type { MechanismProperties, Qop } from "../mechanism.ts";
import type { DigestCipherSuite } from "./ciphers.ts";
import { DEFAULT_MAXBUF, MAX_MAXBUF } from "./_challenge.ts";

/** DIGEST-MD5 never sends the password, verifies the server and can offer a layer. */
export const DIGEST_MD5_PROPERTIES: MechanismProperties = /* @__PURE__ */ Object.freeze({
  sendsCleartextPassword: false,
  verifiesServer: true,
  offersSecurityLayer: true,
  clientFirst: false,
  channelBinding: false,
  carriesAuthorizationId: true,
});

const QOPS: readonly Qop[] = ["auth", "auth-int", "auth-conf"];

// The cipher objects ciphers.ts makes. Only they are accepted: a cipher's name goes on the wire
// in the challenge, and its streams() keys the confidentiality layer.
const CIPHER_SUITES: WeakSet<object> = /* @__PURE__ */ new WeakSet();

/** Marks one of ciphers.ts's constants as a cipher the options accept. */
export function acceptCipherSuite<T extends object>(suite: T): T {
  CIPHER_SUITES.add(suite);
  return suite;
}

/** Checks the protection options of either side and fills in their defaults. */
export function checkProtection(
  qop: readonly Qop[] | undefined,
  ciphers: readonly DigestCipherSuite[] | undefined,
  maxbuf: number | undefined,
): { qops: readonly Qop[]; ciphers: readonly DigestCipherSuite[]; maxbuf: number } {
  const qops = qop ?? ["auth"];
  if (!Array.isArray(qops) || qops.length === 0 || qops.some((q) => !QOPS.includes(q))) {
    throw new SaslError("invalid-argument", "qop must list auth, auth-int or auth-conf");
  }
  // The ciphers are objects the caller imports, so that an app bundles only those it names.
  const hint = 'import { rc4, tripleDes } from "@saslkit/sasl/digest-md5/ciphers" and pass ' +
    'ciphers: [rc4, tripleDes] (ciphersByName(["rc4"]) maps names)';
  const cipherList = ciphers ?? [];
  if (
    !Array.isArray(cipherList) ||
    cipherList.some((c) => typeof c !== "object" || c === null || !CIPHER_SUITES.has(c))
  ) {
    throw new SaslError(
      "invalid-argument",
      `ciphers takes a list of cipher objects, not names: ${hint}`,
    );
  }
  if (qops.includes("auth-conf") && cipherList.length === 0) {
    throw new SaslError("invalid-argument", `auth-conf needs ciphers: ${hint}`);
  }
  const size = maxbuf ?? DEFAULT_MAXBUF;
  if (!Number.isInteger(size) || size <= 16 || size > MAX_MAXBUF) {
    throw new SaslError("invalid-argument", `maxbuf must be an integer in 17..${MAX_MAXBUF}`);
  }
  // Copies: a caller that changes its arrays later must not change what this side accepts.
  return { qops: [...qops], ciphers: [...cipherList], maxbuf: size };
}
