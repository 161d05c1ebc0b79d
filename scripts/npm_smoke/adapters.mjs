// Runs against the installed @saslkit/adapters tarball (its ./nodemailer export) and nodemailer
// from the registry, as a user installs them; see README.md.
import assert from "node:assert/strict";

export default async function smoke(adapters) {
  const { default: nodemailer } = await import("nodemailer");
  const { startTestServer } = await import("@saslkit/smtp/test-server");
  assert.throws(() => adapters.nodemailerAuth({ user: "u" }), { code: "invalid-argument" });

  // The embedded Sendmail-like server: it refuses DIGEST-MD5 although it offers it, and drops
  // the connection after 235 for CRAM-MD5; PLAIN is what really works.
  const server = await startTestServer({
    behaviour: { rejectAdvertised: ["DIGEST-MD5"], dropAfterAuth: ["CRAM-MD5"] },
  });
  try {
    const options = {
      host: server.hostname,
      port: server.port,
      name: "client.example.com",
      ignoreTLS: true,
      ...adapters.nodemailerAuth({
        user: "smtpuser",
        pass: "secret",
        host: "mail.example.com",
        allowCleartext: true, // loopback only: PLAIN without TLS
      }),
    };
    const message = { from: "a@example.com", to: "b@example.com", text: "hi" };

    // nodemailer alone: saslkit's handler moves past the refused DIGEST-MD5 by itself, and the
    // drop after CRAM-MD5's 235 fails the send, as nodemailer cannot reconnect.
    const transporter = nodemailer.createTransport(options);
    await assert.rejects(transporter.sendMail(message), { code: "ECONNECTION" });
    transporter.close();
    assert.equal(server.messages.length, 0);

    // The fallback wrapper: a new connection, PLAIN, the message exactly once.
    const result = await adapters.sendMailWithFallback(options, message);
    assert.equal(result.mechanism, "PLAIN");
    assert.equal(server.messages.length, 1);
    assert.equal(server.messages[0].mechanism, "PLAIN");
    // The same options remember the server: straight to PLAIN, one connection.
    const again = await adapters.sendMailWithFallback(options, message);
    assert.equal(again.connections, 1);
    assert.equal(server.messages.length, 2);
  } finally {
    await server.close();
  }

  // Opting in to DIGEST-MD5's confidentiality layer: applied after 235 through getSocket.
  const sendmail = await startTestServer();
  try {
    const transporter = nodemailer.createTransport({
      host: sendmail.hostname,
      port: sendmail.port,
      name: "client.example.com",
      ignoreTLS: true,
      ...adapters.nodemailerAuth({
        user: "smtpuser",
        pass: "secret",
        host: "mail.example.com",
        digestMd5: { qop: ["auth-conf"], ciphers: ["3des"] },
      }),
    });
    await transporter.sendMail({ from: "a@example.com", to: "b@example.com", text: "layered" });
    transporter.close();
    assert.equal(sendmail.messages[0].qop, "auth-conf");
    assert.match(sendmail.messages[0].data, /\r\n\r\nlayered\r\n$/);
  } finally {
    await sendmail.close();
  }

  // The other subpaths, each with its client from the registry.
  const { useSaslkit } = await import("@saslkit/adapters/xmpp");
  const { client } = await import("@xmpp/client");
  const xmpp = client({ service: "xmpp://127.0.0.1:5222", domain: "example.com" });
  const saslkit = useSaslkit(xmpp, { mechanisms: ["SCRAM-SHA-256", "PLAIN"] });
  assert.deepEqual(saslkit.names, ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"]);
  assert.deepEqual(saslkit.usable(), ["SCRAM-SHA-256"]); // no TLS yet: no -PLUS, no PLAIN
  const { saslBind } = await import("@saslkit/adapters/ldapts");
  const { Client } = await import("ldapts");
  await assert.rejects(
    saslBind(new Client({ url: "ldap://127.0.0.1:1" }), {
      mechanisms: ["PLAIN"],
      credentials: { username: "u", password: "p" },
    }),
    { code: "invalid-argument" }, // PLAIN without TLS: nothing to try, nothing sent
  );
}
