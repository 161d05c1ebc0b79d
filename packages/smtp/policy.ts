/**
 * The fallback policy: authenticate with the first mechanism, in the caller's order, that the
 * server advertises and really accepts — including a server that says 235 and then drops the
 * connection — without ever sending a cleartext password over an unencrypted connection
 * unless the caller allows it.
 *
 * @module
 */

import type { DigestCipher, Qop, SaslOutcome } from "@saslkit/sasl";
import { SmtpError, type SmtpErrorCode } from "./error.ts";
import {
  createClientMechanism,
  DEFAULT_MECHANISMS,
  type SmtpCredentials,
  SUPPORTED_MECHANISMS,
} from "./mechanisms.ts";
import {
  type AttemptResult,
  InMemoryMechanismMemory,
  type MechanismMemory,
  orderByMemory,
} from "./memory.ts";
import { formatReply, type SmtpReply } from "./reply.ts";
import { SmtpSession } from "./session.ts";
import type { TranscriptSink } from "./transcript.ts";
import { connectTcp, type SmtpTransport } from "./transport.ts";

/** What happened to one try of one mechanism. */
export interface AuthAttempt {
  /** The mechanism. */
  readonly mechanism: string;
  /** How it ended. */
  readonly result: AttemptResult;
  /** The server's reply that decided it, if one did. */
  readonly reply?: SmtpReply;
  /** A secret-free explanation. */
  readonly detail?: string;
  /** What was negotiated, when the mechanism authenticated (even if the connection then died). */
  readonly qop?: Qop;
  /** The cipher negotiated with `auth-conf`. */
  readonly cipher?: string;
}

/** Options of {@linkcode authenticate}. */
export interface AuthenticateOptions {
  /** The server's host name (also DIGEST-MD5's `digest-uri` host and the TLS name). */
  readonly host: string;
  /** The port. Default 587 (465 with `security: "tls"`). */
  readonly port?: number;
  /**
   * `tls`: implicit TLS. `starttls`: require STARTTLS. `starttls-if-offered` (the default):
   * use STARTTLS when the server offers it. `none`: never.
   */
  readonly security?: "tls" | "starttls" | "starttls-if-offered" | "none";
  /** Certificate checks; on unless false. */
  readonly rejectUnauthorized?: boolean;
  /** Extra trusted CA certificates (PEM). */
  readonly ca?: string | readonly string[];
  /** The name this client gives in EHLO. Default `localhost`. */
  readonly ehloName?: string;
  /** The credentials. */
  readonly credentials: SmtpCredentials;
  /** Mechanisms in order of preference. Default {@linkcode DEFAULT_MECHANISMS}. */
  readonly mechanisms?: readonly string[];
  /** The strongest DIGEST-MD5 protection to negotiate; default `auth` (no layer). */
  readonly qop?: Qop;
  /** Ciphers acceptable for `auth-conf`, most preferred first. */
  readonly ciphers?: readonly DigestCipher[];
  /** Allow PLAIN and LOGIN without TLS. Default false. */
  readonly allowCleartext?: boolean;
  /**
   * Send NOOP after 235, so that a server that drops the connection after authentication is
   * caught here rather than at MAIL FROM. Default true.
   */
  readonly verifyAfterAuth?: boolean;
  /**
   * After 535 (bad credentials): `try-others` (the default) tries each remaining mechanism
   * once, and stops early once `maxBadCredentials` failures all said the credentials are
   * wrong; `stop` stops at the first.
   */
  readonly badCredentials?: "try-others" | "stop";
  /** See `badCredentials`. Default 2. */
  readonly maxBadCredentials?: number;
  /** How often to retry a mechanism after a temporary failure (454, 4xx). Default 1. */
  readonly temporaryRetries?: number;
  /** Remembers per server what worked. Default: a memory private to this call. */
  readonly memory?: MechanismMemory;
  /** Reply timeout in milliseconds. Default 30000. */
  readonly timeoutMs?: number;
  /** Receives the decoded, redacted transcript of every connection. */
  readonly transcript?: TranscriptSink;
  /** Receives each attempt as it ends. */
  readonly onAttempt?: (attempt: AuthAttempt) => void;
  /** Opens the byte stream; default TCP (or TLS) to `host:port`. For tests and proxies. */
  readonly connect?: () => Promise<SmtpTransport>;
}

/** A successful authentication. */
export interface AuthResult {
  /** The authenticated session, ready for mail; its security layer, if any, is in force. */
  readonly session: SmtpSession;
  /** The mechanism that worked. */
  readonly mechanism: string;
  /** What the mechanism established. */
  readonly outcome: SaslOutcome;
  /** Every attempt, in order, the successful one last. */
  readonly attempts: readonly AuthAttempt[];
}

