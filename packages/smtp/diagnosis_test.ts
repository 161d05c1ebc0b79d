// Diagnosis instead of timeouts: each mistake a first-hour user makes with ports, TLS and host
// names is a typed error with a code and a hint, found quickly, against listeners on 127.0.0.1.
import assert from "node:assert/strict";
import net from "node:net";
import { authenticate, connectDeno, connectTcp, SmtpError } from "./mod.ts";
import { startTestServer } from "./test_server.ts";
import { makeTestCertificates } from "./testdata/tls.ts";
import { main } from "./cli.ts";

const credentials = { username: "smtpuser", password: "secret" };

// A listener that sends `first` (or nothing) to every connection and then stays silent.
async function listener(first?: Uint8Array): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    if (first) socket.write(first);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function isCode(code: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof SmtpError, String(error));
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

// The first bytes of a TLS ServerHello-like record: handshake (0x16), version 3.3.
const TLS_RECORD = new Uint8Array([0x16, 0x03, 0x03, 0x00, 0x31, 0x02, 0x00, 0x00, 0x2d]);

Deno.test("TLS bytes where the greeting belongs: tls-expected, use --tls", async () => {
  const tlsPort = await listener(TLS_RECORD);
  try {
    const started = Date.now();
    await assert.rejects(
      authenticate({
        host: "127.0.0.1",
        port: tlsPort.port,
        security: "none",
        credentials,
        timeoutMs: 20_000,
      }),
      isCode("tls-expected", /speaks TLS from the first byte.*security: "tls", --tls/),
    );
    assert.ok(Date.now() - started < 5000, "diagnosed at once, not after the timeout");

    let stderr = "";
    const status = await main(
      ["probe", "--host", "127.0.0.1", "--port", String(tlsPort.port), "--no-starttls"],
      { stdout: () => {}, stderr: (t) => stderr += t, env: {} },
    );
    assert.equal(status, 1);
    assert.match(stderr, /use implicit TLS .*--tls/);
  } finally {
    await tlsPort.close();
  }
});

Deno.test("a silent server on port 465: tls-expected within seconds, not a 30 s timeout", async () => {
  const silent = await listener();
  try {
    const started = Date.now();
    await assert.rejects(
      authenticate({
        host: "mail.example.com",
        port: 465,
        security: "none",
        credentials,
        connect: () => connectTcp({ host: "127.0.0.1", port: silent.port }),
      }),
      isCode("tls-expected", /port 465 speaks implicit TLS; use --tls \(security: "tls"\)/),
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
    // Elsewhere a silent server is a timeout that says what to try.
    await assert.rejects(
      authenticate({
        host: "mail.example.com",
        port: 587,
        security: "none",
        credentials,
        timeoutMs: 300,
        connect: () => connectTcp({ host: "127.0.0.1", port: silent.port }),
      }),
      isCode("timeout", /sent no greeting within 300 ms; if that port speaks implicit TLS/),
    );
  } finally {
    await silent.close();
  }
});

Deno.test("implicit TLS against a plaintext server: plaintext-server, not OpenSSL's words", async () => {
  const server = await startTestServer();
  try {
    for (const connect of [connectTcp, connectDeno]) {
      await assert.rejects(
        connect({ host: "127.0.0.1", port: server.port, security: "tls", timeoutMs: 5000 }),
        isCode("plaintext-server", /answered in plaintext, not TLS.*use STARTTLS/),
        connect.name,
      );
    }
    let stderr = "";
    const status = await main(
      ["probe", "--host", "127.0.0.1", "--port", String(server.port), "--tls", "--timeout", "5000"],
      { stdout: () => {}, stderr: (t) => stderr += t, env: {} },
    );
    assert.equal(status, 1);
    assert.match(stderr, /answered in plaintext/);
    assert.doesNotMatch(stderr, /wrong version number|deps\/openssl/);
  } finally {
    await server.close();
  }
});

Deno.test("a certificate from a private CA: untrusted-certificate, and how to trust it", async () => {
  const { ca, key, cert } = makeTestCertificates();
  const server = await startTestServer({ tls: { key, cert } });
  try {
    const options = {
      host: "mail.example.com",
      port: server.port,
      security: "starttls" as const,
      credentials,
      timeoutMs: 5000,
    };
    await assert.rejects(
      authenticate({
        ...options,
        connect: () => connectTcp({ host: "127.0.0.1", port: server.port }),
      }),
      isCode("untrusted-certificate", /not trusted .*--ca FILE \(the ca option/),
    );
    // With the CA given, as the message says, it works.
    const { session } = await authenticate({
      ...options,
      connect: () => connectTcp({ host: "127.0.0.1", port: server.port, ca }),
    });
    assert.match(session.transport.tlsVersion?.() ?? "", /^TLSv1\.[23]$/);
    await session.quit();
  } finally {
    await server.close();
  }
});

Deno.test("host:port is refused by the library with the port to pass, and split by the CLI", async () => {
  for (
    const [host, hint] of [
      ["127.0.0.1:37415", /pass host "127\.0\.0\.1" and port 37415/],
      ["[::1]:2525", /pass host "::1" and port 2525/],
      ["smtp://mail.example.com", /without scheme/],
    ] as const
  ) {
    await assert.rejects(
      authenticate({ host, credentials }),
      isCode("invalid-argument", hint),
    );
    await assert.rejects(connectTcp({ host, port: 25 }), isCode("invalid-argument", hint));
  }
  const server = await startTestServer();
  try {
    let stdout = "";
    const status = await main(["probe", "--host", `127.0.0.1:${server.port}`], {
      stdout: (t) => stdout += t,
      stderr: () => {},
      env: {},
    });
    assert.equal(status, 0);
    assert.match(stdout, new RegExp(`^Server: 127\\.0\\.0\\.1:${server.port}$`, "m"));
    assert.equal(server.connections, 1);
  } finally {
    await server.close();
  }
  for (
    const [args, message] of [
      [["--host", "127.0.0.1:25", "--port", "26"], /--port contradicts/],
      [["--host", "http://mail.example.com"], /not a URL/],
      [["--host", "mail.example.com:smtp"], /HOST:PORT with a port/],
    ] as [string[], RegExp][]
  ) {
    let stderr = "";
    const status = await main(["probe", ...args], { stderr: (t) => stderr += t, env: {} });
    assert.equal(status, 2);
    assert.match(stderr, message);
  }
});
