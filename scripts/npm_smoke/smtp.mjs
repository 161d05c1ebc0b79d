// Runs against the installed @saslkit/smtp tarball; see README.md.
import assert from "node:assert/strict";

export default function smoke(smtp) {
  assert.deepEqual(
    smtp.parseEhloAuth([
      "250-mail.example.com Hello",
      "250-AUTH digest-md5 CRAM-MD5",
      "250-AUTH=LOGIN PLAIN CRAM-MD5",
      "250 8BITMIME",
    ]),
    ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"],
  );
  assert.deepEqual(smtp.parseEhloAuth(["250 STARTTLS"]), []);
}
