import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import {
  ciphersByName,
  type ClientMechanism,
  CramMd5Client,
  decodeBase64,
  DIGEST_CIPHERS,
  type DigestCipher,
  DigestMd5Client,
  encodeBase64,
  frame,
  FrameDecoder,
  LoginClient,
  PlainClient,
  type Qop,
  type SaslOutcome,
  type SecurityLayer,
} from "@saslkit/sasl";
import { parseEhloAuth } from "./ehlo.ts";
import { SmtpSession } from "./session.ts";
import { connectTcp } from "./transport.ts";
import { startTestServer, type TestServer, type TestServerOptions } from "./test_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const REPLY_TIMEOUT_MS = 5000;

interface Reply {
  readonly code: number;
  /** The text of each line, after `ddd-` / `ddd `. */
  readonly lines: string[];
  readonly text: string;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A bare SMTP client over node:net that can apply a SASL security layer and STARTTLS. */
class RawClient {
  socket: net.Socket;
  /** Every byte received, as it came off the wire (inside TLS, if any). */
  readonly wire: Uint8Array[] = [];
  #plain: Uint8Array = new Uint8Array(0);
  #layer?: SecurityLayer;
  #frames?: FrameDecoder;
  #ended = false;
  #wake?: () => void;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#attach(socket);
  }

  static connect(server: TestServer): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(server.port, server.hostname);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RawClient(socket));
      });
    });
  }

  #attach(socket: net.Socket): void {
    socket.on("data", (chunk: Uint8Array) => {
      this.wire.push(new Uint8Array(chunk));
      this.#take(chunk);
      this.#wake?.();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.#ended = true;
      this.#wake?.();
      this.#resolveClosed();
    });
  }

  #take(chunk: Uint8Array): void {
    if (!this.#frames) {
      this.#plain = concat(this.#plain, chunk);
      return;
    }
    for (const buffer of this.#frames.push(chunk)) {
      this.#plain = concat(this.#plain, this.#layer!.unwrap(buffer));
    }
  }

  /** From now on, both directions go through the layer; bytes already read are re-read. */
  useLayer(layer: SecurityLayer): void {
    this.#layer = layer;
    this.#frames = new FrameDecoder(layer.maxIncomingSize);
    const rest = this.#plain;
    this.#plain = new Uint8Array(0);
    if (rest.length) this.#take(rest);
  }

  /** Sends a line, through the layer if one is in use. */
  send(line: string): void {
    this.write(encoder.encode(`${line}\r\n`));
  }

  /** Sends bytes, through the layer if one is in use. */
  write(bytes: Uint8Array): void {
    this.socket.write(this.encode(bytes));
  }

  /** What {@linkcode write} would put on the wire. */
  encode(bytes: Uint8Array): Uint8Array {
    const layer = this.#layer;
    if (!layer) return bytes;
    let out: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < bytes.length; i += layer.maxPlaintextSize) {
      out = concat(out, frame(layer.wrap(bytes.subarray(i, i + layer.maxPlaintextSize))));
    }
    return out;
  }

  /** Sends bytes as they are, bypassing any layer. */
  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  async #line(): Promise<string | undefined> {
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    while (true) {
      const lf = this.#plain.indexOf(10);
      if (lf >= 0) {
        const line = decoder.decode(this.#plain.subarray(0, lf)).replace(/\r$/, "");
        this.#plain = this.#plain.subarray(lf + 1);
        return line;
      }
      if (this.#ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for the server");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }

  /** Reads one whole reply, however many lines. */
  async reply(): Promise<Reply> {
    const lines: string[] = [];
    while (true) {
      const line = await this.#line();
      if (line === undefined) {
        throw new Error(`connection closed after ${JSON.stringify(lines)}`);
      }
      assert.match(line, /^\d{3}[ -]/, `not a reply line: ${line}`);
      lines.push(line.slice(4));
      if (line[3] === " ") {
        return { code: Number(line.slice(0, 3)), lines, text: line };
      }
    }
  }

  /** Reads a reply and checks its code (and, if given, its last line). */
  async expect(code: number, last?: string | RegExp): Promise<Reply> {
    const reply = await this.reply();
    assert.equal(reply.code, code, `expected ${code}, got ${reply.text}`);
    if (typeof last === "string") assert.equal(reply.text, last);
    else if (last) assert.match(reply.text, last);
    return reply;
  }

  /** Sends a command and checks the reply. */
  async command(line: string, code: number, last?: string | RegExp): Promise<Reply> {
    this.send(line);
    return await this.expect(code, last);
  }

  /** Waits for the server to close; returns whatever plaintext arrived unread. */
  async eof(): Promise<string> {
    const line = await this.#line();
    assert.equal(line, undefined, `expected EOF, got ${line}`);
    await this.closed;
    return decoder.decode(this.#plain);
  }

  /** Upgrades to TLS after the server's 220 to STARTTLS. */
  async startTls(ca: string): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const socket = tls.connect({ socket: plain, ca, servername: "mail.example.com" }, () => {
        socket.off("error", reject);
        resolve(socket);
      });
      socket.once("error", reject);
    });
    this.socket = secure;
    this.#attach(secure);
  }

  async quit(): Promise<void> {
    await this.command("QUIT", 221);
    await this.eof();
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.closed;
  }
}

