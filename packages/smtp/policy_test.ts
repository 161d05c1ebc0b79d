import assert from "node:assert/strict";
import { defaultRegistry, MechanismRegistry } from "@saslkit/sasl";
import { authenticate, type AuthenticateOptions, SmtpAuthError } from "./policy.ts";
import { InMemoryMechanismMemory } from "./memory.ts";
import type { TranscriptEntry } from "./transcript.ts";
import { startTestServer, type TestServer, type TestServerOptions } from "./test_server.ts";
import { makeTestCertificates } from "./testdata/tls.ts";

const PASSWORD = "s3cret-Pässword";

async function withServer(
  options: TestServerOptions,
  run: (server: TestServer, base: AuthenticateOptions) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({ users: { smtpuser: PASSWORD }, ...options });
  try {
    await run(server, {
      host: "mail.example.com",
      port: server.port,
      connect: undefined,
      credentials: { username: "smtpuser", password: PASSWORD },
      security: "none",
      ehloName: "client.example.com",
      timeoutMs: 5000,
    });
  } finally {
    await server.close();
  }
}

// The server listens on 127.0.0.1 while DIGEST-MD5 names mail.example.com in digest-uri.
import { connectTcp } from "./transport.ts";
const via = (server: TestServer) => () => connectTcp({ host: server.hostname, port: server.port });

const results = (attempts: readonly { mechanism: string; result: string }[]) =>
  attempts.map((a) => `${a.mechanism}:${a.result}`);
const skips = (skipped: readonly { name: string; reason: string }[]) =>
  skipped.map((s) => `${s.name}:${s.reason}`);

Deno.test("the motivating server: DIGEST-MD5 with qop=auth, mail accepted", async () => {
  await withServer({}, async (server, base) => {
    const { session, mechanism, outcome, attempts } = await authenticate({
      ...base,
      connect: via(server),
    });
    assert.equal(mechanism, "DIGEST-MD5");
    assert.equal(outcome.qop, "auth");
    assert.deepEqual(results(attempts), ["DIGEST-MD5:authenticated"]);
    await session.sendMail({
      from: "a@example.com",
      to: ["b@example.com"],
      data: "Subject: t\n\nhi\n",
    });
    await session.quit();
    assert.equal(server.messages.length, 1);
    assert.equal(server.messages[0].mechanism, "DIGEST-MD5");
  });
});

for (const qop of ["auth-int", "auth-conf"] as const) {
  Deno.test(`opting in to ${qop}: the layer is applied to every later command`, async () => {
    await withServer({}, async (server, base) => {
      const { session, outcome } = await authenticate({
        ...base,
        connect: via(server),
        digestMd5: { qop: [qop, "auth"] },
      });
      assert.equal(outcome.qop, qop);
      assert.ok(session.securityLayer);
      await session.sendMail({
        from: "a@example.com",
        to: ["b@example.com"],
        data: "Subject: layered\r\n\r\n.leading dot\r\nbody\r\n",
      });
      await session.quit();
      assert.equal(server.messages[0].qop, qop);
      assert.match(server.messages[0].data, /^\.leading dot\r$/m);
      assert.ok(server.transcript.some((l) => l.layered && l.line.startsWith("MAIL FROM")));
    });
  });
}

Deno.test("a server that drops the connection after 235: caught by NOOP, next mechanism", async () => {
  await withServer({ behaviour: { dropAfterAuth: ["DIGEST-MD5"] } }, async (server, base) => {
    const { session, mechanism, attempts } = await authenticate({ ...base, connect: via(server) });
    assert.equal(mechanism, "CRAM-MD5");
    assert.deepEqual(results(attempts), [
      "DIGEST-MD5:dropped-after-auth",
      "CRAM-MD5:authenticated",
    ]);
    assert.equal(server.connections, 2);
    await session.sendMail({ from: "a@example.com", to: ["b@example.com"], data: "x" });
    await session.quit();
    assert.equal(server.messages[0].mechanism, "CRAM-MD5");
  });
});

Deno.test("a mechanism advertised but refused (504) or too weak (534): next", async () => {
  await withServer(
    { behaviour: { rejectAdvertised: ["DIGEST-MD5"], tooWeak: ["CRAM-MD5"] } },
    async (server, base) => {
      const error = await authenticate({ ...base, connect: via(server) }).catch((e) => e);
      assert.ok(error instanceof SmtpAuthError);
      assert.deepEqual(results(error.attempts), [
        "DIGEST-MD5:unsupported",
        "CRAM-MD5:unsupported",
      ]);
      const refused = error.skipped.filter((s) => s.reason === "needs-tls");
      assert.deepEqual(skips(refused), ["PLAIN:needs-tls", "LOGIN:needs-tls"]);
      assert.equal(error.attempts[0].reply?.code, 504);
      assert.equal(error.attempts[1].reply?.enhancedCode, "5.7.9");
    },
  );
});

