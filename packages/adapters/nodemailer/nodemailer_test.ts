// nodemailer, as installed from npm, sending through the embedded test server with saslkit's
// handler: the mechanisms nodemailer cannot see, each fallback case, the message counted at the
// server, and nodemailer's logs with every logging switch on.
import assert from "node:assert/strict";
import net from "node:net";
import nodemailer from "nodemailer";
import { decodeBase64, defaultRegistry, encodeBase64, type ServerMechanism } from "@saslkit/sasl";
import { InMemoryMechanismMemory, SmtpError } from "@saslkit/smtp";
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "@saslkit/smtp/test-server";
import {
  nodemailerAuth,
  NodemailerAuthError,
  type NodemailerAuthOptions,
  sendMailWithFallback,
} from "./mod.ts";
import { makeTestCertificates } from "../../smtp/testdata/tls.ts";

const MESSAGE = { from: "a@example.com", to: "b@example.com", subject: "hi", text: "hello" };

async function withServer(
  options: TestServerOptions,
  body: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer(options);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

function transportOptions(server: TestServer, auth: NodemailerAuthOptions, extra = {}) {
  return {
    host: server.hostname,
    port: server.port,
    name: "client.example.com",
    ignoreTLS: true,
    ...extra,
    ...nodemailerAuth({ host: "mail.example.com", ...auth }),
  };
}

const PASSWORD = { user: "smtpuser", pass: "secret" };

/** What the promise rejected with (node:assert's `rejects` resolves to nothing). */
async function rejection(
  promise: Promise<unknown>,
): Promise<NodemailerAuthError & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof NodemailerAuthError, String(error));
    return error;
  }
  throw new Error("the promise resolved");
}

Deno.test("nodemailer sends with DIGEST-MD5, which it cannot detect itself; qop stays auth", async () => {
  await withServer({}, async (server) => {
    const attempts: string[] = [];
    const transporter = nodemailer.createTransport(
      transportOptions(server, { ...PASSWORD, onAttempt: (a) => attempts.push(a.mechanism) }),
    );
    const info = await transporter.sendMail(MESSAGE);
    transporter.close();
    assert.deepEqual(info.accepted, ["b@example.com"]);
    assert.deepEqual(attempts, ["DIGEST-MD5"]);
    assert.equal(server.messages.length, 1);
    assert.equal(server.messages[0].mechanism, "DIGEST-MD5");
    assert.equal(server.messages[0].qop, "auth");
    assert.equal(server.messages[0].authenticatedAs, "smtpuser");
    assert.match(server.messages[0].data, /\r\n\r\nhello\r\n$/);
  });
});

Deno.test("a mechanism advertised but refused (504): the next one on the same connection", async () => {
  await withServer({ behaviour: { rejectAdvertised: ["DIGEST-MD5"] } }, async (server) => {
    const result = await sendMailWithFallback(transportOptions(server, PASSWORD), MESSAGE);
    assert.equal(result.mechanism, "CRAM-MD5");
    assert.equal(result.connections, 1);
    assert.deepEqual(
      result.attempts.map((a) => `${a.mechanism}:${a.result}:${a.reply?.code ?? ""}`),
      ["DIGEST-MD5:unsupported:504", "CRAM-MD5:authenticated:"],
    );
    assert.equal(server.connections, 1);
    assert.equal(server.messages.length, 1);
  });
});

Deno.test("a server that cannot prove itself (wrong rspauth): cancelled, next mechanism", async () => {
  await withServer({ behaviour: { wrongRspauth: true } }, async (server) => {
    const result = await sendMailWithFallback(transportOptions(server, PASSWORD), MESSAGE);
    assert.deepEqual(result.attempts.map((a) => `${a.mechanism}:${a.result}`), [
      "DIGEST-MD5:client-error",
      "CRAM-MD5:authenticated",
    ]);
    assert.equal(server.messages.length, 1);
    assert.ok(server.transcript.some((e) => e.direction === "C" && e.line === "*"));
  });
});