/** Runs a test body with a fresh server and closes everything afterwards. */
async function withServer(
  options: TestServerOptions,
  body: (server: TestServer) => Promise<void>,
): Promise<TestServer> {
  const server = await startTestServer(options);
  try {
    await body(server);
  } finally {
    await server.close();
  }
  return server;
}

async function ehlo(client: RawClient, name = "client.example.com"): Promise<Reply> {
  return await client.command(`EHLO ${name}`, 250);
}

async function connectAndGreet(server: TestServer): Promise<RawClient> {
  const client = await RawClient.connect(server);
  await client.expect(220, "220 mail.example.com ESMTP");
  await ehlo(client);
  return client;
}

interface AuthResult {
  readonly reply: Reply;
  readonly outcome?: SaslOutcome;
  readonly error?: unknown;
}

/** Runs one AUTH exchange with a saslkit client mechanism, as RFC 4954 describes it. */
async function authenticate(client: RawClient, mechanism: ClientMechanism): Promise<AuthResult> {
  const initial = mechanism.start();
  const argument = initial === undefined ? "" : ` ${initial.length ? encodeBase64(initial) : "="}`;
  client.send(`AUTH ${mechanism.name}${argument}`);
  while (true) {
    const reply = await client.reply();
    if (reply.code !== 334) {
      if (reply.code !== 235) return { reply };
      const outcome = mechanism.finish();
      if (outcome.securityLayer) client.useLayer(outcome.securityLayer);
      return { reply, outcome };
    }
    let response: Uint8Array;
    try {
      response = await mechanism.next(decodeBase64(reply.lines[0]));
    } catch (error) {
      client.send("*");
      return { reply: await client.reply(), error };
    }
    client.send(encodeBase64(response));
  }
}

function digest(
  options: { qop?: Qop[]; ciphers?: DigestCipher[]; maxbuf?: number; password?: string },
) {
  return new DigestMd5Client({
    username: "smtpuser",
    password: options.password ?? "secret",
    service: "smtp",
    host: "mail.example.com",
    qop: options.qop,
    // Cipher names, as the tests write them; every cipher when none are named.
    ciphers: ciphersByName(options.ciphers ?? DIGEST_CIPHERS),
    maxbuf: options.maxbuf,
  });
}

const MESSAGE = "Subject: test\r\n\r\nline one\r\n.leading dot\r\n..two dots\r\n";

/** MAIL, RCPT, DATA with dot-stuffing, through whatever layer the client uses. */
async function sendMessage(client: RawClient, body = MESSAGE): Promise<void> {
  await client.command("MAIL FROM:<sender@example.com>", 250, /^250 2\.1\.0 /);
  await client.command("RCPT TO:<rcpt@example.org>", 250, /^250 2\.1\.5 /);
  await client.command("DATA", 354);
  const stuffed = body.split("\r\n").slice(0, -1).map((line) =>
    line.startsWith(".") ? `.${line}` : line
  );
  client.write(encoder.encode([...stuffed, "."].join("\r\n") + "\r\n"));
  await client.expect(250, /^250 2\.0\.0 \S+ Message accepted for delivery$/);
}

function assertNoSecret(server: TestServer, ...secrets: string[]): void {
  for (const entry of server.transcript) {
    for (const secret of secrets) {
      assert.ok(!entry.line.includes(secret), `transcript leaks a secret: ${entry.line}`);
    }
  }
}

function events(server: TestServer): string[] {
  return server.transcript.filter((entry) => entry.direction === "!").map((entry) => entry.line);
}

// ---- greeting, EHLO and plain SMTP ------------------------------------------------------------