/**
 * Authentication failed with every usable mechanism. `attempts` says what happened to each.
 */
export class SmtpAuthError extends SmtpError {
  /** Every attempt, in order. */
  readonly attempts: readonly AuthAttempt[];

  /**
   * Creates the error.
   *
   * @param code `auth-rejected`, `no-mechanism` or `cleartext-refused`.
   * @param message A summary of the attempts.
   * @param attempts Every attempt, in order.
   * @param reply The last reply that decided an attempt.
   */
  constructor(
    code: SmtpErrorCode,
    message: string,
    attempts: readonly AuthAttempt[],
    reply?: SmtpReply,
  ) {
    super(code, message, { reply });
    this.name = "SmtpAuthError";
    this.attempts = attempts;
  }
}

/**
 * How the policy reads a failed AUTH attempt: 504/534/538 `unsupported`, 432 `rejected`, other
 * 4xx `temporary`, 535 (or 5.7.8) `bad-credentials`, other 5xx `rejected`, a failure on
 * saslkit's side `client-error`, a broken connection `connection-lost`, and anything after
 * 235 `dropped-after-auth`.
 *
 * @param error What `SmtpSession.authenticate` (or the check after it) threw.
 * @param afterAuth Whether the server had already answered 235.
 * @returns The result, and the reply that decided it.
 *
 * @example
 * ```ts
 * import { classifyAuthFailure, SmtpError } from "@saslkit/smtp";
 * import assert from "node:assert/strict";
 *
 * const reply = { code: 504, enhancedCode: "5.5.4", lines: ["Unrecognized authentication type"] };
 * const error = new SmtpError("auth-rejected", "AUTH X failed", { reply });
 * assert.equal(classifyAuthFailure(error, false).result, "unsupported");
 * ```
 */
export function classifyAuthFailure(
  error: unknown,
  afterAuth: boolean,
): { result: AttemptResult; reply?: SmtpReply } {
  if (!(error instanceof SmtpError)) return { result: "client-error" };
  if (afterAuth) return { result: "dropped-after-auth", reply: error.reply };
  if (error.code === "auth-client") return { result: "client-error" };
  if (error.code === "auth-rejected" && error.reply) {
    const { code, enhancedCode } = error.reply;
    if (code === 504 || code === 534 || code === 538) {
      return { result: "unsupported", reply: error.reply };
    }
    // 432: a password transition is needed; no retry will help.
    if (code === 432) return { result: "rejected", reply: error.reply };
    if (code >= 400 && code < 500) return { result: "temporary", reply: error.reply };
    if (code === 535 || enhancedCode === "5.7.8") {
      return { result: "bad-credentials", reply: error.reply };
    }
    return { result: "rejected", reply: error.reply };
  }
  return { result: "connection-lost", reply: error.reply };
}

/**
 * Connects, says EHLO (and STARTTLS), and authenticates with the first mechanism of the
 * caller's order that works, reconnecting after any failure that leaves the connection
 * unusable.
 *
 * @throws {SmtpAuthError} when no mechanism authenticated; {@linkcode SmtpError} when the
 * server cannot be reached or TLS fails.
 *
 * @example
 * ```ts ignore
 * import { authenticate } from "@saslkit/smtp";
 *
 * const { session, mechanism, outcome } = await authenticate({
 *   host: "mail.example.com",
 *   credentials: { username: "smtpuser", password: Deno.env.get("SMTP_PASSWORD")! },
 * });
 * console.log(mechanism, outcome.qop);
 * await session.quit();
 * ```
 */
