import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { makeTestCertificates } from "./testdata/tls.ts";
import { CramMd5Client, DigestMd5Client, PlainClient } from "@saslkit/sasl";
import { SmtpSession } from "./session.ts";
import type { SmtpError } from "./error.ts";
import { ReplyParser } from "./reply.ts";
import { parseEhlo } from "./ehlo.ts";
import { connectTcp } from "./transport.ts";
import { connectDeno } from "./transport_deno.ts";
import type { TranscriptEntry } from "./transcript.ts";
import { startTestServer } from "./test_server.ts";

/**
 * A server that answers each client line with the next scripted reply. `null` closes the
 * connection; a function may look at the line.
 */
async function scripted(
  greeting: string | Uint8Array,
  replies: (string | null | ((line: string) => string | null))[],
): Promise<{ port: number; lines: string[]; close: () => Promise<void> }> {
  const lines: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.write(greeting);
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      let index;
      while ((index = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, index);
        buffer = buffer.slice(index + 2);
        lines.push(line);
        let reply = replies.shift();
        if (typeof reply === "function") reply = reply(line);
        if (reply === null || reply === undefined) {
          socket.destroy();
          return;
        }
        socket.write(reply);
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    lines,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const open = (port: number, timeoutMs = 2000, transcript?: (e: TranscriptEntry) => void) =>
  connectTcp({ host: "127.0.0.1", port }).then((t) =>
    SmtpSession.open(t, { timeoutMs, transcript })
  );

const EHLO = "250-mx.example.com hi\r\n250-AUTH CRAM-MD5 PLAIN\r\n250 SIZE 1000\r\n";

Deno.test("reply parser: multi-line, enhanced codes, grammar errors", () => {
  const parser = new ReplyParser();
  assert.equal(parser.push("250-first"), undefined);
  assert.deepEqual(parser.push("250 2.0.0 last"), {
    code: 250,
    enhancedCode: undefined,
    lines: ["first", "last"],
  });
  assert.equal(new ReplyParser().push("535 5.7.8 Authentication failed")!.enhancedCode, "5.7.8");
  assert.equal(new ReplyParser().push("250")!.lines[0], "");
  for (const bad of ["hello", "25 short", "2500 long", "099 low", "700 high", "250_x"]) {
    assert.throws(() => new ReplyParser().push(bad), (e: SmtpError) => e.code === "protocol", bad);
  }
  const mixed = new ReplyParser();
  mixed.push("250-a");
  assert.throws(() => mixed.push("251 b"), (e: SmtpError) => e.code === "protocol");
  const long = new ReplyParser(3);
  long.push("250-a");
  long.push("250-b");
  long.push("250-c");
  assert.throws(() => long.push("250-d"), (e: SmtpError) => e.code === "protocol");
});

Deno.test("EHLO: capabilities, AUTH and AUTH= forms, SIZE", () => {
  const caps = parseEhlo({
    lines: [
      "mx.example.com greets you",
      "AUTH=LOGIN",
      "AUTH CRAM-MD5 login",
      "SIZE",
      "STARTTLS",
      "SMTPUTF8",
      "PIPELINING",
      "8BITMIME",
      "ENHANCEDSTATUSCODES",
    ],
  });
  assert.deepEqual(caps.auth, ["LOGIN", "CRAM-MD5"]);
  assert.equal(caps.size, 0);
  assert.ok(
    caps.startTls && caps.smtpUtf8 && caps.pipelining && caps.eightBitMime &&
      caps.enhancedStatusCodes,
  );
  assert.equal(parseEhlo({ lines: ["x"] }).auth.length, 0);
});

Deno.test("session: greeting other than 220 is a typed rejection", async () => {
  const server = await scripted("554 5.3.2 go away\r\n", []);
  try {
    await assert.rejects(
      open(server.port),
      (e: SmtpError) => e.code === "rejected" && e.reply?.code === 554,
    );
  } finally {
    await server.close();
  }
});

Deno.test("session: oversize reply line, garbage reply, silence, and EOF are typed errors", async () => {
  for (
    const [greeting, code] of [
      ["220 " + "x".repeat(5000), "protocol"],
      ["hello there\r\n", "protocol"],
      ["", "timeout"],
    ] as const
  ) {
    const server = await scripted(greeting, []);
    try {
      await assert.rejects(open(server.port, 300), (e: SmtpError) => e.code === code, code);
    } finally {
      await server.close();
    }
  }
  const server = await scripted("220 ok\r\n", [null]);
  try {
    const session = await open(server.port);
    await assert.rejects(session.noop(), (e: SmtpError) => e.code === "connection-lost");
    assert.equal(session.closed, true);
  } finally {
    await server.close();
  }
});

Deno.test("AUTH: broken base64 in a 334 cancels with * and reports auth-client", async () => {
  const server = await scripted("220 ok\r\n", [
    EHLO,
    "334 not*base64\r\n",
    "501 5.0.0 cancelled\r\n",
  ]);
  try {
    const session = await open(server.port);
    await session.ehlo("c");
    await assert.rejects(
      session.authenticate(new CramMd5Client({ username: "u", password: "p" })),
      (e: SmtpError) => e.code === "auth-client" && /invalid-base64/.test(e.message),
    );
    assert.deepEqual(server.lines.slice(1), ["AUTH CRAM-MD5", "*"]);
  } finally {
    await server.close();
  }
});

Deno.test("AUTH: a malformed DIGEST-MD5 challenge cancels with *", async () => {
  const server = await scripted("220 ok\r\n", [
    EHLO,
    `334 ${btoa('nonce="a",algorithm=md5')}\r\n`,
    "501 5.0.0 cancelled\r\n",
  ]);
  try {
    const session = await open(server.port);
    await session.ehlo("c");
    const error = await session.authenticate(
      new DigestMd5Client({ username: "u", password: "p", service: "smtp", host: "h" }),
    ).catch((e) => e);
    assert.equal(error.code, "auth-client");
    assert.equal(error.cause.code, "malformed-challenge");
    assert.equal(server.lines.at(-1), "*");
    assert.equal(session.closed, false); // the server may be tried with another mechanism
  } finally {
    await server.close();
  }
});

Deno.test("AUTH: 235 without rspauth closes the session (the server never proved itself)", async () => {
  const server = await scripted("220 ok\r\n", [
    EHLO,
    `334 ${btoa('realm="r",nonce="a",qop="auth",algorithm=md5-sess,charset=utf-8')}\r\n`,
    "235 2.0.0 OK\r\n",
  ]);
  try {
    const session = await open(server.port);
    await session.ehlo("c");
    const error = await session.authenticate(
      new DigestMd5Client({ username: "u", password: "p", service: "smtp", host: "h" }),
    ).catch((e) => e);
    assert.equal(error.code, "auth-client");
    assert.equal(error.cause.code, "server-not-verified");
    assert.equal(session.closed, true);
  } finally {
    await server.close();
  }
});

Deno.test("AUTH: initial response, = for an empty one, rejection keeps the reply", async () => {
  const server = await scripted("220 ok\r\n", [
    EHLO,
    "535 5.7.8 Authentication credentials invalid\r\n",
  ]);
  try {
    const session = await open(server.port);
    await session.ehlo("c");
    const error = await session.authenticate(new PlainClient({ username: "u", password: "pw" }))
      .catch((e) => e);
    assert.equal(error.code, "auth-rejected");
    assert.equal(error.reply.enhancedCode, "5.7.8");
    assert.equal(server.lines[1], `AUTH PLAIN ${btoa("\0u\0pw")}`);
    assert.ok(!error.message.includes("pw"));
  } finally {
    await server.close();
  }
});

Deno.test("commands with CR or LF are refused before anything is sent", async () => {
  const server = await scripted("220 ok\r\n", [EHLO]);
  try {
    const session = await open(server.port);
    await assert.rejects(
      session.command("NOOP\r\nRSET"),
      (e: SmtpError) => e.code === "invalid-argument",
    );
    await assert.rejects(
      session.sendMail({ from: "a@b>\r\nRCPT TO:<x", to: ["c@d"], data: "x" }),
      (e: SmtpError) => e.code === "invalid-argument",
    );
    assert.deepEqual(server.lines, []);
  } finally {
    await server.close();
  }
});

Deno.test("sendMail: dot-stuffing and CRLF normalisation reach the server intact", async () => {
  const server = await startTestServer({ users: {} });
  try {
    const session = await open(server.port);
    await session.ehlo("c");
    await session.sendMail({
      from: "a@example.com",
      to: ["b@example.com", "c@example.com"],
      data: "Subject: x\n\n.\n..two\nend",
    });
    await session.quit();
    assert.equal(server.messages[0].data, "Subject: x\r\n\r\n.\r\n..two\r\nend\r\n");
    assert.deepEqual(server.messages[0].to, ["b@example.com", "c@example.com"]);
  } finally {
    await server.close();
  }
});

Deno.test("STARTTLS: certificate checked, EHLO again, channel binding exposed", async () => {
  const { ca, key, cert } = makeTestCertificates();
  {
    const server = await startTestServer({ tls: { key, cert } });
    try {
      // Unknown CA: refused.
      let session = await SmtpSession.open(
        await connectTcp({ host: "127.0.0.1", port: server.port }),
        { timeoutMs: 3000 },
      );
      assert.ok((await session.ehlo("c")).startTls);
      await assert.rejects(
        session.startTls("mail.example.com"),
        (e: SmtpError) => e.code === "untrusted-certificate" && /--ca FILE/.test(e.message),
      );
      session.close();
      // Trusted CA: works, and PLAIN is fine over it.
      session = await SmtpSession.open(
        await connectTcp({ host: "127.0.0.1", port: server.port, ca }),
        { timeoutMs: 3000 },
      );
      await session.ehlo("c");
      await session.startTls("mail.example.com");
      assert.equal(session.secure, true);
      assert.equal(session.capabilities, undefined);
      assert.ok((await session.ehlo("c")).auth.includes("PLAIN"));
      // tls-exporter needs exportKeyingMaterial, which Node has and Deno 2.9 lacks; TLS 1.3
      // has no tls-unique, so there the binding is honestly absent.
      const bindings = session.transport.channelBindings?.() ?? {};
      if (typeof tls.TLSSocket.prototype.exportKeyingMaterial === "function") {
        assert.equal(bindings["tls-exporter"]?.length, 32);
      } else {
        assert.equal(bindings["tls-exporter"], undefined);
      }
      assert.equal(bindings["tls-unique"], undefined); // TLS 1.3 has none
      await session.authenticate(new PlainClient({ username: "smtpuser", password: "secret" }));
      await session.quit();
    } finally {
      await server.close();
    }
  }
});

Deno.test("a layered session splits large writes to the peer's maxbuf", async () => {
  const server = await startTestServer({ maxbuf: 1024 });
  try {
    const session = await open(server.port);
    await session.ehlo("c");
    await session.authenticate(
      new DigestMd5Client({
        username: "smtpuser",
        password: "secret",
        service: "smtp",
        host: "mail.example.com",
        qop: ["auth-int"],
      }),
    );
    const body = "Subject: big\r\n\r\n" + "0123456789abcdef".repeat(400) + "\r\n";
    await session.sendMail({ from: "a@example.com", to: ["b@example.com"], data: body });
    await session.quit();
    assert.equal(server.messages[0].data, body);
    assert.equal(server.messages[0].qop, "auth-int");
  } finally {
    await server.close();
  }
});

Deno.test("Deno's own sockets: plain, STARTTLS with a trusted CA, AUTH, mail", async () => {
  const { ca, key, cert } = makeTestCertificates();
  {
    const server = await startTestServer({ tls: { key, cert } });
    try {
      const session = await SmtpSession.open(
        await connectDeno({ host: "127.0.0.1", port: server.port, ca }),
        { timeoutMs: 3000 },
      );
      await session.ehlo("c");
      await session.startTls("mail.example.com");
      assert.equal(session.secure, true);
      await session.ehlo("c");
      await session.authenticate(new PlainClient({ username: "smtpuser", password: "secret" }));
      await session.sendMail({ from: "a@example.com", to: ["b@example.com"], data: "tls\r\n" });
      await session.quit();
      assert.equal(server.messages[0].tls, true);
      await assert.rejects(
        connectDeno({ host: "127.0.0.1", port: server.port, rejectUnauthorized: false }),
        (e: SmtpError) => e.code === "invalid-argument",
      );
    } finally {
      await server.close();
    }
  }
  await assert.rejects(
    connectDeno({ host: "127.0.0.1", port: 1 }),
    (e: SmtpError) => e.code === "connection-failed",
  );
});

Deno.test("implicit TLS (port 465 style) with connectTcp and connectDeno", async () => {
  const { ca, key, cert } = makeTestCertificates();
  const server = tls.createServer({ key, cert }, (socket) => {
    socket.write("220 mail.example.com ESMTP\r\n");
    socket.on("data", (chunk) => {
      if (chunk.toString().startsWith("QUIT")) socket.end("221 bye\r\n");
      else socket.write("250 mail.example.com\r\n");
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    for (const connect of [connectTcp, connectDeno]) {
      const transport = await connect({
        host: "127.0.0.1",
        port,
        security: "tls",
        ca,
        servername: "mail.example.com",
      });
      assert.equal(transport.secure, true, connect.name);
      const session = await SmtpSession.open(transport, { timeoutMs: 3000 });
      assert.equal(session.greeting.code, 220);
      assert.equal((await session.ehlo("c")).domain, "mail.example.com");
      await session.quit();
      // Without the CA the certificate is refused.
      await assert.rejects(
        connect({ host: "127.0.0.1", port, security: "tls", servername: "mail.example.com" }),
        (e: SmtpError) => e.code === "untrusted-certificate" && /--ca FILE/.test(e.message),
        connect.name,
      );
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

Deno.test("AUTH: a server that never stops challenging is cancelled", async () => {
  const endless = (line: string) => (line === "*" ? "501 5.0.0 cancelled\r\n" : "334 \r\n");
  const server = await scripted("220 ok\r\n", [EHLO, ...Array(40).fill(endless)]);
  try {
    const session = await open(server.port);
    await session.ehlo("c");
    // A mechanism that would answer for ever: LOGIN-like, but never done.
    const chatty = {
      name: "X-CHATTY",
      properties: {
        sendsCleartextPassword: false,
        verifiesServer: false,
        offersSecurityLayer: false,
        clientFirst: false,
        channelBinding: false,
        carriesAuthorizationId: false,
      },
      start: () => undefined,
      next: () => new Uint8Array([1]),
      finish: () => ({ mechanism: "X-CHATTY", qop: "auth" as const }),
    };
    await assert.rejects(
      session.authenticate(chatty),
      (e: SmtpError) => e.code === "auth-client" && /challenges/.test(e.message),
    );
    assert.equal(server.lines.at(-1), "*");
    assert.ok(server.lines.length < 25);
  } finally {
    await server.close();
  }
});

Deno.test("sendMail: a bare CR cannot end the data early (SMTP smuggling)", async () => {
  const server = await startTestServer({ users: {} });
  try {
    const session = await open(server.port);
    await session.ehlo("c");
    await session.sendMail({
      from: "a@example.com",
      to: ["b@example.com"],
      data: "Subject: x\r\n\r\nhi\r.\r\nMAIL FROM:<evil@example.com>\r\n",
    });
    await session.quit();
    assert.equal(server.messages.length, 1);
    assert.equal(
      server.messages[0].data,
      "Subject: x\r\n\r\nhi\r\n.\r\nMAIL FROM:<evil@example.com>\r\n",
    );
  } finally {
    await server.close();
  }
});

Deno.test("a server that stops reading cannot stall a write past the deadline", async () => {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.write("220 ok\r\n");
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      if (buffer.includes("DATA\r\n")) {
        socket.write("354 go ahead\r\n");
        socket.pause(); // and never read again
      } else if (buffer.endsWith("\r\n")) {
        socket.write("250 ok\r\n");
        buffer = "";
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const session = await open((server.address() as net.AddressInfo).port, 500);
    const started = Date.now();
    await assert.rejects(
      session.sendMail({
        from: "a@example.com",
        to: ["b@example.com"],
        data: new Uint8Array(48 * 1024 * 1024).fill(0x61),
      }),
      (e: SmtpError) => e.code === "timeout",
    );
    assert.ok(Date.now() - started < 5000);
    assert.equal(session.closed, true);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