Deno.test("test server: greeting and a Sendmail-like EHLO", async () => {
  await withServer({}, async (server) => {
    assert.equal(server.hostname, "127.0.0.1");
    const client = await RawClient.connect(server);
    await client.expect(220, "220 mail.example.com ESMTP");
    const reply = await ehlo(client);
    assert.equal(reply.lines[0], "mail.example.com Hello client.example.com, pleased to meet you");
    for (const keyword of ["ENHANCEDSTATUSCODES", "PIPELINING", "8BITMIME", "SIZE 10485760"]) {
      assert.ok(reply.lines.includes(keyword), keyword);
    }
    assert.ok(reply.lines.includes("AUTH DIGEST-MD5 CRAM-MD5 LOGIN PLAIN"));
    assert.ok(!reply.lines.some((line) => line.startsWith("AUTH=")));
    assert.ok(!reply.lines.includes("STARTTLS"));
    assert.equal(reply.text, "250 HELP");
    assert.deepEqual(parseEhloAuth(reply.lines), ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"]);
    await client.command("HELO client.example.com", 250, /^250 mail\.example\.com Hello /);
    await client.command("EHLO", 501, "501 5.0.0 EHLO requires domain address");
    await client.command("NOOP", 250, "250 2.0.0 OK");
    await client.command("RSET", 250, "250 2.0.0 Reset state");
    await client.command("FOO bar", 500, `500 5.5.1 Command unrecognized: "FOO bar"`);
    await client.command("STARTTLS", 500, /^500 5\.5\.1 /); // no TLS configured
    await client.quit();
    assert.equal(server.connections, 1);
  });
});

Deno.test("test server: mechanisms in the given order, AUTH= form, or no AUTH at all", async () => {
  await withServer(
    { mechanisms: ["plain", "XOAUTH2", "CRAM-MD5"], authEqualsForm: true, domain: "mx.test" },
    async (server) => {
      const client = await RawClient.connect(server);
      await client.expect(220, "220 mx.test ESMTP");
      const reply = await ehlo(client);
      assert.ok(reply.lines.includes("AUTH PLAIN XOAUTH2 CRAM-MD5"));
      assert.ok(reply.lines.includes("AUTH=PLAIN XOAUTH2 CRAM-MD5"));
      // Advertised, but the test server has no token validator for it.
      await client.command(
        "AUTH XOAUTH2 czNjcjN0VDBr",
        504,
        "504 5.5.4 Unrecognized authentication type",
      );
      await client.command("AUTH LOGIN", 504, "504 5.3.3 AUTH mechanism LOGIN not available");
      await client.quit();
      assertNoSecret(server, "czNjcjN0VDBr", "s3cr3tT0k");
    },
  );
  await withServer({ mechanisms: [], users: {} }, async (server) => {
    const client = await connectAndGreet(server);
    client.send("EHLO again.example.com");
    const reply = await client.expect(250);
    assert.deepEqual(parseEhloAuth(reply.lines), []);
    await client.command("AUTH PLAIN", 503, "503 5.3.3 AUTH not available");
    // Without users nothing requires authentication.
    await sendMessage(client);
    await client.quit();
    assert.equal(server.messages.length, 1);
    assert.equal(server.messages[0].authenticatedAs, undefined);
  });
});

Deno.test("test server: transaction rules and error replies", async () => {
  await withServer({}, async (server) => {
    const client = await RawClient.connect(server);
    await client.expect(220);
    await client.command(
      "MAIL FROM:<a@example.com>",
      503,
      "503 5.0.0 Polite people say HELO first",
    );
    await client.command("AUTH PLAIN", 503, "503 5.3.3 AUTH not available"); // EHLO first
    await ehlo(client);
    await client.command("MAIL FROM:<a@example.com>", 530, "530 5.7.0 Authentication required");
    await client.command("AUTH", 501, "501 5.5.2 AUTH mechanism must be specified");
    const plain = encodeBase64(encoder.encode("\0smtpuser\0secret"));
    await client.command(`AUTH PLAIN ${plain}`, 235, "235 2.0.0 OK Authenticated");
    await client.command(`AUTH PLAIN ${plain}`, 503, "503 5.5.1 Already authenticated");
    const again = await ehlo(client);
    assert.deepEqual(parseEhloAuth(again.lines), [], "no AUTH once authenticated");
    await client.command("RCPT TO:<b@example.com>", 503, "503 5.0.0 Need MAIL before RCPT");
    await client.command("DATA", 503, "503 5.0.0 Need MAIL command");
    await client.command("MAIL FROM:a@example.com", 501, /^501 5\.5\.2 /);
    await client.command(
      "MAIL FROM:<a@example.com> FOO=1",
      555,
      "555 5.5.4 FOO parameter unrecognized",
    );
    await client.command("MAIL FROM:<a@example.com> SIZE=99999999999", 552, /^552 5\.3\.4 /);
    await client.command("MAIL FROM:<a@example.com> SIZE=100 BODY=8BITMIME", 250);
    await client.command("MAIL FROM:<a@example.com>", 503, "503 5.5.0 Sender already specified");
    await client.command("DATA", 503, "503 5.0.0 Need RCPT (recipient)");
    await client.command("RCPT TO:<>", 501, /^501 5\.5\.2 /);
    await client.command("RSET", 250);
    await client.command("RCPT TO:<b@example.com>", 503);
    await client.command("MAIL FROM:<>", 250, "250 2.1.0 <>... Sender ok");
    await client.command("RCPT TO:<b@example.com>", 250);
    await client.command("RCPT TO:<c@example.com>", 250);
    await client.command("DATA", 354, `354 Enter mail, end with "." on a line by itself`);
    client.send("Subject: two");
    client.send("");
    client.send("body");
    client.send(".");
    await client.expect(250);
    await client.quit();
    assert.equal(server.messages.length, 1);
    assert.deepEqual(server.messages[0].to, ["b@example.com", "c@example.com"]);
    assert.equal(server.messages[0].from, "");
    assert.equal(server.messages[0].data, "Subject: two\r\n\r\nbody\r\n");
  });
});

Deno.test("test server: dot-unstuffing, several messages, pipelining, bare LF", async () => {
  await withServer({ requireAuth: false }, async (server) => {
    const client = await connectAndGreet(server);
    await sendMessage(client);
    // A pipelined transaction in one write, with bare LF line ends.
    client.writeRaw(
      encoder.encode(
        "MAIL FROM:<x@example.com>\nRCPT TO:<y@example.com>\nDATA\nhello\n..\n.\nNOOP\n",
      ),
    );
    await client.expect(250);
    await client.expect(250);
    await client.expect(354);
    await client.expect(250);
    await client.expect(250, "250 2.0.0 OK");
    await client.quit();
    assert.equal(server.messages.length, 2);
    assert.equal(server.messages[0].data, MESSAGE);
    assert.equal(server.messages[1].data, "hello\r\n.\r\n");
    assert.equal(server.messages[1].connection, 1);
    assert.equal(server.messages[1].tls, false);
  });
});

Deno.test("test server: message size limit", async () => {
  await withServer({ requireAuth: false, maxMessageSize: 100 }, async (server) => {
    const client = await connectAndGreet(server);
    await client.command("MAIL FROM:<a@example.com> SIZE=101", 552);
    await client.command("MAIL FROM:<a@example.com>", 250);
    await client.command("RCPT TO:<b@example.com>", 250);
    await client.command("DATA", 354);
    client.send("x".repeat(200));
    client.send(".");
    await client.expect(552, "552 5.3.4 Message size exceeds fixed maximum message size");
    await client.quit();
    assert.equal(server.messages.length, 0);
  });
});

Deno.test("test server: long lines get 500, absurd ones a closed connection", async () => {
  await withServer({}, async (server) => {
    const client = await connectAndGreet(server);
    await client.command(`NOOP ${"x".repeat(5000)}`, 500, "500 5.5.2 Line too long");
    await client.command("NOOP", 250);
    client.writeRaw(encoder.encode("x".repeat(70000)));
    await client.expect(500, "500 5.5.2 Line too long");
    await client.eof();
    assert.ok(events(server).includes("connection closed: line too long"));
  });
});

// ---- AUTH -------------------------------------------------------------------------------------

const SUCCESSES: { name: string; make: (password: string) => ClientMechanism }[] = [
  { name: "PLAIN", make: (password) => new PlainClient({ username: "smtpuser", password }) },
  {
    name: "PLAIN with authzid",
    make: (password) =>
      new PlainClient({ username: "smtpuser", password, authorizationId: "smtpuser" }),
  },
  { name: "LOGIN", make: (password) => new LoginClient({ username: "smtpuser", password }) },
  {
    name: "LOGIN with initial response",
    make: (password) => new LoginClient({ username: "smtpuser", password, initialResponse: true }),
  },
  { name: "CRAM-MD5", make: (password) => new CramMd5Client({ username: "smtpuser", password }) },
  { name: "DIGEST-MD5", make: (password) => digest({ password }) },
];

for (const { name, make } of SUCCESSES) {
  Deno.test(`test server: ${name} succeeds, fails with a wrong password, keeps no password`, async () => {
    await withServer({}, async (server) => {
      const client = await connectAndGreet(server);
      const failed = await authenticate(client, make("wrong-password"));
      assert.equal(failed.reply.text, "535 5.7.8 Authentication credentials invalid");
      const result = await authenticate(client, make("secret"));
      assert.equal(result.reply.text, "235 2.0.0 OK Authenticated");
      assert.equal(result.outcome?.qop, "auth");
      await sendMessage(client);
      await client.quit();
      const [message] = server.messages;
      assert.equal(message.authenticatedAs, "smtpuser");
      assert.equal(message.mechanism, name.split(" ")[0]);
      assert.equal(message.qop, "auth");
      assert.equal(message.data, MESSAGE);
      assertNoSecret(server, "secret", "wrong-password");
      assert.ok(server.transcript.every((entry) => !entry.layered));
      assert.ok(events(server).some((line) => line.includes("authentication-failed")));
    });
  });
}

Deno.test("test server: the transcript shows SASL payloads decoded, passwords masked", async () => {
  await withServer({}, async (server) => {
    const client = await connectAndGreet(server);
    await authenticate(client, new PlainClient({ username: "smtpuser", password: "secret" }));
    await client.quit();
    const second = await connectAndGreet(server);
    await authenticate(second, new LoginClient({ username: "smtpuser", password: "secret" }));
    await second.quit();
    const third = await connectAndGreet(server);
    await authenticate(third, new CramMd5Client({ username: "smtpuser", password: "secret" }));
    await third.quit();
    const fourth = await connectAndGreet(server);
    await authenticate(fourth, digest({}));
    await fourth.quit();
    const lines = server.transcript.map((entry) =>
      `${entry.connection} ${entry.direction} ${entry.line}`
    );
    assert.ok(lines.includes("1 C AUTH PLAIN \\x00smtpuser\\x00***"), lines.join("\n"));
    assert.ok(lines.includes("2 C AUTH LOGIN"));
    assert.ok(lines.includes("2 S 334 Username:"));
    assert.ok(lines.includes("2 C smtpuser"));
    assert.ok(lines.includes("2 S 334 Password:"));
    assert.ok(lines.includes("2 C ***"));
    assert.ok(lines.some((line) => /^3 S 334 <\S+@mail\.example\.com>$/.test(line)));
    assert.ok(lines.includes("3 C smtpuser ***"));
    assert.ok(lines.some((line) => /^4 S 334 realm="example\.com",nonce=/.test(line)));
    const response = lines.find((line) => line.startsWith("4 C ") && line.includes("username="));
    assert.match(response!, /username="smtpuser".*response=\*\*\*/);
    assert.match(
      lines.find((line) => line.startsWith("4 S 334 rspauth="))!,
      /^4 S 334 rspauth=[0-9a-f]{32}$/,
    );
    assert.ok(lines.includes("4 C (empty)"), "the empty answer to rspauth");
    assertNoSecret(server, "secret", encodeBase64(encoder.encode("secret")));
    assert.equal(server.connections, 4);
  });
});

Deno.test("test server: PLAIN without initial response gets an empty 334", async () => {
  await withServer({}, async (server) => {
    const client = await connectAndGreet(server);
    await client.command("AUTH PLAIN", 334, "334 ");
    await client.command(encodeBase64(encoder.encode("\0smtpuser\0secret")), 235);
    await client.quit();
  });
});

Deno.test("test server: * cancels, broken base64 gets 501", async () => {
  await withServer({}, async (server) => {
    const client = await connectAndGreet(server);
    await client.command("AUTH login", 334, "334 VXNlcm5hbWU6"); // names are case-insensitive
    await client.command("*", 501, "501 5.0.0 AUTH aborted");
    await client.command("AUTH LOGIN", 334);
    await client.command("not base64!", 501, /^501 5\.5\.2 /);
    await client.command("AUTH PLAIN AHNtdHB1c2VyAHNlY3JldA", 501, /^501 5\.5\.2 /);
    await client.command("AUTH DIGEST-MD5", 334);
    await client.command("*", 501, "501 5.0.0 AUTH aborted");
    await client.command("AUTH CRAM-MD5 =", 535); // CRAM-MD5 has no initial response
    await client.command("AUTH LOGIN c210cHVzZXI=", 334, "334 UGFzc3dvcmQ6");
    await client.command("c2VjcmV0", 235);
    await client.quit();
    assert.ok(server.transcript.some((entry) => entry.line === "<invalid base64>"));
    assertNoSecret(server, "secret", "c2VjcmV0", "AHNtdHB1c2VyAHNlY3JldA");
  });
});

Deno.test("test server: the DIGEST-MD5 challenge is Sendmail's", async () => {
  await withServer({}, async (server) => {
    const client = await connectAndGreet(server);
    const reply = await client.command("AUTH DIGEST-MD5", 334);
    const challenge = decoder.decode(decodeBase64(reply.lines[0]));
    assert.match(
      challenge,
      /^realm="example\.com",nonce="[^"]+",qop="auth,auth-int,auth-conf",cipher="rc4-40,rc4-56,rc4,des,3des",maxbuf=8192,charset=utf-8,algorithm=md5-sess$/,
    );
    await client.command("*", 501);
    await client.quit();
  });
});

