import assert from "node:assert/strict";
import { encodeBase64 } from "@saslkit/sasl";
import { authenticate, SmtpAuthError } from "./policy.ts";
import type { TranscriptEntry } from "./transcript.ts";
import { startTestServer, type TestServer, type TestServerOptions } from "./test_server.ts";
import { connectTcp, type SmtpTransport } from "./transport.ts";
import { makeTestCertificates } from "./testdata/tls.ts";

// The SCRAM family through the policy, against the embedded server: -PLUS first where TLS
// gives binding data, a stripped -PLUS caught as a downgrade, the server signature checked.

const PASSWORD = "pencil-Pässword";
const SCRAM = ["SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-512", "SCRAM-SHA-256"];
const { ca, key, cert } = makeTestCertificates();

async function withServer(
  options: TestServerOptions,
  run: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({ users: { smtpuser: PASSWORD }, ...options });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

const base = (server: TestServer) => ({
  host: "mail.example.com",
  port: server.port,
  credentials: { username: "smtpuser", password: PASSWORD },
  ehloName: "client.example.com",
  timeoutMs: 5000,
});
const plain = (server: TestServer) => () =>
  connectTcp({ host: server.hostname, port: server.port, ca });
const results = (attempts: readonly { mechanism: string; result: string }[]) =>
  attempts.map((a) => `${a.mechanism}:${a.result}`);

// What a man in the middle does to take channel binding away: strip -PLUS from EHLO.
function strippingPlus(inner: SmtpTransport): SmtpTransport {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  return {
    get secure() {
      return inner.secure;
    },
    async read() {
      const chunk = await inner.read();
      if (chunk === null) return null;
      const text = decoder.decode(chunk);
      return text.includes("-PLUS")
        ? encoder.encode(text.replace(/ SCRAM-[A-Z0-9-]+-PLUS/g, ""))
        : chunk;
    },
    write: (data) => inner.write(data),
    close: () => inner.close(),
    startTls: (name) => inner.startTls!(name),
    channelBindings: () => inner.channelBindings?.() ?? {},
  };
}

Deno.test("SCRAM-SHA-256 on a plain connection: authenticated, no proof in either transcript", async () => {
  await withServer({ mechanisms: ["SCRAM-SHA-256", "PLAIN"] }, async (server) => {
    const lines: TranscriptEntry[] = [];
    const { session, mechanism, attempts, outcome } = await authenticate({
      ...base(server),
      connect: plain(server),
      security: "none",
      transcript: (entry) => lines.push(entry),
    });
    assert.equal(mechanism, "SCRAM-SHA-256");
    assert.deepEqual(results(attempts), ["SCRAM-SHA-256:authenticated"]);
    assert.equal(outcome.authenticationId, "smtpuser");
    await session.sendMail({ from: "a@example.com", to: ["b@example.com"], data: "Hi\r\n" });
    await session.quit();
    assert.equal(server.messages.length, 1);
    const final = lines.find((l) => l.direction === "C" && l.text.startsWith("c="));
    assert.match(final!.text, /^c=biws,r=[^,]+,p=\*\*\*$/);
    const everything = JSON.stringify({ lines, server: server.transcript });
    assert.ok(!everything.includes(PASSWORD));
    assert.ok(!everything.includes(encodeBase64(new TextEncoder().encode(PASSWORD))));
  });
});

Deno.test("TLS with binding data: -PLUS goes first and binds the channel", async () => {
  await withServer({ mechanisms: SCRAM, tls: { key, cert } }, async (server) => {
    const { session, mechanism, attempts } = await authenticate({
      ...base(server),
      connect: plain(server),
      ca,
      security: "starttls",
      mechanisms: ["SCRAM-SHA-256"], // prefer: its -PLUS variant is put before it
    });
    assert.equal(mechanism, "SCRAM-SHA-256-PLUS");
    assert.deepEqual(results(attempts), ["SCRAM-SHA-256-PLUS:authenticated"]);
    const bindings = session.transport.channelBindings?.() ?? {};
    assert.ok(bindings["tls-server-end-point"]?.length === 32, "tls-server-end-point");
    await session.quit();
  });
});

Deno.test("a stripped -PLUS is a downgrade: the server refuses the y flag, the next mechanism runs", async () => {
  await withServer({ mechanisms: [...SCRAM, "PLAIN"], tls: { key, cert } }, async (server) => {
    const { session, mechanism, attempts } = await authenticate({
      ...base(server),
      connect: async () => strippingPlus(await plain(server)()),
      ca,
      security: "starttls",
    });
    assert.deepEqual(results(attempts), [
      "SCRAM-SHA-512:rejected",
      "SCRAM-SHA-256:rejected",
      "PLAIN:authenticated",
    ]);
    assert.equal(mechanism, "PLAIN");
    assert.ok(server.transcript.some((l) => l.line.startsWith("AUTH SCRAM-SHA-512 y,,")));
    assert.ok(
      server.transcript.some((l) => l.line === "334 e=server-does-support-channel-binding"),
      "the server saw the y flag",
    );
    await session.quit();
  });
});

Deno.test("channelBinding require: no SCRAM without binding data; disable: never -PLUS", async () => {
  await withServer({ mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"] }, async (server) => {
    const error = await authenticate({
      ...base(server),
      connect: plain(server),
      security: "none",
      scram: { channelBinding: "require" },
    }).catch((e) => e);
    assert.ok(error instanceof SmtpAuthError);
    assert.equal(error.code, "no-mechanism");
    assert.deepEqual(
      error.skipped.filter((s) => s.name.startsWith("SCRAM-SHA-256")).map((s) => s.reason),
      ["needs-channel-binding", "channel-binding-required"],
    );
  });
  await withServer({ mechanisms: SCRAM, tls: { key, cert } }, async (server) => {
    const { session, mechanism } = await authenticate({
      ...base(server),
      connect: plain(server),
      ca,
      security: "starttls",
      scram: { channelBinding: "disable" },
    });
    assert.equal(mechanism, "SCRAM-SHA-512");
    await session.quit();
  });
});

Deno.test("a server whose signature is wrong is never taken for authenticated", async () => {
  await withServer(
    { mechanisms: ["SCRAM-SHA-256", "CRAM-MD5"], behaviour: { wrongRspauth: true } },
    async (server) => {
      const { session, mechanism, attempts } = await authenticate({
        ...base(server),
        connect: plain(server),
        security: "none",
      });
      assert.deepEqual(results(attempts), ["SCRAM-SHA-256:client-error", "CRAM-MD5:authenticated"]);
      assert.match(attempts[0].detail!, /server-verification-failed/);
      assert.equal(mechanism, "CRAM-MD5");
      await session.quit();
    },
  );
});

Deno.test("SCRAM with a wrong password: bad credentials, and an iteration floor the server misses", async () => {
  await withServer({ mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-1"] }, async (server) => {
    const error = await authenticate({
      ...base(server),
      connect: plain(server),
      security: "none",
      credentials: { username: "smtpuser", password: "wrong" },
    }).catch((e) => e);
    assert.ok(error instanceof SmtpAuthError);
    assert.deepEqual(results(error.attempts), [
      "SCRAM-SHA-256:bad-credentials",
      "SCRAM-SHA-1:bad-credentials",
    ]);
  });
  await withServer({ mechanisms: ["SCRAM-SHA-256", "CRAM-MD5"] }, async (server) => {
    const { session, attempts } = await authenticate({
      ...base(server),
      connect: plain(server),
      security: "none",
      scram: { minIterations: 100_000, maxIterations: 200_000 },
    });
    assert.deepEqual(results(attempts), ["SCRAM-SHA-256:client-error", "CRAM-MD5:authenticated"]);
    assert.match(attempts[0].detail!, /iteration-count-rejected/);
    await session.quit();
  });
});