export async function authenticate(options: AuthenticateOptions): Promise<AuthResult> {
  const security = options.security ?? "starttls-if-offered";
  const port = options.port ?? (security === "tls" ? 465 : 587);
  const serverKey = `${options.host}:${port}`;
  const memory = options.memory ?? new InMemoryMechanismMemory();
  const record = await memory.get(serverKey);
  const order = orderByMemory(
    (options.mechanisms ?? DEFAULT_MECHANISMS).map((m) => m.toUpperCase()),
    record,
  );
  const attempts: AuthAttempt[] = [];
  const failed: Record<string, AttemptResult> = { ...record?.failed };
  const note = (attempt: AuthAttempt) => {
    attempts.push(attempt);
    if (attempt.result !== "not-offered" && attempt.result !== "not-implemented") {
      failed[attempt.mechanism] = attempt.result;
    }
    options.onAttempt?.(attempt);
  };

  const open = async (): Promise<SmtpSession> => {
    const transport = options.connect ? await options.connect() : await connectTcp({
      host: options.host,
      port,
      security: security === "tls" ? "tls" : "none",
      rejectUnauthorized: options.rejectUnauthorized,
      ca: options.ca,
      timeoutMs: options.timeoutMs,
    });
    let opened: SmtpSession | undefined;
    try {
      opened = await SmtpSession.open(transport, {
        timeoutMs: options.timeoutMs,
        transcript: options.transcript,
      });
      const ehloName = options.ehloName ?? "localhost";
      const capabilities = await opened.ehlo(ehloName);
      if (!opened.secure && security !== "none" && security !== "tls") {
        if (capabilities.startTls) {
          await opened.startTls(options.host);
          await opened.ehlo(ehloName);
        } else if (security === "starttls") {
          throw new SmtpError("tls", "the server does not offer STARTTLS");
        }
      }
      return opened;
    } catch (error) {
      if (opened) opened.close();
      else transport.close();
      throw error;
    }
  };

  // Every try runs on a connection that has not authenticated and is still open; each check
  // (offered? cleartext allowed?) is made on that very connection, after any reconnect.
  let session: SmtpSession | undefined;
  const usable = async (): Promise<SmtpSession> => {
    if (!session || session.closed || session.authenticated) {
      session?.close();
      session = undefined;
      session = await open();
    }
    return session;
  };
  let badCredentials = 0;
  try {
    for (const name of order) {
      let retries = options.temporaryRetries ?? 1;
      for (;;) {
        const current = await usable();
        if (!current.capabilities!.auth.includes(name)) {
          note({ mechanism: name, result: "not-offered" });
          break;
        }
        const mechanism = createClientMechanism(name, options.credentials, {
          host: options.host,
          qop: options.qop,
          ciphers: options.ciphers,
        });
        if (!mechanism) {
          note({
            mechanism: name,
            result: "not-implemented",
            detail: SUPPORTED_MECHANISMS.includes(name)
              ? "cannot carry the requested authorization identity"
              : "saslkit does not implement it",
          });
          break;
        }
        if (
          mechanism.properties.sendsCleartextPassword && !current.secure && !options.allowCleartext
        ) {
          note({
            mechanism: name,
            result: "cleartext-refused",
            detail: "sends the password in the clear and the connection is not encrypted",
          });
          break;
        }
        let outcome: SaslOutcome | undefined;
        let failure: unknown;
        try {
          outcome = await current.authenticate(mechanism);
          if (options.verifyAfterAuth ?? true) await current.noop();
        } catch (error) {
          failure = error ?? new Error("unknown failure");
        }
        if (failure === undefined && outcome) {
          note({
            mechanism: name,
            result: "authenticated",
            qop: outcome.qop,
            cipher: outcome.cipher,
          });
          await memory.set(serverKey, { worked: name, failed });
          const result = { session: current, mechanism: name, outcome, attempts };
          session = undefined; // handed to the caller: not closed below
          return result;
        }
        const { result, reply } = classifyAuthFailure(failure, outcome !== undefined);
        // 421: the server is closing this connection; a retry needs a new one.
        if (reply?.code === 421) current.close();
        note({
          mechanism: name,
          result,
          reply,
          detail: failure instanceof Error ? failure.message : String(failure),
          qop: outcome?.qop,
          cipher: outcome?.cipher,
        });
        if (result === "temporary" && retries-- > 0) continue;
        if (result === "bad-credentials") {
          badCredentials++;
          const allBad = attempts.every((a) =>
            a.result === "bad-credentials" || a.result === "not-offered" ||
            a.result === "not-implemented" || a.result === "cleartext-refused"
          );
          if (
            options.badCredentials === "stop" ||
            (allBad && badCredentials >= (options.maxBadCredentials ?? 2))
          ) {
            throw new SmtpAuthError(
              "auth-rejected",
              `the server rejected the credentials (${formatReply(reply!)})`,
              attempts,
              reply,
            );
          }
        }
        break;
      }
    }
  } catch (error) {
    await (session as SmtpSession | undefined)?.quit();
    await memory.set(serverKey, { worked: record?.worked, failed });
    throw error;
  }
  await (session as SmtpSession | undefined)?.quit();
  await memory.set(serverKey, { worked: record?.worked, failed });
  const tried = attempts.filter((a) =>
    a.result !== "not-offered" && a.result !== "not-implemented"
  );
  if (tried.length > 0 && tried.every((a) => a.result === "cleartext-refused")) {
    throw new SmtpAuthError(
      "cleartext-refused",
      "only mechanisms that send the password in the clear are left, and the connection is not " +
        "encrypted; use TLS or allow cleartext explicitly",
      attempts,
    );
  }
  const summary = attempts.map((a) => `${a.mechanism}: ${a.result}`).join(", ");
  const lastReply = [...attempts].reverse().find((a) => a.reply)?.reply;
  throw new SmtpAuthError(
    tried.length === 0 ? "no-mechanism" : "auth-rejected",
    `authentication failed (${summary || "the server offers no AUTH"})`,
    attempts,
    lastReply,
  );
}