Deno.test("test server: digest-uri may name the domain, the address or localhost", async () => {
  await withServer({}, async (server) => {
    for (const [host, code] of [["127.0.0.1", 235], ["localhost", 235], ["other.example", 535]]) {
      const client = await connectAndGreet(server);
      const mechanism = new DigestMd5Client({
        username: "smtpuser",
        password: "secret",
        service: "smtp",
        host: host as string,
      });
      assert.equal((await authenticate(client, mechanism)).reply.code, code);
      await client.quit();
    }
  });
});

Deno.test("test server: AUTH is refused inside a mail transaction", async () => {
  await withServer({ requireAuth: false }, async (server) => {
    const client = await connectAndGreet(server);
    await client.command("MAIL FROM:<a@example.com>", 250);
    await client.command(
      "AUTH PLAIN =",
      503,
      "503 5.5.1 AUTH not permitted during a mail transaction",
    );
    await client.quit();
  });
});

// ---- behaviour flags --------------------------------------------------------------------------

Deno.test("behaviour: rejectAdvertised and tooWeak", async () => {
  await withServer(
    { behaviour: { rejectAdvertised: ["digest-md5"], tooWeak: ["PLAIN", "LOGIN"] } },
    async (server) => {
      const client = await connectAndGreet(server);
      assert.equal(
        (await authenticate(client, digest({}))).reply.text,
        "504 5.5.4 Unrecognized authentication type",
      );
      const plain = new PlainClient({ username: "smtpuser", password: "secret" });
      assert.equal(
        (await authenticate(client, plain)).reply.text,
        "534 5.7.9 Authentication mechanism is too weak",
      );
      const login = new LoginClient({ username: "smtpuser", password: "secret" });
      assert.equal((await authenticate(client, login)).reply.code, 534);
      const cram = new CramMd5Client({ username: "smtpuser", password: "secret" });
      assert.equal((await authenticate(client, cram)).reply.code, 235);
      await client.quit();
      assertNoSecret(server, "secret");
    },
  );
});

