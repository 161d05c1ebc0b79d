// Runs against the installed @saslkit/smtp tarball; see README.md.
import assert from "node:assert/strict";

export default async function smoke(smtp) {
  // The parsers live behind the low-level subpath; the root keeps what applications call.
  assert.equal(smtp.parseEhloAuth, undefined);
  const lowLevel = await import("@saslkit/smtp/low-level");
  assert.deepEqual(
    lowLevel.parseEhloAuth([
      "250-mail.example.com Hello",
      "250-AUTH digest-md5 CRAM-MD5",
      "250-AUTH=LOGIN PLAIN CRAM-MD5",
      "250 8BITMIME",
    ]),
    ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"],
  );
  assert.deepEqual(lowLevel.parseEhloAuth(["250 STARTTLS"]), []);

  // The whole job in plain Node, from the tarballs: the embedded Sendmail-like server, a
  // DIGEST-MD5 confidentiality layer on the wire, and the fallback after a drop behind 235.
  const { startTestServer } = await import("@saslkit/smtp/test-server");
  const server = await startTestServer({ behaviour: { dropAfterAuth: ["CRAM-MD5"] } });
  try {
    const base = {
      host: "mail.example.com",
      connect: () => smtp.connectTcp({ host: server.hostname, port: server.port }),
      security: "none",
      credentials: { username: "smtpuser", password: "secret" },
      timeoutMs: 5000,
    };
    let result = await smtp.authenticate({
      ...base,
      digestMd5: { qop: ["auth-conf", "auth-int", "auth"], ciphers: ["3des"] },
    });
    assert.equal(result.mechanism, "DIGEST-MD5");
    assert.equal(result.outcome.cipher, "3des");
    await result.session.sendMail({ from: "a@example.com", to: ["b@example.com"], data: "hi\r\n" });
    await result.session.quit();
    assert.equal(server.messages.at(-1).qop, "auth-conf");

    result = await smtp.authenticate({ ...base, mechanisms: ["CRAM-MD5", "DIGEST-MD5"] });
    assert.deepEqual(
      result.attempts.map((a) => `${a.mechanism}:${a.result}`),
      ["CRAM-MD5:dropped-after-auth", "DIGEST-MD5:authenticated"],
    );
    // sendMail from untyped code: a string recipient is one recipient, and the queue id is read.
    const sent = await result.session.sendMail({
      from: '"A" <a@example.com>',
      to: "b@example.com",
      subject: "smoke",
      text: "hi\n",
    });
    assert.deepEqual(sent.accepted, ["b@example.com"]);
    assert.match(sent.queueId, /^5AQK\d{8}$/);
    await result.session.quit();

    // Node's OpenSSL words for a plaintext answer to implicit TLS become a code with advice.
    await assert.rejects(
      smtp.connectTcp({ host: server.hostname, port: server.port, security: "tls" }),
      (error) => error.code === "plaintext-server" && /answered in plaintext/.test(error.message),
    );
  } finally {
    await server.close();
  }
}
