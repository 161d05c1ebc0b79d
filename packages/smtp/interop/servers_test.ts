// The SMTP test peers of servers.ts, checked with a raw SMTP client, swaks and Perl's Net::SMTP:
// each server starts, offers what saslkit's tests rely on, authenticates real clients with every
// mechanism, queues what it accepts, and Sendmail reproduces the motivating bug (Net::SMTP agrees
// to a DIGEST-MD5 security layer, gets 235, and loses the connection at MAIL FROM).
//
// Needs what scripts/peers/mail.sh installs (root, Debian): without it the tests fail under
// CI=true and are skipped, loudly, elsewhere.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createConnection, type Socket } from "node:net";
import {
  type PeerUser,
  requirePeer,
  type SmtpPeer,
  startPostfixDovecot,
  startSendmail,
} from "./servers.ts";
import { runPerlRepro } from "./_live/logs.ts";

const MECHANISMS = ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5"] as const;
const FIVE_CIPHERS = ["3des", "des", "rc4", "rc4-40", "rc4-56"];
const USERS = [
  { username: "smtpuser", password: "secret" },
  { username: "jürgen", password: "pässwörd" },
];

/** A reply: its code and its lines without the code. */
interface Reply {
  code: number;
  lines: string[];
}

/** Just enough SMTP to look at what a server offers; every read has a deadline. */
class RawSmtp {
  readonly #socket: Socket;
  #buffer = "";
  #closed = false;
  #wake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      this.#wake?.();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on("error", () => {});
  }

  static connect(port: number): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: "127.0.0.1", port });
      socket.once("connect", () => resolve(new RawSmtp(socket)));
      socket.once("error", reject);
    });
  }

  async reply(timeoutMs = 10000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    const lines: string[] = [];
    for (;;) {
      const end = this.#buffer.indexOf("\r\n");
      if (end >= 0) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const match = /^(\d{3})([ -])(.*)$/.exec(line);
        if (!match) throw new Error(`not an SMTP reply line: ${JSON.stringify(line)}`);
        lines.push(match[3]);
        if (match[2] === " ") return { code: Number(match[1]), lines };
        continue;
      }
      if (this.#closed) throw new Error("connection closed while waiting for a reply");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  async command(line: string): Promise<Reply> {
    this.#socket.write(`${line}\r\n`);
    return await this.reply();
  }

  close(): void {
    this.#socket.destroy();
  }
}

async function withSmtp<T>(peer: SmtpPeer, fn: (smtp: RawSmtp) => Promise<T>): Promise<T> {
  const smtp = await RawSmtp.connect(peer.port);
  try {
    assert.equal((await smtp.reply()).code, 220);
    return await fn(smtp);
  } finally {
    smtp.close();
  }
}

/** The EHLO reply lines. */
function ehlo(peer: SmtpPeer): Promise<string[]> {
  return withSmtp(peer, async (smtp) => {
    const reply = await smtp.command("EHLO client.example.com");
    assert.equal(reply.code, 250);
    await smtp.command("QUIT");
    return reply.lines;
  });
}