Deno.test("behaviour: tempFail counts across connections, then AUTH works", async () => {
  await withServer({ behaviour: { tempFail: { "CRAM-MD5": 2 } } }, async (server) => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const client = await connectAndGreet(server);
      const cram = new CramMd5Client({ username: "smtpuser", password: "secret" });
      assert.equal(
        (await authenticate(client, cram)).reply.text,
        "454 4.7.0 Temporary authentication failure",
      );
      await client.quit();
    }
    const client = await connectAndGreet(server);
    const cram = new CramMd5Client({ username: "smtpuser", password: "secret" });
    assert.equal((await authenticate(client, cram)).reply.code, 235);
    await client.quit();
    assert.equal(server.connections, 3);
  });
});

Deno.test("behaviour: dropAfterAuth closes at the next command, without a reply", async () => {
  await withServer({ behaviour: { dropAfterAuth: ["PLAIN"] } }, async (server) => {
    const client = await connectAndGreet(server);
    const plain = new PlainClient({ username: "smtpuser", password: "secret" });
    assert.equal((await authenticate(client, plain)).reply.code, 235);
    client.send("MAIL FROM:<a@example.com>");
    assert.equal(await client.eof(), "");
    assert.ok(events(server).includes("connection closed after AUTH (behaviour.dropAfterAuth)"));
    // Only the named mechanisms are affected.
    const other = await connectAndGreet(server);
    await authenticate(other, new LoginClient({ username: "smtpuser", password: "secret" }));
    await sendMessage(other);
    await other.quit();
  });
});

