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
import type { DigestCipher, Qop } from "@saslkit/sasl";
import { Connection } from "./_test_server/connection.ts";
import { resolveOptions } from "./_test_server/options.ts";

// Re-exported because the options and messages below name them.
export type { DigestCipher, Qop } from "@saslkit/sasl";

/**
 * Misbehaviour on purpose, to test how a client copes. Mechanism names are matched
 * case-insensitively.
 *
 * @example A server that offers CRAM-MD5 but refuses it, and fails DIGEST-MD5 once
 * ```ts
 * import { startTestServer } from "@saslkit/smtp/test-server";
 *
 * const server = await startTestServer({
 *   behaviour: { rejectAdvertised: ["CRAM-MD5"], tempFail: { "DIGEST-MD5": 1 } },
 * });
 * await server.close();
 * ```
 */
export interface TestServerBehaviour {
  /** `AUTH X` answers `504 5.5.4 Unrecognized authentication type` although X is advertised. */
  readonly rejectAdvertised?: readonly string[];
  /** `AUTH X` answers `534 5.7.9 Authentication mechanism is too weak`. */
  readonly tooWeak?: readonly string[];
  /**
   * `AUTH X` answers `454 4.7.0 Temporary authentication failure` this many times (counted over
   * the server's lifetime, across connections), then works.
   */
  readonly tempFail?: Readonly<Record<string, number>>;
  /** After `235` for X, the connection is closed, without a reply, at the next command. */
  readonly dropAfterAuth?: readonly string[];
  /**
   * The connection is closed, without a reply, when the client's first SASL message for X
   * arrives: the initial response, or the answer to the first challenge.
   */
  readonly dropDuringAuth?: readonly string[];
  /** DIGEST-MD5 sends an `rspauth` that does not match: a server that does not know the password. */
  readonly wrongRspauth?: boolean;
  /**
   * A buggy server: DIGEST-MD5 agrees on `auth-int`/`auth-conf` but the server goes on
   * reading and writing plaintext.
   */
  readonly ignoreLayer?: boolean;
}

/**
 * How {@linkcode startTestServer} sets up the server; every field has a default.
 *
 * @example Only DIGEST-MD5 with integrity protection, and the old `AUTH=` line
 * ```ts
 * import { startTestServer } from "@saslkit/smtp/test-server";
 *
 * const server = await startTestServer({
 *   mechanisms: ["DIGEST-MD5"],
 *   digestQop: ["auth-int"],
 *   authEqualsForm: true,
 *   users: { alice: "wonderland" },
 * });
 * await server.close();
 * ```
 */
export interface TestServerOptions {
  /**
   * The address to listen on; default `127.0.0.1`. Only loopback is accepted
   * (127.0.0.0/8, `::1`, `localhost`).
   */
  readonly hostname?: string;
  /** The port; default 0, any free port (read it from {@linkcode TestServer.port}). */
  readonly port?: number;
  /** The name in the greeting and the EHLO reply; default `mail.example.com`. */
  readonly domain?: string;
  /** Username to password; default `{ smtpuser: "secret" }`. */
  readonly users?: Readonly<Record<string, string>>;
  /**
   * Bearer token to username, for OAUTHBEARER and XOAUTH2 (list them in `mechanisms`); any other
   * token gets the mechanism's JSON error challenge (`invalid_token`), then `535`. Default none.
   */
  readonly tokens?: Readonly<Record<string, string>>;
  /** Whether `MAIL FROM` needs authentication; default: when `users` has at least one entry. */
  readonly requireAuth?: boolean;
  /** The DIGEST-MD5 realm offered; default `example.com`. */
  readonly realm?: string;
  /**
   * The mechanisms advertised, in this order; default
   * `["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"]`, as the Sendmail of the motivating report.
   * Names other than those four may be listed: they are advertised, and `AUTH` with them answers
   * `504 5.5.4`. An empty list advertises no `AUTH` at all.
   */
  readonly mechanisms?: readonly string[];
  /** Also advertise the pre-standard `AUTH=` line, as old Sendmail does; default false. */
  readonly authEqualsForm?: boolean;
  /** The protection DIGEST-MD5 offers; default `["auth", "auth-int", "auth-conf"]` (Sendmail). */
  readonly digestQop?: readonly Qop[];
  /**
   * The ciphers DIGEST-MD5 offers with `auth-conf`; default Sendmail's order,
   * `["rc4-40", "rc4-56", "rc4", "des", "3des"]`.
   */
  readonly digestCiphers?: readonly DigestCipher[];
  /**
   * Host names a DIGEST-MD5 `digest-uri` may name (`smtp/<host>`); default the domain, the
   * listening address and `localhost`.
   */
  readonly digestHosts?: readonly string[];
  /** The server's security-layer `maxbuf`; default 8192, as Sendmail. */
  readonly maxbuf?: number;
  /** The `SIZE` limit of a message in bytes; default 10 MiB. */
  readonly maxMessageSize?: number;
  /** A connection idle this long gets `421` and is closed; default 30 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Deliberate misbehaviour. */
  readonly behaviour?: TestServerBehaviour;
  /** PEM key and certificate; when given, `STARTTLS` is advertised and works (node:tls). */
  readonly tls?: { readonly key: string; readonly cert: string };
}

