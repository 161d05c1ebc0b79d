// Bounds (issue 10) of the client session: hostile servers get a typed error at once, and what
// the session does per reply or per frame does not grow with what the server sends.
import assert from "node:assert/strict";
import * as net from "node:net";
import {
  type ClientMechanism,
  decodeBase64,
  DigestMd5Client,
  DigestMd5Server,
  encodeBase64,
  frame,
  SaslError,
  type SaslErrorCode,
  type SaslOutcome,
  type SecurityLayer,
} from "@saslkit/sasl";
import { SmtpSession } from "./session.ts";
import { SmtpError } from "./error.ts";
import { connectTcp } from "./transport.ts";
import type { TranscriptEntry } from "./transcript.ts";

const encoder = new TextEncoder();
const MIB = 1 << 20;

/**
 * A raw server: `onLine` sees each CRLF line until it returns "raw", after which `onRaw` sees
 * every later chunk as it comes.
 */
async function rawServer(
  onLine: (line: string, socket: net.Socket) => void | "raw",
  onRaw: (chunk: Uint8Array, socket: net.Socket) => void = () => {},
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.write("220 raw.example.com ESMTP\r\n");
    let buffer = "";
    let raw = false;
    socket.on("data", (chunk: Uint8Array) => {
      if (raw) return onRaw(chunk, socket);
      buffer += Buffer.from(chunk).toString("latin1");
      let index;
      while (!raw && (index = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, index);
        buffer = buffer.slice(index + 2);
        if (onLine(line, socket) === "raw") raw = true;
      }
    });
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

const open = (port: number, transcript?: (entry: TranscriptEntry) => void) =>
  connectTcp({ host: "127.0.0.1", port }).then((t) =>
    SmtpSession.open(t, { timeoutMs: 5000, transcript })
  );

/** A layer-violation error of the session, caused by a SaslError with this code. */
function layerFailure(code: SaslErrorCode, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof SmtpError, `not an SmtpError: ${error}`);
    assert.equal(error.code, "protocol", error.message);
    assert.ok(error.cause instanceof SaslError, `cause: ${error.cause}`);
    assert.equal(error.cause.code, code, error.cause.message);
    if (message) assert.match(error.cause.message, message);
    return true;
  };
}

/**
 * A DIGEST-MD5 server with qop=auth-int that, after its 235, sends `after` (in the same write
 * when `sameWrite`, otherwise once the client sends its first wrapped command).
 */
function digestServer(after: Uint8Array, sameWrite: boolean) {
  const mechanism = new DigestMd5Server({
    service: "smtp",
    host: "mail.example.com",
    realms: ["example.com"],
    qop: ["auth-int"],
    credentials: (user) => user === "smtpuser" ? { password: "secret" } : undefined,
  });
  let step = 0;
  return rawServer((line, socket) => {
    if (step === 0 && line === "AUTH DIGEST-MD5") {
      step = 1;
      socket.write(`334 ${encodeBase64(mechanism.next(undefined).challenge!)}\r\n`);
    } else if (step === 1) {
      step = 2;
      const final = mechanism.next(decodeBase64(line));
      socket.write(`334 ${encodeBase64(final.challenge!)}\r\n`);
    } else if (step === 2 && line === "") {
      const ok = encoder.encode("235 2.0.0 OK Authenticated\r\n");
      if (sameWrite) {
        const both = new Uint8Array(ok.length + after.length);
        both.set(ok);
        both.set(after, ok.length);
        socket.write(both);
      } else {
        socket.write(ok);
      }
      return "raw";
    } else {
      socket.write("500 unexpected\r\n");
    }
  }, (_chunk, socket) => {
    if (!sameWrite) socket.write(after);
  });
}

const digestClient = () =>
  new DigestMd5Client({
    username: "smtpuser",
    password: "secret",
    service: "smtp",
    host: "mail.example.com",
    qop: ["auth-int"],
  });

Deno.test("235 then 1 MiB of zero bytes in the same write: authenticate() fails at the first frame", async () => {
  const server = await digestServer(new Uint8Array(MIB), true);
  try {
    const session = await open(server.port);
    // The decoder refuses the first 0-byte frame by its length: the layer's own "too short"
    // check, which a decoder that cut all 262,144 frames first would reach, never runs.
    await assert.rejects(
      session.authenticate(digestClient()),
      layerFailure("integrity-check-failed", /0 bytes is shorter than the minimum of 16/),
    );
    assert.ok(session.closed);
  } finally {
    await server.close();
  }
});

Deno.test("235, then 1 MiB of zero bytes after the first command: that command fails at the first frame", async () => {
  const server = await digestServer(new Uint8Array(MIB), false);
  try {
    const session = await open(server.port);
    const outcome = await session.authenticate(digestClient());
    assert.equal(outcome.qop, "auth-int");
    await assert.rejects(
      session.noop(),
      layerFailure("integrity-check-failed", /0 bytes is shorter than the minimum of 16/),
    );
    assert.ok(session.closed);
  } finally {
    await server.close();
  }
});

