/**
 * Channel-binding data that the TLS layer does not hand out directly: `tls-server-end-point`
 * (RFC 5929 §4), the hash of the server's certificate.
 *
 * The other two types come straight from the TLS stack: `tls-exporter` (RFC 9266) is the
 * 32-byte keying-material export with the label `EXPORTER-Channel-Binding` and no context
 * (Node: `socket.exportKeyingMaterial(32, "EXPORTER-Channel-Binding")`), and `tls-unique`
 * (RFC 5929 §3, TLS 1.2 only) is the first Finished message (Node: `socket.getFinished()` on
 * the client, `getPeerFinished()` on the server).
 *
 * @module
 */

import { certificateHash, type CertificateHashName } from "./_sha_noble.ts";
import { decodeBase64 } from "./base64.ts";
import { SaslError } from "./error.ts";

// Signature algorithm OIDs (dotted) and the hash RFC 5929 §4.1 asks for: the signature's own
// hash, except that MD5 and SHA-1 are replaced by SHA-256.
const SIGNATURE_HASHES: Readonly<Record<string, CertificateHashName>> = /* @__PURE__ */ Object
  .freeze({
    "1.2.840.113549.1.1.4": "SHA-256", // md5WithRSAEncryption
    "1.2.840.113549.1.1.5": "SHA-256", // sha1WithRSAEncryption
    "1.2.840.113549.1.1.14": "SHA-224", // sha224WithRSAEncryption
    "1.2.840.113549.1.1.11": "SHA-256", // sha256WithRSAEncryption
    "1.2.840.113549.1.1.12": "SHA-384", // sha384WithRSAEncryption
    "1.2.840.113549.1.1.13": "SHA-512", // sha512WithRSAEncryption
    "1.2.840.10045.4.1": "SHA-256", // ecdsa-with-SHA1
    "1.2.840.10045.4.3.1": "SHA-224", // ecdsa-with-SHA224
    "1.2.840.10045.4.3.2": "SHA-256", // ecdsa-with-SHA256
    "1.2.840.10045.4.3.3": "SHA-384", // ecdsa-with-SHA384
    "1.2.840.10045.4.3.4": "SHA-512", // ecdsa-with-SHA512
    "1.2.840.10040.4.3": "SHA-256", // dsa-with-sha1
    "2.16.840.1.101.3.4.3.1": "SHA-224", // dsa-with-sha224
    "2.16.840.1.101.3.4.3.2": "SHA-256", // dsa-with-sha256
  });
// Hash algorithm OIDs inside RSASSA-PSS parameters.
const HASH_OIDS: Readonly<Record<string, CertificateHashName>> = /* @__PURE__ */ Object.freeze({
  "1.3.14.3.2.26": "SHA-256", // sha1 -> SHA-256
  "1.2.840.113549.2.5": "SHA-256", // md5 -> SHA-256
  "2.16.840.1.101.3.4.2.4": "SHA-224",
  "2.16.840.1.101.3.4.2.1": "SHA-256",
  "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
});
const RSASSA_PSS = "1.2.840.113549.1.1.10";

/**
 * The `tls-server-end-point` channel-binding data of RFC 5929 §4: the hash of the server's
 * certificate (DER), with the hash function of the certificate's signature algorithm, where
 * MD5 and SHA-1 become SHA-256. Supports RSA (PKCS #1 v1.5 and PSS), ECDSA and DSA signatures
 * with MD5, SHA-1 and SHA-2.
 *
 * @param certificate The server certificate: DER bytes (Node's `getPeerCertificate().raw`,
 * Deno's `peerCertificate`-style raw bytes) or PEM text.
 * @returns The hash (28 to 64 bytes).
 * @throws {SaslError} `invalid-argument` when the input is not an X.509 certificate, or its
 * signature algorithm has no single hash function (Ed25519, Ed448), for which RFC 5929 leaves
 * the binding undefined.
 *
 * @example An ECDSA P-256 certificate signed with SHA-256
 * ```ts
 * import { tlsServerEndPoint } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const pem = `-----BEGIN CERTIFICATE-----
 * MIIBEzCBuwIUPaf50jSGGQ9IKPnYiA/BRRtvjrIwCgYIKoZIzj0EAwIwDDEKMAgG
 * A1UEAwwBYTAgFw0yNjEyMDEyMDE0MTVaGA8yMTI2MTEwNzIwMTQxNVowDDEKMAgG
 * A1UEAwwBYTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABOHwpG4+2clUMlWYge/n
 * 0VnL5oS3A7N3WhX1sqbqrNvBnnwn+tYwWJIwdGhOrcDgkR4BpsNt5Wrl2RsLrXfS
 * 1PIwCgYIKoZIzj0EAwIDRwAwRAIgKSMhb2Aj6BY5WQThyCDLJiSM2GNfv7vG5U1W
 * VrzIjiUCIEWEJsXhRmPQLE3miQa9DQab+kTwBlmokMVlh51yKNxA
 * -----END CERTIFICATE-----`;
 * const data = tlsServerEndPoint(pem); // what `openssl x509 -fingerprint -sha256` shows
 * assert.equal(
 *   Array.from(data, (b) => b.toString(16).padStart(2, "0")).join(""),
 *   "e6e9e1978389b08f5923658e260577a6ea6e2409ea2fad7483d1ada33109b164",
 * );
 * ```
 */
