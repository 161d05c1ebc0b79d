/**
 * An embedded SMTP server for tests and demos: listens on loopback, authenticates with the
 * server mechanisms of `@saslkit/sasl`, and behaves like Sendmail with Cyrus SASL, security
 * layers included. No root, no external process, nothing delivered: accepted messages are kept
 * in {@linkcode TestServer.messages}.
 *
 * What it imitates:
 *
 * - Greeting `220 <domain> ESMTP`; EHLO lists `ENHANCEDSTATUSCODES`, `PIPELINING`, `8BITMIME`,
 *   `SIZE`, `AUTH` (and `AUTH=` on request), `STARTTLS` when TLS is configured, `HELP`.
 *   Once authenticated, `AUTH` is no longer listed, as Sendmail does.
 * - AUTH as RFC 4954 describes it: initial responses (`=` for an empty one), `334` challenges in
 *   base64, `*` to cancel, `501` for broken base64, `535` for wrong credentials, `235` on
 *   success. DIGEST-MD5's `rspauth` is sent as one more `334`, answered by an empty line.
 * - When DIGEST-MD5 agreed on `auth-int` or `auth-conf`, every byte after the `235` line, in
 *   both directions, goes through the layer with RFC 4422 framing. A client that keeps speaking
 *   plaintext has its first four bytes read as a length (`MAIL` is 1296124236), exceeding
 *   `maxbuf`; the server drops the connection without a reply, as Sendmail does.
 * - `MAIL FROM` requires authentication when users are configured
 *   (`530 5.7.0 Authentication required`).
 *
 * The {@linkcode TestServer.transcript} records every line both ways, SASL payloads decoded and
 * passwords replaced by `***`, plus server events such as a dropped connection.
 *
 * @example Sending one message with PLAIN over a raw socket
 * ```ts
 * import { startTestServer } from "@saslkit/smtp/test-server";
 * import { encodeBase64 } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 * import net from "node:net";
 *
 * const server = await startTestServer({ mechanisms: ["PLAIN"] });
 * const socket = net.connect(server.port, server.hostname);
 * let received = "";
 * socket.on("data", (chunk) => received += chunk);
 * const plain = encodeBase64(new TextEncoder().encode("\0smtpuser\0secret"));
 * socket.write(
 *   `EHLO client.example.com\r\nAUTH PLAIN ${plain}\r\nMAIL FROM:<a@example.com>\r\n` +
 *     "RCPT TO:<b@example.com>\r\nDATA\r\nSubject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n",
 * );
 * await new Promise((resolve) => socket.on("close", resolve));
 * assert.match(received, /^235 2\.0\.0 /m);
 * assert.equal(server.messages[0].data, "Subject: hi\r\n\r\n.dot\r\n");
 * assert.equal(server.messages[0].authenticatedAs, "smtpuser");
 * assert.ok(server.transcript.every((entry) => !entry.line.includes("secret")));
 * await server.close();
 * ```
 *
 * @module
 */

import net from "node:net";
import { Connection } from "./_test_server/connection.ts";
import { resolveOptions } from "./_test_server/options.ts";
import type { ReceivedMessage, TestServerOptions, TranscriptLine } from "./_test_server/types.ts";

// Re-exported because the options and messages name them.
export type { DigestCipher, Qop } from "@saslkit/sasl";
export type {
  ReceivedMessage,
  TestServerBehaviour,
  TestServerOptions,
  TranscriptLine,
} from "./_test_server/types.ts";

/**
 * A running server, from {@linkcode startTestServer}.
 *
 * @example
 * ```ts
 * import { startTestServer } from "@saslkit/smtp/test-server";
 * import assert from "node:assert/strict";
 *
 * const server = await startTestServer();
 * assert.equal(server.hostname, "127.0.0.1");
 * assert.ok(server.port > 0);
 * assert.equal(server.connections, 0);
 * await server.close();
 * ```
 */
export interface TestServer {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /** Every message accepted so far, in order. */
  readonly messages: readonly ReceivedMessage[];
  /** Every line of every connection so far, in order. */
  readonly transcript: readonly TranscriptLine[];
  /** How many connections were accepted. */
  readonly connections: number;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

/**
 * Starts a server on loopback and resolves once it listens.
 *
 * @param options What to offer and how to misbehave; see {@linkcode TestServerOptions}.
 * @returns The running server; call {@linkcode TestServer.close} when done.
 * @throws {TypeError} for a non-loopback `hostname` or an invalid option.
 *
 * @example
 * ```ts
 * import { startTestServer } from "@saslkit/smtp/test-server";
 * import assert from "node:assert/strict";
 * import net from "node:net";
 *
 * const server = await startTestServer({ domain: "mx.example.org" });
 * const socket = net.connect(server.port, server.hostname);
 * const greeting = await new Promise((resolve) => socket.once("data", (d) => resolve(`${d}`)));
 * assert.equal(greeting, "220 mx.example.org ESMTP\r\n");
 * socket.destroy();
 * await server.close();
 * ```
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const resolved = resolveOptions(options);
  const messages: ReceivedMessage[] = [];
  const transcript: TranscriptLine[] = [];
  const tempFailures = new Map(Object.entries(resolved.behaviour.tempFail));
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let queued = 0;
  // The id handed out just before a delivery: the connection asks for it, then delivers.
  let lastQueueId: string | undefined;

  const server = net.createServer((socket) => {
    const id = ++connections;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    new Connection(socket, {
      id,
      options: resolved,
      record: (entry) => transcript.push({ connection: id, ...entry }),
      deliver: (message) => {
        const received = { connection: id, queueId: lastQueueId, ...message };
        messages.push(received);
        try {
          options.onMessage?.(received);
        } catch {
          // A listener that throws must not break the session: the message is accepted.
        }
      },
      takeTempFailure: (mechanism) => {
        const left = tempFailures.get(mechanism) ?? 0;
        if (left <= 0) return false;
        tempFailures.set(mechanism, left - 1);
        return true;
      },
      queueId: () => (lastQueueId = `5AQK${String(++queued).padStart(8, "0")}`),
      track: (upgraded) => {
        // A STARTTLS upgrade wraps the socket; close() must end the outer one.
        sockets.add(upgraded);
        upgraded.on("close", () => sockets.delete(upgraded));
      },
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: resolved.port, host: resolved.hostname }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    hostname: resolved.hostname,
    port: address.port,
    messages,
    transcript,
    get connections() {
      return connections;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