/** A mechanism that succeeds at once with a layer that logs what it unwraps. */
function countingMechanism(minIncomingSize?: number) {
  const unwrapped: Uint8Array[] = [];
  const layer: SecurityLayer = {
    qop: "auth-int",
    maxPlaintextSize: 1000,
    maxIncomingSize: 65536,
    minIncomingSize,
    wrap: (plaintext) => plaintext.slice(),
    unwrap: (buffer) => {
      unwrapped.push(buffer.slice());
      return new Uint8Array(0);
    },
  };
  const mechanism: ClientMechanism = {
    name: "X-COUNTING",
    properties: {
      sendsCleartextPassword: false,
      verifiesServer: false,
      offersSecurityLayer: true,
      clientFirst: true,
      channelBinding: false,
      carriesAuthorizationId: false,
    },
    start: () => new Uint8Array(0),
    next: () => {
      throw new SaslError("invalid-state", "no challenge expected");
    },
    finish: (): SaslOutcome => ({ mechanism: "X-COUNTING", qop: "auth-int", securityLayer: layer }),
  };
  return { mechanism, unwrapped };
}

function answer235(after: Uint8Array) {
  return rawServer((line, socket) => {
    if (line !== "AUTH X-COUNTING =") return void socket.write("500 unexpected\r\n");
    const ok = encoder.encode("235 2.0.0 OK\r\n");
    const both = new Uint8Array(ok.length + after.length);
    both.set(ok);
    both.set(after, ok.length);
    socket.write(both);
    return "raw";
  });
}

Deno.test("frames are unwrapped as they are cut: those before a bad length are not dropped", async () => {
  const a = new Uint8Array(16).fill(0xa1);
  const b = new Uint8Array(20).fill(0xb2);
  // Two good frames, a length over maxIncomingSize, then 1 MiB that must never be looked at.
  const parts = [frame(a), frame(b), Uint8Array.of(0xff, 0xff, 0xff, 0xff), new Uint8Array(MIB)];
  const after = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((offset, p) => (after.set(p, offset), offset + p.length), 0);
  const server = await answer235(after);
  try {
    const session = await open(server.port);
    const { mechanism, unwrapped } = countingMechanism(16);
    await assert.rejects(
      session.authenticate(mechanism),
      layerFailure("buffer-too-large", /4294967295 bytes exceeds the limit of 65536/),
    );
    assert.deepEqual(unwrapped, [a, b]);
  } finally {
    await server.close();
  }
});

Deno.test("a layer that states no minimum still gets empty frames refused at the first one", async () => {
  const server = await answer235(new Uint8Array(MIB));
  try {
    const session = await open(server.port);
    const { mechanism, unwrapped } = countingMechanism(undefined);
    await assert.rejects(
      session.authenticate(mechanism),
      layerFailure("integrity-check-failed", /0 bytes is shorter than the minimum of 1$/),
    );
    assert.equal(unwrapped.length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("the largest reply the session accepts: escaped in the transcript and in errors", async () => {
  // 256 lines of 4000 bytes (the reply parser's and the line reader's limits), with an escape
  // sequence in each line that must never reach a log raw.
  const text = "\x1b[2J" + "x".repeat(3996);
  const reply = (code: number) =>
    Array.from({ length: 256 }, (_, i) => `${code}${i === 255 ? " " : "-"}${text}\r\n`).join("");
  // Per connection: the first NOOP gets 250, the second 554.
  const noops = new WeakMap<net.Socket, number>();
  const server = await rawServer((line, socket) => {
    if (line !== "NOOP") return void socket.write("500 unexpected\r\n");
    const count = (noops.get(socket) ?? 0) + 1;
    noops.set(socket, count);
    socket.write(reply(count === 1 ? 250 : 554));
  });
  try {
    const entries: TranscriptEntry[] = [];
    const logged = await open(server.port, (entry) => entries.push(entry));
    const ok = await logged.noop();
    assert.equal(ok.lines.length, 256);
    assert.equal(ok.lines[0], text, "the reply itself keeps what the server sent");
    const shown = entries.filter((e) => e.direction === "S").at(-1)!.text;
    assert.ok(shown.startsWith("250 \\x1b[2J"), shown.slice(0, 20));
    assert.ok(!shown.includes("\x1b"));
    assert.equal(shown.split(" / ").length, 256);
    logged.close();

    // No sink: nothing is formatted for a transcript, but an error still shows the reply.
    const quiet = await open(server.port);
    assert.equal((await quiet.noop()).lines.length, 256);
    await assert.rejects(quiet.noop(), (e: unknown) => {
      assert.ok(e instanceof SmtpError && e.code === "rejected", String(e));
      assert.equal(e.reply?.code, 554);
      assert.ok(e.message.includes("554 \\x1b[2J"), e.message.slice(0, 40));
      assert.ok(!e.message.includes("\x1b"));
      return true;
    });
    quiet.close();
  } finally {
    await server.close();
  }
});