export function tlsServerEndPoint(certificate: Uint8Array | string): Uint8Array {
  const der = typeof certificate === "string" ? pemToDer(certificate) : certificate;
  if (!(der instanceof Uint8Array)) {
    throw new SaslError("invalid-argument", "the certificate must be DER bytes or PEM text");
  }
  const hash = signatureHash(der);
  return certificateHash(hash, der);
}

function notCertificate(why: string): SaslError {
  return new SaslError("invalid-argument", `not an X.509 certificate: ${why}`);
}

function pemToDer(pem: string): Uint8Array {
  const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(
    pem,
  );
  if (match === null) throw notCertificate("no PEM CERTIFICATE block");
  try {
    return decodeBase64(match[1].replace(/\s+/g, ""));
  } catch {
    throw notCertificate("the PEM block is not base64");
  }
}

interface Tlv {
  readonly tag: number;
  readonly start: number; // first content octet
  readonly end: number; // one past the last content octet
}

function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw notCertificate("truncated DER");
  const tag = der[offset];
  let length = der[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > limit) throw notCertificate("bad DER length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i];
    start += count;
  }
  const end = start + length;
  if (end > limit) throw notCertificate("truncated DER");
  return { tag, start, end };
}

function readOid(der: Uint8Array, tlv: Tlv): string {
  if (tlv.tag !== 0x06 || tlv.end === tlv.start) throw notCertificate("expected an OID");
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    value = value * 128 + (der[i] & 0x7f);
    if (!(der[i] & 0x80)) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

function signatureHash(der: Uint8Array): CertificateHashName {
  const SEQUENCE = 0x30;
  const certificate = readTlv(der, 0, der.length);
  if (certificate.tag !== SEQUENCE || certificate.end !== der.length) {
    throw notCertificate("expected one DER SEQUENCE");
  }
  const tbs = readTlv(der, certificate.start, certificate.end);
  if (tbs.tag !== SEQUENCE) throw notCertificate("expected tbsCertificate");
  const algorithm = readTlv(der, tbs.end, certificate.end);
  if (algorithm.tag !== SEQUENCE) throw notCertificate("expected signatureAlgorithm");
  const oidTlv = readTlv(der, algorithm.start, algorithm.end);
  const oid = readOid(der, oidTlv);
  if (Object.hasOwn(SIGNATURE_HASHES, oid)) return SIGNATURE_HASHES[oid];
  if (oid === RSASSA_PSS) return pssHash(der, oidTlv.end, algorithm.end);
  throw new SaslError(
    "invalid-argument",
    `tls-server-end-point is undefined for the certificate's signature algorithm ${oid}`,
  );
}

// RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, ... }
function pssHash(der: Uint8Array, offset: number, limit: number): CertificateHashName {
  if (offset >= limit) return "SHA-256"; // absent parameters: every default, sha1
  const params = readTlv(der, offset, limit);
  if (params.tag !== 0x30) throw notCertificate("bad RSASSA-PSS parameters");
  if (params.start === params.end) return "SHA-256";
  const first = readTlv(der, params.start, params.end);
  if (first.tag !== 0xa0) return "SHA-256"; // hashAlgorithm omitted: sha1
  const identifier = readTlv(der, first.start, first.end);
  if (identifier.tag !== 0x30) throw notCertificate("bad RSASSA-PSS hashAlgorithm");
  const oid = readOid(der, readTlv(der, identifier.start, identifier.end));
  if (Object.hasOwn(HASH_OIDS, oid)) return HASH_OIDS[oid];
  throw new SaslError("invalid-argument", `unsupported RSASSA-PSS hash ${oid}`);
}