Deno.test("behaviour: dropDuringAuth closes mid-exchange", async () => {
  await withServer({ behaviour: { dropDuringAuth: ["DIGEST-MD5", "PLAIN"] } }, async (server) => {
    const client = await connectAndGreet(server);
    await assert.rejects(authenticate(client, digest({})), /connection closed/);
    await client.closed;
    const second = await connectAndGreet(server);
    await assert.rejects(
      authenticate(second, new PlainClient({ username: "smtpuser", password: "secret" })),
      /connection closed/,
    );
    await second.closed;
    const third = await connectAndGreet(server);
    await third.command("AUTH PLAIN", 334, "334 ");
    third.send(encodeBase64(encoder.encode("\0smtpuser\0secret")));
    await third.eof();
    assert.equal(
      events(server).filter((line) => line.includes("behaviour.dropDuringAuth")).length,
      3,
    );
    assertNoSecret(server, "secret");
  });
});

Deno.test("behaviour: wrongRspauth makes the client refuse the server", async () => {
  await withServer({ behaviour: { wrongRspauth: true } }, async (server) => {
    const client = await connectAndGreet(server);
    const result = await authenticate(client, digest({}));
    assert.equal((result.error as { code?: string }).code, "server-verification-failed");
    assert.equal(result.reply.text, "501 5.0.0 AUTH aborted");
    await client.command("MAIL FROM:<a@example.com>", 530);
    await client.quit();
  });
});

Deno.test("behaviour: ignoreLayer agrees on auth-int but keeps speaking plaintext", async () => {
  await withServer({ behaviour: { ignoreLayer: true } }, async (server) => {
    const client = await connectAndGreet(server);
    const mechanism = digest({ qop: ["auth-int"] });
    const initial = mechanism.start();
    assert.equal(initial, undefined);
    const challenge = await client.command("AUTH DIGEST-MD5", 334);
    client.send(encodeBase64(mechanism.next(decodeBase64(challenge.lines[0]))));
    const rspauth = await client.expect(334);
    client.send(encodeBase64(mechanism.next(decodeBase64(rspauth.lines[0]))));
    await client.expect(235);
    assert.equal(mechanism.finish().qop, "auth-int");
    // The buggy server answers plaintext with plaintext.
    await sendMessage(client);
    await client.quit();
    assert.equal(server.messages[0].qop, "auth-int");
    assert.ok(events(server).some((line) => line.includes("behaviour.ignoreLayer")));
  });
});

// ---- security layers --------------------------------------------------------------------------

const LAYERS: { qop: "auth-int" | "auth-conf"; cipher?: DigestCipher }[] = [
  { qop: "auth-int" },
  ...(["rc4", "3des", "rc4-56", "des", "rc4-40"] as const).map((cipher) => ({
    qop: "auth-conf" as const,
    cipher,
  })),
];

