// The public types of the test server, apart from its code, so that the server and its
// connections can both name them without importing each other.

import type { DigestCipher, Qop } from "@saslkit/sasl";

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
  /** Accept ANONYMOUS (list it in `mechanisms`); default false, and AUTH ANONYMOUS answers 504. */
  readonly anonymous?: boolean;
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
  readonly tls?: {
    readonly key: string;
    readonly cert: string;
    /**
     * A CA (PEM): the server then asks for a client certificate in the handshake, and EXTERNAL
     * logs in as the subject's common name of one that this CA signed. Without it, EXTERNAL
     * answers 535.
     */
    readonly clientCa?: string;
  };
  /** Called with each message as it is accepted (after it is added to `messages`). */
  readonly onMessage?: (message: ReceivedMessage) => void;
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
  /** The queue id the server gave it in its `250` reply (`5AQK00000001`). */
  readonly queueId?: string;
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