Deno.test("a temporary failure (454) is retried, within bounds", async () => {
  await withServer({ behaviour: { tempFail: { "DIGEST-MD5": 1 } } }, async (server, base) => {
    const { mechanism, attempts, session } = await authenticate({ ...base, connect: via(server) });
    assert.equal(mechanism, "DIGEST-MD5");
    assert.deepEqual(results(attempts), ["DIGEST-MD5:temporary", "DIGEST-MD5:authenticated"]);
    session.close();
  });
  await withServer({ behaviour: { tempFail: { "DIGEST-MD5": 9 } } }, async (server, base) => {
    const { mechanism, attempts, session } = await authenticate({ ...base, connect: via(server) });
    assert.equal(mechanism, "CRAM-MD5");
    assert.deepEqual(results(attempts), [
      "DIGEST-MD5:temporary",
      "DIGEST-MD5:temporary",
      "CRAM-MD5:authenticated",
    ]);
    session.close();
  });
});

Deno.test("a lying server (wrong rspauth): cancelled with *, next mechanism", async () => {
  await withServer({ behaviour: { wrongRspauth: true } }, async (server, base) => {
    const lines: TranscriptEntry[] = [];
    const { mechanism, attempts, session } = await authenticate({
      ...base,
      connect: via(server),
      transcript: (e) => lines.push(e),
    });
    assert.equal(mechanism, "CRAM-MD5");
    assert.equal(attempts[0].result, "client-error");
    assert.match(attempts[0].detail!, /server-verification-failed/);
    assert.ok(lines.some((l) => l.direction === "C" && l.text === "*"));
    session.close();
  });
});

Deno.test("a connection lost during AUTH: reconnect, next mechanism", async () => {
  await withServer({ behaviour: { dropDuringAuth: ["DIGEST-MD5"] } }, async (server, base) => {
    const { mechanism, attempts, session } = await authenticate({ ...base, connect: via(server) });
    assert.equal(mechanism, "CRAM-MD5");
    assert.equal(attempts[0].result, "connection-lost");
    assert.equal(server.connections, 2);
    session.close();
  });
});

Deno.test("a server that agrees on a layer but ignores it: caught, next mechanism", async () => {
  await withServer({ behaviour: { ignoreLayer: true } }, async (server, base) => {
    const { mechanism, attempts, session } = await authenticate({
      ...base,
      connect: via(server),
      digestMd5: { qop: ["auth-conf", "auth-int", "auth"] },
      // The server waits for a line that a wrapped NOOP never completes: a timeout.
      timeoutMs: 500,
    });
    assert.equal(mechanism, "CRAM-MD5");
    assert.equal(attempts[0].result, "dropped-after-auth");
    assert.equal(attempts[0].qop, "auth-conf");
    session.close();
  });
});

Deno.test("wrong password: each remaining mechanism once, stop early when all say so", async () => {
  await withServer({}, async (server, base) => {
    const error = await authenticate({
      ...base,
      connect: via(server),
      credentials: { username: "smtpuser", password: "wrong" },
      allowCleartext: true,
    }).catch((e) => e);
    assert.ok(error instanceof SmtpAuthError);
    assert.equal(error.code, "auth-rejected");
    assert.deepEqual(results(error.attempts), [
      "DIGEST-MD5:bad-credentials",
      "CRAM-MD5:bad-credentials",
    ]);
    assert.equal(error.reply?.code, 535);
    assert.ok(!error.message.includes("wrong"));
  });
  await withServer({}, async (server, base) => {
    const error = await authenticate({
      ...base,
      connect: via(server),
      credentials: { username: "smtpuser", password: "wrong" },
      badCredentials: "stop",
    }).catch((e) => e);
    assert.deepEqual(results(error.attempts), ["DIGEST-MD5:bad-credentials"]);
  });
});

Deno.test("never PLAIN or LOGIN on an unencrypted connection unless allowed", async () => {
  await withServer({ mechanisms: ["PLAIN", "LOGIN"] }, async (server, base) => {
    const error = await authenticate({ ...base, connect: via(server) }).catch((e) => e);
    assert.ok(error instanceof SmtpAuthError);
    assert.equal(error.code, "cleartext-refused");
    assert.ok(!server.transcript.some((l) => l.line.startsWith("AUTH")));
    const { mechanism, session } = await authenticate({
      ...base,
      connect: via(server),
      allowCleartext: true,
    });
    assert.equal(mechanism, "PLAIN");
    session.close();
  });
});