/** The decoded DIGEST-MD5 challenge, after which the exchange is cancelled. */
function digestChallenge(peer: SmtpPeer): Promise<Map<string, string>> {
  return withSmtp(peer, async (smtp) => {
    assert.equal((await smtp.command("EHLO client.example.com")).code, 250);
    const reply = await smtp.command("AUTH DIGEST-MD5");
    assert.equal(reply.code, 334);
    const text = new TextDecoder().decode(
      Uint8Array.from(atob(reply.lines[0]), (c) => c.charCodeAt(0)),
    );
    assert.equal((await smtp.command("*")).code, 501);
    await smtp.command("QUIT");
    const directives = new Map<string, string>();
    for (const match of text.matchAll(/([a-z-]+)=("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
      directives.set(match[1], match[2].replace(/^"(.*)"$/, "$1"));
    }
    directives.set("", text);
    return directives;
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(program: string, args: string[], timeoutMs = 30000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(program, args, { timeout: timeoutMs, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr: stderr + (error && code === null ? `\n${error}` : "") });
    });
  });
}

function swaks(peer: SmtpPeer, user: PeerUser, mechanism: string, extra: string[]): Promise<Run> {
  return run("swaks", [
    "--server",
    `127.0.0.1:${peer.port}`,
    "--auth",
    mechanism,
    "--auth-user",
    user.username,
    "--auth-password",
    user.password,
    "--ehlo",
    "client.example.com",
    "--to",
    "a@example.com",
    "--from",
    "b@example.com",
    "--timeout",
    "15",
    ...extra,
  ]);
}

async function assertSwaksAuth(peer: SmtpPeer, user: PeerUser, mechanism: string): Promise<void> {
  const result = await swaks(peer, user, mechanism, ["--quit-after", "AUTH"]);
  assert.equal(
    result.code,
    0,
    `swaks --auth ${mechanism} as ${user.username}: exit ${result.code}\n${result.stdout}${result.stderr}`,
  );
  assert.match(result.stdout, /^<[-~] +235 /m);
}

/** A full message through swaks, found afterwards in the queue. */
async function assertSwaksQueued(peer: SmtpPeer): Promise<void> {
  const subject = `saslkit queued ${crypto.randomUUID()}`;
  const result = await swaks(peer, peer.users[0], "PLAIN", [
    "--header",
    `Subject: ${subject}`,
    "--body",
    "queued by servers_test.ts",
  ]);
  assert.equal(result.code, 0, `swaks send: exit ${result.code}\n${result.stdout}${result.stderr}`);
  const queued = await peer.queuedMessages();
  const mine = queued.filter((text) => text.includes(subject));
  assert.equal(mine.length, 1, `queue has ${queued.length} message(s), none with ${subject}`);
  assert.match(mine[0], /queued by servers_test\.ts/);
}

/** The server log, once it contains `needle` (syslog lines arrive a moment late). */
async function logWith(peer: SmtpPeer, needle: string, timeoutMs = 3000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await peer.log();
    if (log.includes(needle) || Date.now() > deadline) return log;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function tail(peer: SmtpPeer): Promise<string> {
  return (await peer.log()).split("\n").slice(-40).join("\n");
}

Deno.test({
  name: "sendmail + Cyrus SASL (security layers on)",
  ...requirePeer("sendmail"),
  fn: async (t) => {
    const started = performance.now();
    const peer = await startSendmail();
    console.log(
      `  sendmail up on port ${peer.port} in ${Math.round(performance.now() - started)} ms`,
    );
    try {
      await t.step("EHLO offers AUTH DIGEST-MD5 CRAM-MD5 LOGIN PLAIN", async () => {
        const lines = await ehlo(peer);
        assert.ok(lines.includes("AUTH DIGEST-MD5 CRAM-MD5 LOGIN PLAIN"), lines.join("\n"));
      });

      await t.step("the DIGEST-MD5 challenge offers every qop and five ciphers", async () => {
        const challenge = await digestChallenge(peer);
        assert.equal(challenge.get("realm"), "example.com");
        assert.equal(challenge.get("qop"), "auth,auth-int,auth-conf");
        assert.deepEqual(challenge.get("cipher")?.split(",").sort(), FIVE_CIPHERS);
        assert.equal(challenge.get("maxbuf"), "8192");
        assert.equal(challenge.get("algorithm"), "md5-sess");
        // Byte for byte the report's challenge, but for the nonce.
        assert.match(
          challenge.get("")!,
          /^nonce="[^"]+",realm="example\.com",qop="auth,auth-int,auth-conf",cipher="rc4-40,rc4-56,rc4,des,3des",maxbuf=8192,charset=utf-8,algorithm=md5-sess$/,
        );
      });

      await t.step("knows smtpuser and the non-ASCII jürgen", () => {
        assert.deepEqual(peer.users, USERS);
        assert.equal(peer.realm, "example.com");
      });

      for (const mechanism of MECHANISMS) {
        await t.step(`swaks authenticates with ${mechanism}`, async () => {
          for (const user of peer.users) await assertSwaksAuth(peer, user, mechanism);
        });
      }

      await t.step("a message sent with swaks lands in the queue", () => assertSwaksQueued(peer));

      await t.step("Net::SMTP agrees to auth-conf, gets 235, and loses MAIL FROM", async () => {
        const result = await runPerlRepro(peer);
        const detail = `${JSON.stringify(result)}\n${await tail(peer)}`;
        assert.equal(result.mechanism, "DIGEST-MD5", detail);
        assert.equal(result.qop, "auth-conf", detail);
        assert.equal(result.cipher, "rc4", detail);
        assert.equal(result.auth?.ok, true, detail);
        assert.equal(result.auth?.code, "235", detail);
        assert.equal(result.mail?.ok, false, detail);
        assert.equal(result.mail?.connected, false, detail);
        assert.equal(result.sent, false, detail);
        const log = await logWith(peer, "sasl_decode error");
        // "MAIL" read as the layer's 4-byte length: 0x4D41494C.
        assert.match(log, /encoded packet size too big \(1296124236 > 8192\)/);
        assert.match(log, /AUTH: sasl_decode error=-1/);
        assert.match(log, /lost input channel .* after auth/);
      });

      await t.step("Net::SMTP with maxssf 0 gets qop=auth and sends", async () => {
        const result = await runPerlRepro(peer, ["--maxssf", "0"]);
        const detail = `${JSON.stringify(result)}\n${await tail(peer)}`;
        assert.equal(result.mechanism, "DIGEST-MD5", detail);
        assert.equal(result.qop, "auth", detail);
        assert.equal(result.mail?.ok, true, detail);
        assert.equal(result.sent, true, detail);
        const queued = await peer.queuedMessages();
        assert.ok(queued.some((text) => text.includes("Subject: net_smtp_repro")), detail);
      });
    } finally {
      await peer.stop();
    }
  },
});

Deno.test({
  name: "sendmail + Cyrus SASL (confAUTH_MAX_BITS 0)",
  ...requirePeer("sendmail"),
  fn: async (t) => {
    const peer = await startSendmail({ layers: false });
    try {
      await t.step("the DIGEST-MD5 challenge offers only qop=auth", async () => {
        const challenge = await digestChallenge(peer);
        assert.equal(challenge.get("qop"), "auth");
        assert.equal(challenge.get("cipher"), undefined);
      });

      await t.step("Net::SMTP with its defaults gets qop=auth and sends", async () => {
        const result = await runPerlRepro(peer);
        const detail = `${JSON.stringify(result)}\n${await tail(peer)}`;
        assert.equal(result.qop, "auth", detail);
        assert.equal(result.sent, true, detail);
      });
    } finally {
      await peer.stop();
    }
  },
});

Deno.test({
  name: "postfix + Dovecot SASL",
  ...requirePeer("postfix"),
  fn: async (t) => {
    const started = performance.now();
    const peer = await startPostfixDovecot();
    console.log(
      `  postfix up on port ${peer.port} in ${Math.round(performance.now() - started)} ms`,
    );
    try {
      await t.step("knows smtpuser and the non-ASCII jürgen", () => {
        assert.deepEqual(peer.users, USERS);
        assert.equal(peer.realm, "example.com");
      });

      await t.step("EHLO offers AUTH and AUTH= with four mechanisms", async () => {
        const lines = await ehlo(peer);
        assert.ok(lines.includes("AUTH PLAIN LOGIN CRAM-MD5 DIGEST-MD5"), lines.join("\n"));
        assert.ok(lines.includes("AUTH=PLAIN LOGIN CRAM-MD5 DIGEST-MD5"), lines.join("\n"));
        assert.ok(!lines.includes("STARTTLS"), lines.join("\n"));
      });

      await t.step("Dovecot's DIGEST-MD5 challenge offers qop=auth, no ciphers", async () => {
        const challenge = await digestChallenge(peer);
        assert.equal(challenge.get("realm"), "example.com");
        assert.equal(challenge.get("qop"), "auth");
        assert.equal(challenge.get("cipher"), undefined);
        assert.equal(challenge.get("algorithm"), "md5-sess");
      });

      for (const mechanism of MECHANISMS) {
        await t.step(`swaks authenticates with ${mechanism}`, async () => {
          for (const user of peer.users) await assertSwaksAuth(peer, user, mechanism);
        });
      }

      await t.step("a message sent with swaks lands in the queue", () => assertSwaksQueued(peer));

      await t.step("an unauthenticated client cannot send", async () => {
        await withSmtp(peer, async (smtp) => {
          assert.equal((await smtp.command("EHLO client.example.com")).code, 250);
          assert.equal((await smtp.command("MAIL FROM:<b@example.com>")).code, 250);
          const rcpt = await smtp.command("RCPT TO:<a@example.com>");
          assert.equal(rcpt.code, 554, rcpt.lines.join("\n"));
          await smtp.command("QUIT");
        });
      });

      await t.step("a wrong password is refused", async () => {
        const result = await swaks(peer, { username: "smtpuser", password: "wrong" }, "PLAIN", [
          "--quit-after",
          "AUTH",
        ]);
        assert.notEqual(result.code, 0);
        assert.match(result.stdout, /^<\*\* +535 /m);
      });
    } finally {
      await peer.stop();
    }
  },
});