Deno.test("dropped after 235: a new connection, the next mechanism, the message once", async () => {
  await withServer({ behaviour: { dropAfterAuth: ["DIGEST-MD5"] } }, async (server) => {
    const memory = new InMemoryMechanismMemory();
    const options = transportOptions(server, { ...PASSWORD, memory });
    const first = await sendMailWithFallback(options, MESSAGE);
    assert.equal(first.mechanism, "CRAM-MD5");
    assert.equal(first.connections, 2);
    assert.deepEqual(first.attempts.map((a) => `${a.mechanism}:${a.result}`), [
      "DIGEST-MD5:dropped-after-auth",
      "CRAM-MD5:authenticated",
    ]);
    assert.equal(server.messages.length, 1);
    assert.equal(server.messages[0].connection, 2);
    const key = `mail.example.com:${server.port}`;
    assert.equal(memory.get(key)?.worked, "CRAM-MD5");
    assert.equal(memory.get(key)?.failed["DIGEST-MD5"], "dropped-after-auth");

    // Remembered: the next message goes straight to CRAM-MD5, on one connection.
    const second = await sendMailWithFallback(options, MESSAGE);
    assert.equal(second.connections, 1);
    assert.deepEqual(second.attempts.map((a) => a.mechanism), ["CRAM-MD5"]);
    assert.equal(server.messages.length, 2);
    assert.equal(server.connections, 3);
  });
});

Deno.test("the connection lost during AUTH: a new connection, the next mechanism", async () => {
  await withServer({ behaviour: { dropDuringAuth: ["DIGEST-MD5"] } }, async (server) => {
    const result = await sendMailWithFallback(transportOptions(server, PASSWORD), MESSAGE);
    assert.deepEqual(result.attempts.map((a) => `${a.mechanism}:${a.result}`), [
      "DIGEST-MD5:connection-lost",
      "CRAM-MD5:authenticated",
    ]);
    assert.equal(result.connections, 2);
    assert.equal(server.messages.length, 1);
  });
});

Deno.test("a temporary failure (454) is retried on the same connection", async () => {
  await withServer({ behaviour: { tempFail: { "DIGEST-MD5": 1 } } }, async (server) => {
    const result = await sendMailWithFallback(transportOptions(server, PASSWORD), MESSAGE);
    assert.deepEqual(result.attempts.map((a) => `${a.mechanism}:${a.result}`), [
      "DIGEST-MD5:temporary",
      "DIGEST-MD5:authenticated",
    ]);
    assert.equal(result.connections, 1);
    assert.equal(server.messages.length, 1);
  });
});

Deno.test("every mechanism drops after 235: a typed error, nothing sent, bounded", async () => {
  await withServer(
    {
      mechanisms: ["DIGEST-MD5", "CRAM-MD5"],
      behaviour: { dropAfterAuth: ["DIGEST-MD5", "CRAM-MD5"] },
    },
    async (server) => {
      const error = await rejection(
        sendMailWithFallback(transportOptions(server, PASSWORD), MESSAGE),
      );
      assert.equal(error.saslkitCode, "auth-rejected");
      assert.deepEqual(error.attempts.map((a) => `${a.mechanism}:${a.result}`), [
        "DIGEST-MD5:dropped-after-auth",
        "CRAM-MD5:dropped-after-auth",
      ]);
      assert.equal(server.connections, 2);
      assert.equal(server.messages.length, 0);
    },
  );
});

Deno.test("nodemailer alone after a drop: the send fails, the handler records it", async () => {
  await withServer({ behaviour: { dropAfterAuth: ["DIGEST-MD5"] } }, async (server) => {
    const memory = new InMemoryMechanismMemory();
    const recorded = Promise.withResolvers<string>();
    const transporter = nodemailer.createTransport(transportOptions(server, {
      ...PASSWORD,
      memory,
      timeoutMs: 300,
      onAttempt: (a) => recorded.resolve(`${a.mechanism}:${a.result}`),
    }));
    await assert.rejects(transporter.sendMail(MESSAGE), { code: "ECONNECTION" });
    transporter.close();
    assert.equal(await recorded.promise, "DIGEST-MD5:dropped-after-auth");
    assert.equal(server.messages.length, 0);
  });
});