/**
 * A message the server accepted.
 *
 * @example
 * ```ts
 * import type { ReceivedMessage } from "@saslkit/smtp/test-server";
 *
 * const message: ReceivedMessage = {
 *   connection: 1,
 *   from: "a@example.com",
 *   to: ["b@example.com"],
 *   data: "Subject: hi\r\n\r\nhello\r\n",
 *   authenticatedAs: "smtpuser",
 *   mechanism: "DIGEST-MD5",
 *   qop: "auth-conf",
 *   tls: false,
 * };
 * ```
 */
export interface ReceivedMessage {
  /** Which connection delivered it, counting from 1. */
  readonly connection: number;
  /** The reverse path of `MAIL FROM`, without angle brackets; empty for `<>`. */
  readonly from: string;
  /** The forward paths of every accepted `RCPT TO`, without angle brackets. */
  readonly to: readonly string[];
  /** The content, dot-unstuffed, each line ending in CRLF, decoded as UTF-8. */
  readonly data: string;
  /** The identity the client authenticated as (the authorization id when one was given). */
  readonly authenticatedAs?: string;
  /** The SASL mechanism that authenticated the session. */
  readonly mechanism?: string;
  /** The protection the SASL exchange agreed on. */
  readonly qop?: Qop;
  /** Whether the message came over TLS. */
  readonly tls: boolean;
}

/**
 * One entry of {@linkcode TestServer.transcript}.
 *
 * @example Finding the replies of the first connection
 * ```ts
 * import type { TranscriptLine } from "@saslkit/smtp/test-server";
 *
 * const replies = (transcript: readonly TranscriptLine[]) =>
 *   transcript.filter((entry) => entry.connection === 1 && entry.direction === "S");
 * ```
 */
export interface TranscriptLine {
  /** Which connection, counting from 1. */
  readonly connection: number;
  /**
   * `C` from the client, `S` from the server, `!` a server event that was not on the wire
   * (a layer installed, a layer error, a connection dropped, a timeout).
   */
  readonly direction: "C" | "S" | "!";
  /**
   * The line without CRLF. SASL payloads are shown decoded (control characters as `\xNN`),
   * with PLAIN and LOGIN passwords, the DIGEST-MD5 `response` and the CRAM-MD5 digest as `***`,
   * the whole payload of an unimplemented mechanism as `***`, and undecodable base64 as
   * `<invalid base64>`.
   */
  readonly line: string;
  /** Whether the line crossed the wire inside a SASL security layer. */
  readonly layered: boolean;
}

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

  const server = net.createServer((socket) => {
    const id = ++connections;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    new Connection(socket, {
      id,
      options: resolved,
      record: (entry) => transcript.push({ connection: id, ...entry }),
      deliver: (message) => messages.push({ connection: id, ...message }),
      takeTempFailure: (mechanism) => {
        const left = tempFailures.get(mechanism) ?? 0;
        if (left <= 0) return false;
        tempFailures.set(mechanism, left - 1);
        return true;
      },
      queueId: () => `5AQK${String(++queued).padStart(8, "0")}`,
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
