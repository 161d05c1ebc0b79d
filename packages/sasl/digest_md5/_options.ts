// What the DIGEST-MD5 client and server share in checking their options.

import { SaslError } from "../error.ts";
import type { MechanismProperties, Qop } from "../mechanism.ts";
import type { DigestCipher } from "./_compute.ts";
import { DEFAULT_MAXBUF, MAX_MAXBUF } from "./_challenge.ts";

/** Every cipher, strongest first (by the strength Cyrus SASL assigns). */
export const DIGEST_CIPHERS: readonly DigestCipher[] = [
  "rc4",
  "3des",
  "rc4-56",
  "des",
  "rc4-40",
];

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

/** Checks the protection options of either side and fills in their defaults. */
export function checkProtection(
  qop: readonly Qop[] | undefined,
  ciphers: readonly DigestCipher[] | undefined,
  maxbuf: number | undefined,
): { qops: readonly Qop[]; ciphers: readonly DigestCipher[]; maxbuf: number } {
  const qops = qop ?? ["auth"];
  if (qops.length === 0 || qops.some((q) => !QOPS.includes(q))) {
    throw new SaslError("invalid-argument", "qop must list auth, auth-int or auth-conf");
  }
  const cipherList = ciphers ?? DIGEST_CIPHERS;
  if (cipherList.some((c) => !DIGEST_CIPHERS.includes(c))) {
    throw new SaslError("invalid-argument", `ciphers must be among ${DIGEST_CIPHERS.join(", ")}`);
  }
  if (qops.includes("auth-conf") && cipherList.length === 0) {
    throw new SaslError("invalid-argument", "auth-conf needs at least one cipher");
  }
  const size = maxbuf ?? DEFAULT_MAXBUF;
  if (!Number.isInteger(size) || size <= 16 || size > MAX_MAXBUF) {
    throw new SaslError("invalid-argument", `maxbuf must be an integer in 17..${MAX_MAXBUF}`);
  }
  return { qops, ciphers: cipherList, maxbuf: size };
}