Deno.test("nodemailer alone after a drop: the process ends at once, not after the reply timeout", async () => {
  const started = Date.now();
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../testdata/nodemailer_bare_drop.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.equal(new TextDecoder().decode(stdout).trim(), "failed: ECONNECTION");
  assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
});

Deno.test("wrong credentials: EAUTH with saslkit's code, stops early, never a second connection", async () => {
  await withServer({}, async (server) => {
    const options = transportOptions(server, { user: "smtpuser", pass: "wrong" });
    const error = await rejection(sendMailWithFallback(options, MESSAGE));
    assert.equal(error.saslkitCode, "auth-rejected");
    assert.deepEqual(error.attempts.map((a) => `${a.mechanism}:${a.result}`), [
      "DIGEST-MD5:bad-credentials",
      "CRAM-MD5:bad-credentials",
    ]);
    assert.ok(!error.message.includes("wrong"));
    assert.equal(server.connections, 1);
    assert.equal(server.messages.length, 0);

    // Plain nodemailer reports it as its own EAUTH.
    const transporter = nodemailer.createTransport(options);
    const plain = await rejection(transporter.sendMail(MESSAGE));
    transporter.close();
    assert.equal(plain.code, "EAUTH");
    assert.equal(plain.saslkitCode, "auth-rejected");
  });
});

Deno.test("nodemailer's pool: every pooled connection authenticates through saslkit", async () => {
  await withServer({ behaviour: { rejectAdvertised: ["DIGEST-MD5"] } }, async (server) => {
    const transporter = nodemailer.createTransport({
      ...transportOptions(server, PASSWORD),
      pool: true,
      maxConnections: 2,
    });
    await Promise.all([1, 2, 3].map((n) => transporter.sendMail({ ...MESSAGE, text: `m${n}` })));
    transporter.close();
    assert.equal(server.messages.length, 3);
    assert.ok(server.messages.every((m) => m.mechanism === "CRAM-MD5"));
  });
});

Deno.test("a message's own auth overrides user and pass", async () => {
  await withServer({ users: { smtpuser: "secret", other: "pw2" } }, async (server) => {
    const transporter = nodemailer.createTransport(transportOptions(server, PASSWORD));
    await transporter.sendMail({ ...MESSAGE, auth: { user: "other", pass: "pw2" } });
    transporter.close();
    assert.equal(server.messages[0].authenticatedAs, "other");
  });
});

Deno.test("never PLAIN or LOGIN on an unencrypted connection unless the caller says so", async () => {
  await withServer({ mechanisms: ["LOGIN", "PLAIN"] }, async (server) => {
    const refused = await rejection(
      sendMailWithFallback(transportOptions(server, PASSWORD), MESSAGE),
    );
    assert.equal(refused.saslkitCode, "cleartext-refused");
    assert.deepEqual(refused.skipped.filter((s) => s.reason === "needs-tls").map((s) => s.name), [
      "PLAIN",
      "LOGIN",
    ]);
    assert.equal(server.messages.length, 0);

    const sent = await sendMailWithFallback(
      transportOptions(server, { ...PASSWORD, allowCleartext: true }),
      MESSAGE,
    );
    assert.equal(sent.mechanism, "PLAIN");
    assert.equal(server.messages.length, 1);
  });
});