Deno.test("memory: the next connection goes straight to what worked", async () => {
  await withServer({ behaviour: { dropAfterAuth: ["DIGEST-MD5"] } }, async (server, base) => {
    const memory = new InMemoryMechanismMemory();
    let result = await authenticate({ ...base, connect: via(server), memory });
    result.session.close();
    const before = server.connections;
    result = await authenticate({ ...base, connect: via(server), memory });
    assert.deepEqual(results(result.attempts), ["CRAM-MD5:authenticated"]);
    assert.equal(server.connections, before + 1);
    const record = memory.get(`mail.example.com:${server.port}`)!;
    assert.equal(record.worked, "CRAM-MD5");
    assert.equal(record.failed["DIGEST-MD5"], "dropped-after-auth");
    result.session.close();
  });
});

Deno.test("the caller's order is kept; unknown names are reported, not fatal", async () => {
  await withServer(
    { mechanisms: ["CRAM-MD5", "DIGEST-MD5", "X-UNKNOWN"] },
    async (server, base) => {
      const { mechanism, attempts, skipped, session } = await authenticate({
        ...base,
        connect: via(server),
        mechanisms: ["X-UNKNOWN", "PLAIN", "CRAM-MD5", "DIGEST-MD5"],
      });
      assert.equal(mechanism, "CRAM-MD5");
      assert.deepEqual(results(attempts), ["CRAM-MD5:authenticated"]);
      assert.deepEqual(skips(skipped), ["X-UNKNOWN:unknown", "PLAIN:not-offered"]);
      session.close();
    },
  );
});

Deno.test("no transcript line, error or attempt ever holds the password", async () => {
  await withServer(
    { behaviour: { dropAfterAuth: ["DIGEST-MD5", "CRAM-MD5"] } },
    async (server, base) => {
      const lines: TranscriptEntry[] = [];
      const result = await authenticate({
        ...base,
        connect: via(server),
        allowCleartext: true,
        transcript: (e) => lines.push(e),
      });
      assert.equal(result.mechanism, "PLAIN");
      result.session.close();
      const everything = JSON.stringify({
        lines,
        attempts: result.attempts,
        server: server.transcript,
      });
      assert.ok(!everything.includes(PASSWORD));
      assert.ok(!everything.includes(btoa("\0smtpuser\0")));
      assert.ok(lines.some((l) => l.text === "AUTH PLAIN \\x00smtpuser\\x00***"));
    },
  );
});

Deno.test("a reconnect that loses TLS is checked again: no PLAIN on the new, plain connection", async () => {
  const { ca, key, cert } = makeTestCertificates();
  const secure = await startTestServer({
    users: { smtpuser: PASSWORD },
    tls: { key, cert },
    behaviour: { dropAfterAuth: ["DIGEST-MD5"] },
  });
  const plain = await startTestServer({ users: { smtpuser: PASSWORD } });
  try {
    let connections = 0;
    const error = await authenticate({
      host: "mail.example.com",
      // The first connection offers STARTTLS; the reconnect lands on a server without it, as
      // when an attacker strips STARTTLS from the second connection.
      connect: () =>
        connections++ === 0
          ? connectTcp({ host: secure.hostname, port: secure.port, ca })
          : connectTcp({ host: plain.hostname, port: plain.port }),
      credentials: { username: "smtpuser", password: PASSWORD },
      mechanisms: ["DIGEST-MD5", "PLAIN"],
      timeoutMs: 5000,
    }).catch((e) => e);
    assert.ok(error instanceof SmtpAuthError, String(error));
    assert.deepEqual(results(error.attempts), ["DIGEST-MD5:dropped-after-auth"]);
    assert.deepEqual(skips(error.skipped), ["PLAIN:needs-tls"]);
    assert.ok(secure.messages.length === 0 && secure.transcript.some((l) => l.line === "STARTTLS"));
    assert.ok(!plain.transcript.some((l) => l.line.startsWith("AUTH")));
  } finally {
    await secure.close();
    await plain.close();
  }
});

Deno.test("a mechanism whose client cannot be built is a failed attempt, and the next one works", async () => {
  // 2,000 characters are too long for PLAIN's 255-octet fields, not for DIGEST-MD5.
  const username = "u".repeat(2000);
  await withServer({ users: { [username]: PASSWORD } }, async (server, base) => {
    const { mechanism, attempts, session } = await authenticate({
      ...base,
      connect: via(server),
      credentials: { username, password: PASSWORD },
      mechanisms: ["PLAIN", "DIGEST-MD5"],
      allowCleartext: true,
    });
    assert.equal(mechanism, "DIGEST-MD5");
    assert.deepEqual(results(attempts), ["PLAIN:client-error", "DIGEST-MD5:authenticated"]);
    assert.match(attempts[0].detail!, /255 octets/);
    assert.ok(!server.transcript.some((l) => l.line.startsWith("AUTH PLAIN")));
    await session.quit();
  });
});