for (const { qop, cipher } of LAYERS) {
  Deno.test(`layer: DIGEST-MD5 ${qop}${cipher ? ` ${cipher}` : ""} wraps MAIL, RCPT, DATA and replies`, async () => {
    await withServer({}, async (server) => {
      const client = await connectAndGreet(server);
      const result = await authenticate(
        client,
        digest({ qop: [qop], ciphers: cipher ? [cipher] : undefined }),
      );
      assert.equal(result.reply.text, "235 2.0.0 OK Authenticated");
      assert.equal(result.outcome?.qop, qop);
      assert.equal(result.outcome?.cipher, cipher);
      const before = client.wire.length;
      const again = await ehlo(client);
      assert.equal(again.text, "250 HELP");
      await sendMessage(client);
      await client.command("NOOP", 250, "250 2.0.0 OK");
      await client.quit();

      const [message] = server.messages;
      assert.equal(message.data, MESSAGE);
      assert.equal(message.qop, qop);
      assert.equal(message.mechanism, "DIGEST-MD5");
      // Everything after the 235 crossed inside the layer, in both directions.
      const index = server.transcript.findIndex((e) => e.line === "235 2.0.0 OK Authenticated");
      const after = server.transcript.slice(index + 1).filter((e) => e.direction !== "!");
      assert.ok(after.length > 10);
      assert.ok(after.every((entry) => entry.layered));
      assert.ok(server.transcript.slice(0, index + 1).every((entry) => !entry.layered));
      assert.ok(
        events(server).includes(`security layer ${qop}${cipher ? ` (${cipher})` : ""} in effect`),
      );
      // On the wire, replies are framed: a length the server's reply text cannot start with.
      const wire = client.wire.slice(before).reduce(concat);
      assert.equal(wire[0], 0);
      if (qop === "auth-conf") {
        assert.ok(!decoder.decode(wire).includes("Recipient ok"), "auth-conf hides replies");
      } else {
        assert.ok(decoder.decode(wire).includes("Recipient ok"), "auth-int only signs");
      }
    });
  });
}

Deno.test("layer: commands pipelined right after the last AUTH response are unwrapped", async () => {
  await withServer({}, async (server) => {
    const client = await connectAndGreet(server);
    const mechanism = digest({ qop: ["auth-conf"], ciphers: ["3des"] });
    mechanism.start();
    const challenge = await client.command("AUTH DIGEST-MD5", 334);
    client.send(encodeBase64(mechanism.next(decodeBase64(challenge.lines[0]))));
    const rspauth = await client.expect(334);
    mechanism.next(decodeBase64(rspauth.lines[0]));
    const layer = mechanism.finish().securityLayer!;
    // The empty response and the first wrapped command in one write.
    const wrapped = frame(layer.wrap(encoder.encode("NOOP\r\n")));
    client.writeRaw(concat(encoder.encode("\r\n"), wrapped));
    await client.expect(235);
    client.useLayer(layer);
    await client.expect(250, "250 2.0.0 OK");
    await client.quit();
  });
});

Deno.test("layer: replies larger than the client's maxbuf are split into several buffers", async () => {
  await withServer({}, async (server) => {
    const client = await connectAndGreet(server);
    const result = await authenticate(client, digest({ qop: ["auth-int"], maxbuf: 64 }));
    assert.equal(result.outcome?.securityLayer?.maxIncomingSize, 64);
    const before = client.wire.length;
    const reply = await ehlo(client, "a-rather-long-client-name.example.com");
    assert.ok(reply.lines.length >= 5);
    const wire = client.wire.slice(before).reduce(concat);
    assert.ok(wire.length > 3 * 64, "several frames");
    await client.quit();
  });
});

Deno.test("layer: a plaintext command after auth-conf makes the server drop the connection", async () => {
  await withServer({}, async (server) => {
    const client = await connectAndGreet(server);
    const mechanism = digest({ qop: ["auth-conf"] });
    const result = await authenticate(client, mechanism);
    assert.equal(result.outcome?.qop, "auth-conf");
    assert.equal(result.outcome?.cipher, "rc4");
    // What Net::SMTP does: keep speaking plaintext.
    client.writeRaw(encoder.encode("MAIL FROM:<a@example.com>\r\n"));
    assert.equal(await client.eof(), "", "0 bytes, then EOF");
    const failure = events(server).find((line) => line.startsWith("AUTH: sasl_decode error"));
    assert.ok(failure?.includes("1296124236"), failure);
    assert.ok(failure?.includes("8192"), failure);
    assert.ok(failure?.includes(`"MAIL"`), failure);
    assert.ok(events(server).includes("lost input channel after auth"));
    assert.equal(server.messages.length, 0);
  });
});

Deno.test("layer: a tampered buffer makes the server drop the connection", async () => {
  await withServer({}, async (server) => {
    const client = await connectAndGreet(server);
    const result = await authenticate(client, digest({ qop: ["auth-int"] }));
    const wire = client.encode(encoder.encode("NOOP\r\n"));
    wire[5] ^= 1;
    client.writeRaw(wire);
    await client.eof();
    assert.ok(events(server).includes("AUTH: sasl_decode error: integrity-check-failed"));
    assert.ok(result.outcome);
  });
});