Deno.test("the caller's order, and names nodemailer never detects", async () => {
  await withServer({ mechanisms: ["DIGEST-MD5", "CRAM-MD5", "X-UNKNOWN"] }, async (server) => {
    const result = await sendMailWithFallback(
      transportOptions(server, {
        ...PASSWORD,
        mechanisms: ["x-unknown", "cram-md5", "digest-md5"],
      }),
      MESSAGE,
    );
    assert.equal(result.mechanism, "CRAM-MD5");
    assert.equal(server.messages[0].mechanism, "CRAM-MD5");
  });
});

for (const qop of ["auth-conf", "auth-int"] as const) {
  Deno.test(`opting in to ${qop}: the layer is applied to every byte after 235`, async () => {
    await withServer({}, async (server) => {
      const options = transportOptions(server, { ...PASSWORD, digestMd5: { qop: [qop, "auth"] } });
      assert.equal(typeof options.getSocket, "function");
      const transporter = nodemailer.createTransport(options);
      await transporter.sendMail(MESSAGE);
      await transporter.sendMail({ ...MESSAGE, text: "second" }); // a new connection, again
      transporter.close();
      assert.equal(server.messages.length, 2);
      for (const message of server.messages) {
        assert.equal(message.mechanism, "DIGEST-MD5");
        assert.equal(message.qop, qop);
      }
      assert.match(server.messages[1].data, /\r\n\r\nsecond\r\n$/);
      // Everything after 235 crossed the wire inside the layer, as the server saw it.
      const after = server.transcript.filter((e) => e.connection === 1 && e.direction === "C")
        .slice(-5);
      assert.ok(after.every((e) => e.layered), JSON.stringify(after));
    });
  });
}

Deno.test("a server that agrees on a layer but ignores it: caught at NOOP, next mechanism", async () => {
  await withServer({ behaviour: { ignoreLayer: true } }, async (server) => {
    const result = await sendMailWithFallback(
      transportOptions(server, {
        ...PASSWORD,
        digestMd5: { qop: ["auth-conf", "auth"] },
        timeoutMs: 500,
      }),
      MESSAGE,
    );
    assert.equal(result.mechanism, "CRAM-MD5");
    assert.deepEqual(result.attempts.map((a) => `${a.mechanism}:${a.result}`), [
      "DIGEST-MD5:authenticated",
      "DIGEST-MD5:dropped-after-auth",
      "CRAM-MD5:authenticated",
    ]);
    assert.equal(result.connections, 2);
    assert.equal(server.messages.length, 1);
    assert.equal(server.messages[0].qop, "auth");
  });
});

Deno.test("STARTTLS with requireTLS: PLAIN is allowed, and no layer is negotiated inside TLS", async () => {
  const { ca, key, cert } = makeTestCertificates();
  await withServer({ tls: { key, cert }, mechanisms: ["PLAIN", "DIGEST-MD5"] }, async (server) => {
    const tls = { ca, servername: "mail.example.com" };
    // sendMailWithFallback reads requireTLS: the connection is encrypted before AUTH.
    const plain = await sendMailWithFallback(
      transportOptions(server, { ...PASSWORD, mechanisms: ["PLAIN"] }, {
        ignoreTLS: false,
        requireTLS: true,
        tls,
      }),
      MESSAGE,
    );
    assert.equal(plain.mechanism, "PLAIN");
    assert.equal(server.messages[0].tls, true);

    // A layer is asked for, but STARTTLS hides saslkit's socket: qop=auth inside TLS.
    const layered = await sendMailWithFallback(
      transportOptions(server, {
        ...PASSWORD,
        mechanisms: ["DIGEST-MD5"],
        digestMd5: { qop: ["auth-conf", "auth"] },
      }, { ignoreTLS: false, requireTLS: true, tls }),
      MESSAGE,
    );
    assert.equal(layered.mechanism, "DIGEST-MD5");
    assert.equal(server.messages[1].tls, true);
    assert.equal(server.messages[1].qop, "auth");
  });
});

