// Bounds (issue 10) of the embedded test server: a client that trickles bytes or sends huge lines
// costs linear work, gets a 500 and a closed connection rather than a crash, and nothing it
// sends comes back to it with its control characters raw.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import * as net from "node:net";
import type { Socket } from "node:net";
import { Connection, LineReader } from "./_test_server/connection.ts";
import { resolveOptions } from "./_test_server/options.ts";
import type { ReceivedMessage, TestServerOptions, TranscriptLine } from "./test_server.ts";
import { startTestServer } from "./test_server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const KIB = 1024;

/** A socket that the test drives by hand: every chunk arrives exactly as the test cuts it. */
class FakeSocket extends EventEmitter {
  readonly written: Uint8Array[] = [];
  ended = false;
  write(bytes: Uint8Array): boolean {
    this.written.push(bytes);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  setTimeout(): void {}
  destroy(): void {}
  receive(bytes: Uint8Array): void {
    this.emit("data", bytes);
  }
  send(text: string): void {
    this.receive(encoder.encode(text));
  }
  /** Everything written, and forgets it. */
  take(): string {
    const text = this.written.map((b) => decoder.decode(b)).join("");
    this.written.length = 0;
    return text;
  }
}

function connect(options: TestServerOptions = {}) {
  const socket = new FakeSocket();
  const transcript: TranscriptLine[] = [];
  const messages: ReceivedMessage[] = [];
  new Connection(socket as unknown as Socket, {
    id: 1,
    options: resolveOptions({ requireAuth: false, ...options }),
    record: (entry) => transcript.push({ connection: 1, ...entry }),
    deliver: (message) => messages.push({ connection: 1, ...message }),
    takeTempFailure: () => false,
    queueId: () => "5AQK00000001",
    track: () => {},
  });
  assert.match(socket.take(), /^220 /);
  const events = () => transcript.filter((t) => t.direction === "!").map((t) => t.line);
  return { socket, transcript, messages, events };
}

/** Sends `bytes` in pieces of `size` until the connection closes; returns how many were sent. */
function trickle(socket: FakeSocket, bytes: Uint8Array, size: number): number {
  let sent = 0;
  for (let i = 0; i < bytes.length && !socket.ended; i += size) {
    socket.receive(bytes.subarray(i, i + size));
    sent += Math.min(size, bytes.length - i);
  }
  return sent;
}

Deno.test("LineReader: a 64 KiB line a byte at a time is joined once", () => {
  const line = encoder.encode("NOOP " + "x".repeat(64 * KIB - 5));
  const reader = new LineReader();
  for (let i = 0; i < line.length; i++) {
    reader.push(line.subarray(i, i + 1));
    assert.equal(reader.next(), undefined);
  }
  assert.equal(reader.pendingLength, 64 * KIB);
  reader.push(encoder.encode("\r\nQUIT\r\n"));
  assert.deepEqual(reader.next(), line);
  assert.deepEqual(reader.next(), encoder.encode("QUIT"));
  assert.equal(reader.next(), undefined);
  // Each byte copied once, into the joined line; appending to a copy per chunk would copy
  // about 2 GiB here (n²/2).
  assert.equal(reader.copied, line.length + 1); // the line and its CR, which is then cut off
  assert.equal(reader.pendingLength, 0);
});

Deno.test("LineReader: a 1 MiB line in 64-byte chunks, and many lines in one chunk", () => {
  const big = new Uint8Array(1024 * KIB).fill(0x61);
  const reader = new LineReader();
  for (let i = 0; i < big.length; i += 64) reader.push(big.subarray(i, i + 64));
  assert.equal(reader.next(), undefined);
  reader.push(Uint8Array.of(10));
  assert.deepEqual(reader.next(), big);
  assert.equal(reader.copied, big.length);
  // 10,000 lines in one chunk are views of it: nothing is copied.
  const many = encoder.encode("a\r\nbb\n".repeat(5_000));
  const lines = new LineReader();
  lines.push(many);
  let count = 0;
  for (let line = lines.next(); line !== undefined; line = lines.next()) {
    assert.equal(decoder.decode(line), count % 2 === 0 ? "a" : "bb");
    count++;
  }
  assert.equal(count, 10_000);
  assert.equal(lines.copied, 0);
  // A CR and its LF in different chunks; takeRest returns what no line took.
  const split = new LineReader();
  split.push(encoder.encode("EHLO x\r"));
  assert.equal(split.next(), undefined);
  split.push(encoder.encode("\nMAIL"));
  assert.equal(decoder.decode(split.next()), "EHLO x");
  split.push(encoder.encode(" FROM"));
  assert.equal(decoder.decode(split.takeRest()), "MAIL FROM");
  assert.equal(split.pendingLength, 0);
});

Deno.test("test server: a 64 KiB command line a byte at a time gets 500, and the session goes on", () => {
  const { socket } = connect();
  // 64 KiB with its CRLF: the most that may wait for a line end.
  const line = encoder.encode("NOOP " + "x".repeat(64 * KIB - 7) + "\r\n");
  assert.equal(trickle(socket, line, 1), line.length);
  assert.equal(socket.take(), "500 5.5.2 Line too long\r\n");
  socket.send("NOOP\r\n");
  assert.equal(socket.take(), "250 2.0.0 OK\r\n");
  // One byte more without a line end is not SMTP: 500 and the connection closed.
  trickle(socket, new Uint8Array(64 * KIB + 1).fill(0x78), 1);
  assert.equal(socket.take(), "500 5.5.2 Line too long\r\n");
  assert.ok(socket.ended);
});

function inData(options: TestServerOptions = {}) {
  const c = connect(options);
  c.socket.send("EHLO client.example.com\r\nMAIL FROM:<a@example.com>\r\n");
  c.socket.send("RCPT TO:<b@example.com>\r\nDATA\r\n");
  assert.match(c.socket.take(), /354 Enter mail/);
  return c;
}

Deno.test("test server: a 1 MiB DATA line in 64-byte chunks gets 500 after 64 KiB, no crash", () => {
  const { socket, messages, events } = inData();
  const sent = trickle(socket, new Uint8Array(1024 * KIB).fill(0x61), 64);
  // Refused with the chunk that takes the line past 64 KiB (and its CR), not after 1 MiB
  // (nor the old 10 MiB).
  assert.equal(sent, 64 * KIB + 64);
  assert.equal(socket.take(), "500 5.5.2 Line too long\r\n");
  assert.ok(socket.ended);
  assert.ok(events().includes("connection closed: message line too long"), events().join("\n"));
  assert.ok(!events().some((line) => line.startsWith("internal error")));
  assert.equal(messages.length, 0);
});

Deno.test("test server: a whole DATA line over 64 KiB in one chunk is refused the same way", () => {
  const { socket, messages } = inData();
  socket.send("x".repeat(64 * KIB + 1) + "\r\n.\r\n");
  assert.equal(socket.take(), "500 5.5.2 Line too long\r\n");
  assert.ok(socket.ended);
  assert.equal(messages.length, 0);
});

Deno.test("test server: a DATA line of exactly 64 KiB is accepted intact", () => {
  const { socket, messages } = inData();
  const line = "y".repeat(64 * KIB);
  // Cut so that the CR waits for its LF in a later chunk.
  const wire = encoder.encode(`${line}\r\n.\r\n`);
  trickle(socket, wire.subarray(0, 64 * KIB + 1), 64);
  assert.equal(socket.take(), "");
  socket.receive(wire.subarray(64 * KIB + 1));
  assert.match(socket.take(), /^250 2\.0\.0 \S+ Message accepted for delivery\r\n$/);
  assert.equal(messages[0].data, `${line}\r\n`);
});

Deno.test("test server: control characters the client sent are escaped in replies and the transcript", () => {
  const { socket, transcript } = connect();
  socket.send("FOO \x1b[31mred\x07\x00\r\n");
  assert.equal(socket.take(), '500 5.5.1 Command unrecognized: "FOO \\x1b[31mred\\x07\\x00"\r\n');
  // A bare CR inside the EHLO name would otherwise split the reply into a forged second line.
  socket.send("EHLO a\r250 forged\r\n");
  const reply = socket.take();
  assert.ok(reply.startsWith("250-mail.example.com Hello a\\x0d250 forged, pleased"), reply);
  assert.equal(
    reply.split("\r").length - 1,
    reply.split("\r\n").length - 1,
    "every CR ends a line",
  );
  socket.send("MAIL FROM:<\x1bx@example.com>\r\n");
  assert.equal(socket.take(), "250 2.1.0 <\\x1bx@example.com>... Sender ok\r\n");
  for (const entry of transcript) {
    // deno-lint-ignore no-control-regex
    assert.ok(!/[\x00-\x1f\x7f]/.test(entry.line), JSON.stringify(entry.line));
  }
});

Deno.test("test server over TCP: a 64 KiB line in small writes, then a working session", async () => {
  const server = await startTestServer({ requireAuth: false });
  try {
    const socket = net.connect(server.port, server.hostname);
    let received = "";
    socket.on("data", (chunk: Uint8Array) => received += decoder.decode(chunk));
    const waitFor = async (pattern: RegExp) => {
      const deadline = Date.now() + 5000;
      while (!pattern.test(received)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in ${received.slice(-200)}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await waitFor(/^220 /);
    socket.setNoDelay(true);
    const line = encoder.encode("NOOP " + "x".repeat(64 * KIB - 5) + "\r\n");
    for (let i = 0; i < line.length; i += 64) socket.write(line.subarray(i, i + 64));
    await waitFor(/500 5\.5\.2 Line too long\r\n/);
    socket.write("QUIT\r\n");
    await waitFor(/221 2\.0\.0 /);
    socket.destroy();
  } finally {
    await server.close();
  }
});
