import assert from "node:assert/strict";
import { authenticate, SmtpAuthError } from "./policy.ts";
import { startTestServer, type TestServer, type TestServerOptions } from "./test_server.ts";
import { connectTcp } from "./transport.ts";
import { makeTestCertificates } from "./testdata/tls.ts";

// EXTERNAL and ANONYMOUS through the policy, against the embedded server: the identity a client
// certificate established, and no credentials at all.

const { ca, key, cert, client } = makeTestCertificates();

async function withServer(
  options: TestServerOptions,
  run: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({ users: {}, requireAuth: true, ...options });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

const base = (server: TestServer) => ({
  host: "mail.example.com",
  port: server.port,
  ca,
  security: "starttls" as const,
  timeoutMs: 5000,
});

Deno.test("EXTERNAL: the client certificate's identity, over STARTTLS, sends a message", async () => {
  await withServer(
    { mechanisms: ["EXTERNAL", "PLAIN"], tls: { key, cert, clientCa: ca } },
    async (server) => {
      const { session, mechanism, outcome } = await authenticate({
        ...base(server),
        credentials: { kind: "external" },
        clientCertificate: client,
        connect: () =>
          connectTcp({ host: server.hostname, port: server.port, ca, clientCertificate: client }),
      });
      assert.equal(mechanism, "EXTERNAL");
      assert.equal(outcome.mechanism, "EXTERNAL");
      await session.sendMail({ from: "smtpuser@example.com", to: "b@example.com", data: "Hi\r\n" });
      await session.quit();
      assert.equal(server.messages.length, 1);
      assert.equal(server.messages[0].authenticatedAs, "smtpuser");
      assert.equal(server.messages[0].mechanism, "EXTERNAL");
    },
  );
});

Deno.test("EXTERNAL without a client certificate: 535, and nothing else is tried", async () => {
  await withServer(
    {
      mechanisms: ["EXTERNAL", "PLAIN"],
      users: { smtpuser: "secret" },
      tls: { key, cert, clientCa: ca },
    },
    async (server) => {
      const error = await authenticate({
        ...base(server),
        credentials: { kind: "external" },
        connect: () => connectTcp({ host: server.hostname, port: server.port, ca }),
      }).catch((e) => e);
      assert.ok(error instanceof SmtpAuthError, String(error));
      assert.deepEqual(error.attempts.map((a) => `${a.mechanism}:${a.result}`), [
        "EXTERNAL:bad-credentials",
      ]);
      // PLAIN takes a password, which external credentials are not.
      assert.ok(error.skipped.some((s) => s.name === "PLAIN" && s.reason === "no-credential"));
    },
  );
});

Deno.test("ANONYMOUS with a trace, where the server accepts it", async () => {
  await withServer({ mechanisms: ["ANONYMOUS"], anonymous: true }, async (server) => {
    const { session, mechanism } = await authenticate({
      host: "mail.example.com",
      port: server.port,
      security: "none",
      credentials: { kind: "anonymous", trace: "tester@example.com" },
      connect: () => connectTcp({ host: server.hostname, port: server.port }),
    });
    assert.equal(mechanism, "ANONYMOUS");
    await session.sendMail({ from: "a@example.com", to: ["b@example.com"], data: "Hi\r\n" });
    await session.quit();
    assert.ok(server.transcript.some((l) => l.line.includes("tester@example.com")));
    assert.equal(server.messages[0].mechanism, "ANONYMOUS");
  });
  await withServer({ mechanisms: ["ANONYMOUS"] }, async (server) => {
    const error = await authenticate({
      host: "mail.example.com",
      port: server.port,
      security: "none",
      credentials: { kind: "anonymous" },
      connect: () => connectTcp({ host: server.hostname, port: server.port }),
    }).catch((e) => e);
    assert.ok(error instanceof SmtpAuthError);
    assert.deepEqual(error.attempts.map((a) => `${a.mechanism}:${a.result}`), [
      "ANONYMOUS:unsupported",
    ]);
  });
});