Deno.test("options from plain JavaScript: typed errors, never a crash or a silent default", async () => {
  const base = {
    host: "mail.example.com",
    credentials: { username: "smtpuser", password: PASSWORD },
    connect: () => Promise.reject(new Error("must not connect")),
  };
  const wrong: Record<string, unknown>[] = [
    { ...base, mechanisms: "PLAIN" },
    { ...base, mechanisms: ["PLAIN", 5] },
    { ...base, credentials: { username: "smtpuser" } },
    { ...base, credentials: "smtpuser:" + PASSWORD },
    { ...base, host: "" },
    { ...base, security: "ssl" },
    { ...base, qop: "auth-conf" },
  ];
  for (const options of wrong) {
    const error = await authenticate(options as unknown as AuthenticateOptions).catch((e) => e);
    assert.equal(error?.name, "SmtpError", JSON.stringify(options));
    assert.equal(error.code, "invalid-argument");
    assert.ok(!String(error.message).includes(PASSWORD));
  }
});

Deno.test("minQop: mechanisms without a layer are not tried; DIGEST-MD5 gets a layer", async () => {
  await withServer({}, async (server, base) => {
    const { session, mechanism, outcome, attempts } = await authenticate({
      ...base,
      connect: via(server),
      mechanisms: ["CRAM-MD5", "DIGEST-MD5"],
      minQop: "auth-int",
    });
    assert.equal(mechanism, "DIGEST-MD5");
    assert.notEqual(outcome.qop, "auth");
    assert.deepEqual(results(attempts), [
      "CRAM-MD5:insufficient-protection",
      "DIGEST-MD5:authenticated",
    ]);
    assert.match(attempts[0].detail!, /CRAM-MD5 has no security layer, and minQop is auth-int/);
    // CRAM-MD5 was refused without a connection, let alone a password.
    assert.equal(server.connections, 1);
    await session.sendMail({ from: "a@example.com", to: "b@example.com", data: "x\r\n" });
    await session.quit();
    assert.equal(server.messages[0].qop, outcome.qop);
  });
});

Deno.test("minQop against a server without layers: insufficient-protection, clearly", async () => {
  await withServer({ digestQop: ["auth"] }, async (server, base) => {
    await assert.rejects(
      authenticate({ ...base, connect: via(server), minQop: "auth-conf" }),
      (error: SmtpAuthError) => {
        assert.ok(error instanceof SmtpAuthError);
        assert.equal(error.code, "insufficient-protection");
        assert.match(
          error.message,
          /no mechanism gave the protection asked for \(minQop auth-conf\)/,
        );
        assert.match(error.message, /the server offers qop auth/);
        assert.ok(error.attempts.every((a) => a.result === "insufficient-protection"));
        return true;
      },
    );
    assert.equal(server.messages.length, 0);
  });
});

Deno.test("minQop: an exchange that ends below it is a failed attempt, its connection closed", async () => {
  // A mechanism that claims a layer but ends with qop=auth (CRAM-MD5 in disguise).
  const cram = defaultRegistry.get("CRAM-MD5")!;
  const liar = { ...cram, properties: { ...cram.properties, offersSecurityLayer: true } };
  const registry = new MechanismRegistry([liar, defaultRegistry.get("DIGEST-MD5")!]);
  await withServer({}, async (server, base) => {
    const { mechanism, attempts, session } = await authenticate({
      ...base,
      connect: via(server),
      registry,
      mechanisms: ["CRAM-MD5", "DIGEST-MD5"],
      minQop: "auth-int",
    });
    assert.equal(mechanism, "DIGEST-MD5");
    assert.deepEqual(results(attempts), [
      "CRAM-MD5:insufficient-protection",
      "DIGEST-MD5:authenticated",
    ]);
    assert.match(attempts[0].detail!, /CRAM-MD5 ended with qop=auth, below minQop auth-int/);
    assert.equal(attempts[0].qop, "auth");
    // The authenticated but unprotected connection was closed; DIGEST-MD5 had a new one.
    assert.equal(server.connections, 2);
    await session.quit();
  });
  await assert.rejects(
    authenticate({
      host: "h",
      credentials: { username: "u", password: "p" },
      minQop: "strong" as unknown as "auth",
    }),
    (e: SmtpAuthError) => e.code === "invalid-argument" && /minQop must be/.test(e.message),
  );
  await assert.rejects(
    authenticate({
      host: "h",
      credentials: { username: "u", password: "p" },
      minQop: "auth-conf",
      digestMd5: { qop: ["auth", "auth-int"] },
    }),
    (e: SmtpAuthError) => e.code === "invalid-argument" && /as strong as minQop/.test(e.message),
  );
});