Deno.test("layer: the server's maxbuf option is what DIGEST-MD5 offers and enforces", async () => {
  await withServer({ maxbuf: 1024, digestQop: ["auth-int"] }, async (server) => {
    const client = await connectAndGreet(server);
    const reply = await client.command("AUTH DIGEST-MD5", 334);
    const challenge = decoder.decode(decodeBase64(reply.lines[0]));
    assert.match(challenge, /qop="auth-int",maxbuf=1024,/);
    await client.command("*", 501);
    const result = await authenticate(client, digest({ qop: ["auth-int"] }));
    assert.ok(result.outcome!.securityLayer!.maxPlaintextSize < 1024);
    // A frame longer than 1024 is refused before its bytes arrive.
    client.writeRaw(new Uint8Array([0, 0, 4, 1]));
    await client.eof();
    assert.ok(events(server).some((line) => line.includes("1025")));
  });
});

// ---- connections ------------------------------------------------------------------------------

Deno.test("test server: idle connections get 421 and are closed", async () => {
  await withServer({ idleTimeoutMs: 100 }, async (server) => {
    const client = await connectAndGreet(server);
    await client.expect(421, "421 4.4.2 mail.example.com timeout waiting for input");
    await client.eof();
    assert.ok(events(server).includes("idle timeout"));
  });
});

Deno.test("test server: close() ends open connections", async () => {
  const server = await startTestServer();
  const client = await connectAndGreet(server);
  const other = await RawClient.connect(server);
  await server.close();
  await client.closed;
  await other.closed;
  await server.close(); // idempotent
  assert.equal(server.connections, 2);
});

Deno.test("test server: loopback only, and options are checked", async () => {
  await assert.rejects(startTestServer({ hostname: "0.0.0.0" }), TypeError);
  await assert.rejects(startTestServer({ hostname: "192.168.1.1" }), TypeError);
  await assert.rejects(startTestServer({ maxbuf: 16 }), TypeError);
  await assert.rejects(startTestServer({ mechanisms: ["NOT A NAME"] }), TypeError);
  await assert.rejects(startTestServer({ behaviour: { tempFail: { PLAIN: -1 } } }), TypeError);
});

// ---- STARTTLS ---------------------------------------------------------------------------------

// A throwaway self-signed certificate; without openssl (or --allow-run) the TLS test is skipped.
async function makeCertificate(): Promise<{ key: string; cert: string } | undefined> {
  try {
    const output = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "/dev/stdout",
        "-out",
        "/dev/stdout",
        "-days",
        "1",
        "-subj",
        "/CN=mail.example.com",
        "-addext",
        "subjectAltName=DNS:mail.example.com",
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    const pem = decoder.decode(output.stdout);
    const key = /-----BEGIN PRIVATE KEY-----[^]*?-----END PRIVATE KEY-----\n/.exec(pem)?.[0];
    const cert = /-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----\n/.exec(pem)?.[0];
    return output.success && key && cert ? { key, cert } : undefined;
  } catch {
    return undefined;
  }
}

const certificate = await makeCertificate();

Deno.test({
  name: "STARTTLS: upgrade, EHLO again, AUTH PLAIN inside TLS",
  ignore: certificate === undefined,
  fn: async () => {
    await withServer({ tls: certificate }, async (server) => {
      const client = await RawClient.connect(server);
      await client.expect(220);
      const before = await ehlo(client);
      assert.ok(before.lines.includes("STARTTLS"));
      await client.command("MAIL FROM:<a@example.com>", 530);
      await client.command("STARTTLS", 220, "220 2.0.0 Ready to start TLS");
      await client.startTls(certificate!.cert);
      await client.command("MAIL FROM:<a@example.com>", 503, /HELO first/);
      const after = await ehlo(client);
      assert.ok(!after.lines.includes("STARTTLS"));
      await client.command("STARTTLS", 503, "503 5.5.0 TLS already active");
      await authenticate(client, new PlainClient({ username: "smtpuser", password: "secret" }));
      await sendMessage(client);
      await client.quit();
      assert.equal(server.messages[0].tls, true);
      assert.ok(events(server).includes("TLS started"));
      assertNoSecret(server, "secret");
    });
  },
});

Deno.test("onMessage sees each message with its queue id; a listener that throws changes nothing", async () => {
  const seen: string[] = [];
  const server = await startTestServer({
    requireAuth: false,
    onMessage: (message) => {
      seen.push(`${message.queueId} ${message.to.join(",")}`);
      throw new Error("listener bug");
    },
  });
  try {
    const session = await SmtpSession.open(
      await connectTcp({ host: server.hostname, port: server.port }),
      { timeoutMs: 3000 },
    );
    await session.ehlo("client.example.com");
    for (const to of ["b@example.com", "c@example.com"]) {
      const sent = await session.sendMail({ from: "a@example.com", to, data: "x\r\n" });
      assert.equal(sent.queueId, server.messages.at(-1)!.queueId);
    }
    await session.quit();
    assert.deepEqual(seen, ["5AQK00000001 b@example.com", "5AQK00000002 c@example.com"]);
    await assert.rejects(
      startTestServer({ onMessage: "log" as unknown as () => void }),
      /onMessage must be a function/,
    );
  } finally {
    await server.close();
  }
});