Deno.test("a layer that cannot be applied is refused, not downgraded", async () => {
  await withServer({}, async (server) => {
    // A getSocket of the caller's own replaces saslkit's: no socket to apply the layer to.
    const options = {
      ...transportOptions(server, { ...PASSWORD, digestMd5: { qop: ["auth-conf"] } }),
      getSocket: undefined,
    };
    const error = await rejection(sendMailWithFallback(options, MESSAGE));
    assert.equal(error.saslkitCode, "invalid-argument");
    assert.match(error.message, /cannot be applied/);
    assert.equal(server.messages.length, 0);
  });
});

Deno.test("options are checked, with saslkit's codes and no secret in the message", () => {
  const bad: [unknown, RegExp][] = [
    [{ user: "u" }, /pass/],
    [{ user: "u", pass: "p", token: "t" }, /not both/],
    [{ user: "u", pass: "p", mechanisms: "PLAIN" }, /mechanisms/],
    [{ user: "u", pass: "p", digestMd5: { qop: ["auth", "conf"] } }, /digestMd5\.qop/],
    [null, /options object/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => nodemailerAuth(options as NodemailerAuthOptions), (error) => {
      assert.ok(error instanceof SmtpError);
      assert.equal(error.code, "invalid-argument");
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(() => nodemailerAuth({ user: "u", pass: "" }), (e: Error) => !/u"/.test(e.message));
});

Deno.test("sendMailWithFallback needs nodemailerAuth in the options", async () => {
  await assert.rejects(
    sendMailWithFallback({ host: "127.0.0.1", port: 1 }, MESSAGE),
    (error) => error instanceof SmtpError && error.code === "invalid-argument",
  );
});

// --------------------------------------------------------------------------- the logs

/** A bunyan-shaped logger that keeps everything nodemailer gives it. */
function capturingLogger() {
  const logged: string[] = [];
  const clientLines: string[] = [];
  const log = (level: string) => (meta: unknown, ...args: unknown[]) => {
    logged.push(`${level} ${JSON.stringify([meta, ...args])}`);
    if ((meta as { tnx?: string })?.tnx === "client") clientLines.push(String(args[0]));
  };
  const logger = {
    level: () => {},
    trace: log("trace"),
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    fatal: log("fatal"),
  };
  return { logger, logged, clientLines };
}

/**
 * What nodemailer logged of the client's side from the first AUTH to MAIL FROM: AUTH lines
 * without their initial response, everything else masked.
 */
function assertAuthMasked(clientLines: readonly string[]): void {
  const from = clientLines.findIndex((line) => line.startsWith("AUTH "));
  const to = clientLines.findIndex((line) => line.startsWith("MAIL FROM:"));
  assert.ok(from >= 0 && to > from, clientLines.join("\n"));
  for (const line of clientLines.slice(from, to)) {
    assert.match(line, /^(AUTH [A-Z0-9_-]+( \/\* secret \*\/)?|\/\* secret \*\/)$/);
  }
}

/** A loopback proxy that records every line the client sends. */
async function recordingProxy(target: TestServer) {
  const clientLines: string[] = [];
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(target.port, target.hostname);
    sockets.add(client).add(upstream);
    let buffered = "";
    client.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      const lines = buffered.split("\r\n");
      buffered = lines.pop()!;
      clientLines.push(...lines);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => client.write(chunk));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    clientLines,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

const LOGGED_MECHANISMS = [
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "DIGEST-MD5",
  "CRAM-MD5",
  "PLAIN",
  "LOGIN",
  "OAUTHBEARER",
  "XOAUTH2",
];
const TOKEN = "ya29.Tr0ub4dor-token";

for (const mechanism of LOGGED_MECHANISMS) {
  Deno.test(`debug, logger and transactionLog all on: no ${mechanism} secret is logged`, async () => {
    // nodemailer's mask is "/* secret */": the password must be something else to be found.
    const server = {
      users: { smtpuser: "Tr0ub4dor&3" },
      mechanisms: LOGGED_MECHANISMS,
      tokens: { [TOKEN]: "smtpuser" },
    };
    await withServer(server, async (server) => {
      const proxy = await recordingProxy(server);
      const { logger, logged, clientLines } = capturingLogger();
      const oauth = mechanism === "OAUTHBEARER" || mechanism === "XOAUTH2";
      try {
        const options = {
          ...transportOptions(server, {
            user: "smtpuser",
            ...(oauth ? { token: TOKEN } : { pass: "Tr0ub4dor&3" }),
            mechanisms: [mechanism],
            allowCleartext: true,
          }, { debug: true, logger, transactionLog: true }),
          port: proxy.port,
        };
        const result = await sendMailWithFallback(options, MESSAGE);
        assert.equal(result.mechanism, mechanism);
      } finally {
        await proxy.close();
      }
      assert.equal(server.messages.length, 1);
      // Every client line from AUTH to 235 carries SASL data (the AUTH line its initial
      // response): none of it, nor the password, may appear in what nodemailer logged.
      const auth = proxy.clientLines.findIndex((line) => line.startsWith("AUTH "));
      const sasl = proxy.clientLines.slice(auth, proxy.clientLines.indexOf("NOOP", auth))
        .map((line) => line.replace(/^AUTH \S+ ?/, ""))
        .filter((payload) => payload.length >= 4);
      assert.ok(sasl.length >= 1, `no SASL payload seen for ${mechanism}`);
      const text = logged.join("\n");
      assert.ok(logged.length > 10, "the logger received the transaction");
      assert.match(text, /MAIL FROM:<a@example\.com>/, "client commands are logged");
      assertAuthMasked(clientLines);
      for (const secret of ["Tr0ub4dor", btoa("Tr0ub4dor&3"), btoa(TOKEN), ...sasl]) {
        assert.ok(!text.includes(secret), `${mechanism}: logged ${secret}`);
      }
      // What was decoded: DIGEST's response= and CRAM's digest are secrets too.
      for (const payload of sasl) {
        const decoded = atob(payload);
        for (const part of decoded.split(/[\s,\0]/).filter((p) => p.length >= 16)) {
          assert.ok(!text.includes(part), `${mechanism}: logged ${part.slice(0, 8)}…`);
        }
      }
    });
  });
}

// ------------------------------------------------------------------------------ OAuth

// The OAuth mechanisms come from the registry, both sides.
const OAUTH = ["OAUTHBEARER", "XOAUTH2"];

/**
 * A minimal SMTP server on loopback whose AUTH is the registry's server side of each OAuth
 * mechanism, validating tokens with `valid`; it counts the messages it accepts.
 */
async function oauthServer(offered: readonly string[], valid: (token: string) => boolean) {
  const messages: { mechanism: string; data: string }[] = [];
  const sockets = new Set<net.Socket>();
  const store = {
    token: (token: string) =>
      valid(token)
        ? { authenticationId: "smtpuser@example.com" }
        : { error: { status: "invalid_token", scope: "smtp" } },
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const send = (line: string) => socket.write(`${line}\r\n`);
    let buffered = "";
    let exchange: { name: string; mechanism: ServerMechanism } | undefined;
    let authenticatedWith: string | undefined;
    let data: string[] | undefined;
    const step = async (response: Uint8Array | undefined) => {
      const { name, mechanism } = exchange!;
      try {
        const { done, challenge } = await mechanism.next(response);
        if (!done) return send(`334 ${encodeBase64(challenge ?? new Uint8Array())}`);
        exchange = undefined;
        authenticatedWith = name;
        send("235 2.7.0 Authentication successful");
      } catch {
        exchange = undefined;
        send("535 5.7.8 Authentication credentials invalid");
      }
    };
    const line = async (text: string) => {
      if (data) {
        if (text !== ".") return data.push(text);
        messages.push({ mechanism: authenticatedWith!, data: data.join("\r\n") });
        data = undefined;
        return send("250 2.0.0 accepted");
      }
      if (exchange) {
        if (text === "*") {
          exchange = undefined;
          return send("501 5.7.0 cancelled");
        }
        return await step(decodeBase64(text));
      }
      const [verb, argument, initial] = text.split(" ");
      switch (verb.toUpperCase()) {
        case "EHLO":
          return send(`250-oauth.example.com\r\n250 AUTH ${offered.join(" ")}`);
        case "AUTH": {
          const descriptor = defaultRegistry.get(argument);
          if (!descriptor || !offered.includes(descriptor.name)) return send("504 5.5.4 no");
          const mechanism = descriptor.createServer(store, {
            service: "smtp",
            host: "oauth.example.com",
          });
          exchange = { name: descriptor.name, mechanism };
          return await step(
            initial === undefined
              ? undefined
              : initial === "="
              ? new Uint8Array()
              : decodeBase64(initial),
          );
        }
        case "NOOP":
        case "MAIL":
        case "RCPT":
          return send(authenticatedWith ? "250 2.0.0 OK" : "530 5.7.0 Authentication required");
        case "DATA":
          data = [];
          return send("354 go ahead");
        case "QUIT":
          send("221 2.0.0 bye");
          return socket.end();
        default:
          return send("502 5.5.2 unknown");
      }
    };
    let queue: Promise<unknown> = Promise.resolve();
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      const lines = buffered.split("\r\n");
      buffered = lines.pop()!;
      for (const text of lines) {
        queue = queue.then(() => line(text)).catch(() => send("501 5.5.2 syntax error"));
      }
    });
    send("220 oauth.example.com ESMTP");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    messages,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

for (const mechanism of ["OAUTHBEARER", "XOAUTH2"]) {
  Deno.test({
    name: `${mechanism}: a token provider is asked once more after invalid_token, then sends`,
    fn: async () => {
      const server = await oauthServer([mechanism], (token) => token === "fresh-token");
      try {
        const requests: boolean[] = [];
        const { logger, logged, clientLines } = capturingLogger();
        const result = await sendMailWithFallback(
          {
            host: "127.0.0.1",
            port: server.port,
            name: "client.example.com",
            ignoreTLS: true,
            logger,
            debug: true,
            transactionLog: true,
            ...nodemailerAuth({
              user: "smtpuser@example.com",
              token: ({ refresh }) => {
                requests.push(refresh);
                return refresh ? "fresh-token" : "stale-token";
              },
              mechanisms: [mechanism],
              allowCleartext: true, // loopback: a bearer token without TLS
            }),
          },
          MESSAGE,
        );
        assert.deepEqual(requests, [false, true]);
        assert.equal(result.mechanism, mechanism);
        assert.deepEqual(result.attempts.map((a) => `${a.mechanism}:${a.result}`), [
          `${mechanism}:bad-credentials`,
          `${mechanism}:authenticated`,
        ]);
        assert.equal(server.messages.length, 1);
        assert.equal(server.messages[0].mechanism, mechanism);
        // Neither token, nor any AUTH payload, reached nodemailer's logger.
        assertAuthMasked(clientLines);
        const text = logged.join("\n");
        for (const token of ["stale-token", "fresh-token", btoa("stale-token"), "Bearer"]) {
          assert.ok(!text.includes(token), `logged ${token}`);
        }
      } finally {
        await server.close();
      }
    },
  });
}

Deno.test({
  name: "OAuth: a bearer token never crosses an unencrypted connection unless allowed",
  fn: async () => {
    const server = await oauthServer(OAUTH, () => true);
    try {
      const error = await rejection(sendMailWithFallback(
        {
          host: "127.0.0.1",
          port: server.port,
          name: "client.example.com",
          ignoreTLS: true,
          ...nodemailerAuth({ user: "smtpuser@example.com", token: "ya29.token" }),
        },
        MESSAGE,
      ));
      assert.equal(error.saslkitCode, "cleartext-refused");
      assert.equal(server.messages.length, 0);
    } finally {
      await server.close();
    }
  },
});
