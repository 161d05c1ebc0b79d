/**
 * The fallback policy: authenticate with the first mechanism, in the caller's order, that the
 * server advertises and really accepts — including a server that says 235 and then drops the
 * connection — without ever sending a cleartext password over an unencrypted connection
 * unless the caller allows it.
 *
 * @module
 */

import {
  type ChannelBindingType,
  type ClientMechanism,
  credentialKind,
  defaultRegistry,
  type DigestMd5MechanismOptions,
  type MechanismContext,
  type MechanismDescriptor,
  type MechanismRegistry,
  type Qop,
  type SaslOutcome,
  type ScramMechanismOptions,
  type SkippedMechanism,
} from "@saslkit/sasl";
import { SmtpError, type SmtpErrorCode } from "./error.ts";
import { DEFAULT_MECHANISMS, type SmtpCredentials } from "./mechanisms.ts";
import {
  type AttemptResult,
  InMemoryMechanismMemory,
  type MechanismMemory,
  orderByMemory,
  type ServerRecord,
} from "./memory.ts";
import { formatReply, type SmtpReply } from "./reply.ts";
import type { SmtpSession } from "./session.ts";
import { openGreeted } from "./_open.ts";
import type { TranscriptSink } from "./transcript.ts";
import { checkHost, type ConnectOptions, connectTcp, type SmtpTransport } from "./transport.ts";

/** What happened to one try of one mechanism (those never tried are in `skipped`). */
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
  /** A client certificate to present in TLS; with `credentials: { kind: "external" }`, EXTERNAL. */
  readonly clientCertificate?: ConnectOptions["clientCertificate"];
  /** The name this client gives in EHLO. Default `localhost`. */
  readonly ehloName?: string;
  /** The credentials; only mechanisms that take their kind are tried. */
  readonly credentials: SmtpCredentials;
  /** Mechanisms in order of preference, any case. Default {@linkcode DEFAULT_MECHANISMS}. */
  readonly mechanisms?: readonly string[];
  /** Where mechanisms come from. Default `defaultRegistry` of `@saslkit/sasl`. */
  readonly registry?: MechanismRegistry;
  /**
   * DIGEST-MD5 settings. `qop` lists the protection levels to accept (the strongest offered
   * wins; default `["auth"]`, no layer); the session applies any layer negotiated.
   */
  readonly digestMd5?: DigestMd5MechanismOptions;
  /**
   * The least SASL protection to accept: `auth-int` or `auth-conf` require a security layer.
   * A mechanism without one is not tried (an `insufficient-protection` attempt, nothing
   * sent); DIGEST-MD5 is offered only the levels from `minQop` up (default: all of them); an
   * exchange that still ends below it is a failed attempt, its connection closed, and the next
   * mechanism is tried. TLS does not count. Default `auth`: no requirement.
   */
  readonly minQop?: Qop;
  /** SCRAM settings: iteration bounds and channel binding (`prefer` by default). */
  readonly scram?: ScramMechanismOptions;
  /** Allow mechanisms that send a password or bearer token without TLS. Default false. */
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
  /** The mechanisms of the caller's order that were never tried, and why. */
  readonly skipped: readonly SkippedMechanism[];
}

/**
 * Authentication failed with every usable mechanism. `attempts` says what happened to each.
 */
export class SmtpAuthError extends SmtpError {
  /** Every attempt, in order. */
  readonly attempts: readonly AuthAttempt[];
  /** The mechanisms of the caller's order that were never tried, and why. */
  readonly skipped: readonly SkippedMechanism[];

  /**
   * Creates the error.
   *
   * @param code `auth-rejected`, `no-mechanism`, `cleartext-refused` or
   *   `insufficient-protection`.
   * @param message A summary of the attempts.
   * @param attempts Every attempt, in order.
   * @param reply The last reply that decided an attempt.
   * @param skipped The mechanisms never tried, and why.
   */
  constructor(
    code: SmtpErrorCode,
    message: string,
    attempts: readonly AuthAttempt[],
    reply?: SmtpReply,
    skipped: readonly SkippedMechanism[] = [],
  ) {
    super(code, message, { reply });
    this.name = "SmtpAuthError";
    this.attempts = attempts;
    this.skipped = skipped;
  }
}

/**
 * How the policy reads a failed AUTH attempt: 504/534/538 `unsupported`, 432 `rejected`, other
 * 4xx `temporary`, 535 (or 5.7.8) `bad-credentials`, other 5xx `rejected`, a failure on
 * saslkit's side `client-error` (`insufficient-protection` when no acceptable qop was
 * offered), a broken connection `connection-lost`, anything after 235 `dropped-after-auth`,
 * and an exchange that ended below `minQop` `insufficient-protection`.
 *
 * @param error What `SmtpSession.authenticate` (or the check after it) threw.
 * @param afterAuth Whether the server had already answered 235.
 * @returns The result, and the reply that decided it.
 *
 * @example
 * ```ts
 * import { SmtpError } from "@saslkit/smtp";
 * import { classifyAuthFailure } from "@saslkit/smtp/low-level";
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
  if (error.code === "insufficient-protection") return { result: "insufficient-protection" };
  if (
    error.code === "auth-client" &&
    (error.cause as { code?: unknown } | undefined)?.code === "no-acceptable-qop"
  ) {
    return { result: "insufficient-protection" };
  }
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
 * caller's order that the server offers, that takes the caller's kind of credentials and that
 * works, reconnecting after any failure that leaves the connection unusable.
 *
 * Which mechanisms are tried comes from the registry's negotiation on the connection itself:
 * nothing that sends a password or token crosses an unencrypted connection unless allowed, and
 * SCRAM's `-PLUS` variants go first where TLS provides channel-binding data. A mechanism whose
 * client cannot be built for these credentials (a username too long for PLAIN) is a failed
 * attempt (`client-error`), and the next one is tried.
 *
 * @throws {SmtpAuthError} when no mechanism authenticated; {@linkcode SmtpError} when the
 * server cannot be reached, TLS fails, or the options are unusable (`invalid-argument`).
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
  const run = new AuthRun(options);
  try {
    const result = await run.tryAll();
    await run.remember(result.mechanism);
    return result;
  } catch (error) {
    await run.end();
    throw error;
  }
}

const SECURITY = ["tls", "starttls", "starttls-if-offered", "none"] as const;
const QOP_RANK: Readonly<Record<Qop, number>> = { "auth": 0, "auth-int": 1, "auth-conf": 2 };
const QOPS_STRONGEST_FIRST: readonly Qop[] = ["auth-conf", "auth-int", "auth"];

function checkOptions(options: AuthenticateOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new SmtpError("invalid-argument", "authenticate() takes an options object");
  }
  checkHost(options.host);
  if ("qop" in options || "ciphers" in options) {
    // The options of 0.1; silently ignoring them would drop a layer the caller asked for.
    throw new SmtpError(
      "invalid-argument",
      "qop and ciphers are DIGEST-MD5 settings: pass digestMd5: { qop: [...], ciphers: [...] }",
    );
  }
  if (options.security !== undefined && !SECURITY.includes(options.security)) {
    throw new SmtpError("invalid-argument", `security must be one of ${SECURITY.join(", ")}`);
  }
  if (
    options.mechanisms !== undefined &&
    (!Array.isArray(options.mechanisms) || options.mechanisms.some((m) => typeof m !== "string"))
  ) {
    throw new SmtpError("invalid-argument", "mechanisms must be an array of mechanism names");
  }
  if (options.minQop !== undefined && !(options.minQop in QOP_RANK)) {
    throw new SmtpError("invalid-argument", "minQop must be auth, auth-int or auth-conf");
  }
  if (
    options.minQop && options.digestMd5?.qop &&
    !options.digestMd5.qop.some((q) => QOP_RANK[q] >= QOP_RANK[options.minQop!])
  ) {
    throw new SmtpError(
      "invalid-argument",
      `digestMd5.qop accepts nothing as strong as minQop ${options.minQop}`,
    );
  }
  try {
    credentialKind(options.credentials);
  } catch (error) {
    throw new SmtpError("invalid-argument", (error as Error).message);
  }
}

type TryResult =
  | { readonly outcome: SaslOutcome }
  | {
    readonly failure: unknown;
    readonly afterAuth?: SaslOutcome;
    readonly client?: ClientMechanism;
  };

// One call of authenticate(): the connection in use, the attempts so far, what to remember.
class AuthRun {
  readonly #options: AuthenticateOptions;
  readonly #security: NonNullable<AuthenticateOptions["security"]>;
  readonly #port: number;
  readonly #serverKey: string;
  readonly #memory: MechanismMemory;
  readonly #registry: MechanismRegistry;
  readonly #attempts: AuthAttempt[] = [];
  readonly #skipped: SkippedMechanism[] = [];
  #record: ServerRecord | undefined;
  #failed: Record<string, AttemptResult> = {};
  #session: SmtpSession | undefined;
  #badCredentials = 0;
  readonly #minQop: Qop;

  constructor(options: AuthenticateOptions) {
    checkOptions(options);
    this.#options = options;
    this.#security = options.security ?? "starttls-if-offered";
    this.#port = options.port ?? (this.#security === "tls" ? 465 : 587);
    this.#serverKey = `${options.host}:${this.#port}`;
    this.#memory = options.memory ?? new InMemoryMechanismMemory();
    this.#registry = options.registry ?? defaultRegistry;
    this.#minQop = options.minQop ?? "auth";
  }

  async tryAll(): Promise<AuthResult> {
    this.#record = await this.#memory.get(this.#serverKey);
    this.#failed = { ...this.#record?.failed };
    const first = await this.#usable();
    const { order, skipped } = this.#negotiate(first);
    this.#skipped.push(...skipped);
    const byMemory = orderByMemory(order.map((d) => d.name), this.#record);
    for (const name of byMemory) {
      const result = await this.#tryMechanism(order.find((d) => d.name === name)!);
      if (result) return result;
    }
    throw this.#exhausted();
  }

  async remember(worked: string): Promise<void> {
    await this.#memory.set(this.#serverKey, { worked, failed: this.#failed });
  }

  async end(): Promise<void> {
    await this.#session?.quit();
    this.#session = undefined;
    await this.#memory.set(this.#serverKey, { worked: this.#record?.worked, failed: this.#failed });
  }

  // Tries one mechanism, with retries after a temporary failure and one fresh token after
  // `invalid-token`; returns the result on success, undefined to move on.
  async #tryMechanism(descriptor: MechanismDescriptor): Promise<AuthResult | undefined> {
    if (this.#minQop !== "auth" && !descriptor.properties.offersSecurityLayer) {
      this.#note({
        mechanism: descriptor.name,
        result: "insufficient-protection",
        detail: `${descriptor.name} has no security layer, and minQop is ${this.#minQop}`,
      });
      return undefined;
    }
    let retries = this.#options.temporaryRetries ?? 1;
    let refreshToken = false;
    for (;;) {
      const session = await this.#usable();
      // Each check is made on this very connection, after any reconnect (TLS may be gone).
      const still = this.#negotiate(session, [descriptor.name]);
      if (!still.order.includes(descriptor)) {
        this.#skipped.push(...still.skipped.filter((s) => s.name === descriptor.name));
        return undefined;
      }
      const tried = await this.#tryOnce(session, descriptor, refreshToken);
      if ("outcome" in tried) return this.#succeeded(session, descriptor, tried.outcome);
      const result = this.#failedAttempt(descriptor.name, tried);
      if (result === "temporary" && retries-- > 0) continue;
      if (this.#mayRefresh(tried, refreshToken)) {
        refreshToken = true;
        continue;
      }
      if (result === "bad-credentials") this.#checkBadCredentials();
      return undefined;
    }
  }

  async #tryOnce(
    session: SmtpSession,
    descriptor: MechanismDescriptor,
    refreshToken: boolean,
  ): Promise<TryResult> {
    let client: ClientMechanism;
    try {
      client = await descriptor.createClient(
        this.#options.credentials,
        this.#context(session, refreshToken),
      );
    } catch (error) {
      return { failure: error };
    }
    let outcome: SaslOutcome | undefined;
    try {
      outcome = await session.authenticate(client, { registry: this.#registry });
      if (QOP_RANK[outcome.qop] < QOP_RANK[this.#minQop]) {
        // Authenticated, but without the protection asked for: this connection carries nothing.
        session.close();
        throw new SmtpError(
          "insufficient-protection",
          `${descriptor.name} ended with qop=${outcome.qop}, below minQop ${this.#minQop}`,
        );
      }
      if (this.#options.verifyAfterAuth ?? true) await session.noop();
      return { outcome };
    } catch (error) {
      return { failure: error ?? new Error("unknown failure"), afterAuth: outcome, client };
    }
  }

  #context(session: SmtpSession, refreshToken: boolean): MechanismContext {
    return {
      service: "smtp",
      host: this.#options.host,
      port: this.#port,
      secure: session.secure,
      channelBindings: session.transport.channelBindings?.(),
      offered: session.capabilities?.auth ?? [],
      refreshToken,
      options: { digestMd5: this.#digestMd5(), scram: this.#options.scram },
    };
  }

  // DIGEST-MD5 is offered only what minQop allows; the strongest the server offers wins.
  #digestMd5(): DigestMd5MechanismOptions | undefined {
    const digest = this.#options.digestMd5;
    if (this.#minQop === "auth") return digest;
    const rank = QOP_RANK[this.#minQop];
    const qop = (digest?.qop ?? QOPS_STRONGEST_FIRST).filter((q) => QOP_RANK[q] >= rank);
    return { ...digest, qop };
  }

  #negotiate(session: SmtpSession, preferred?: readonly string[]) {
    const bindings = session.transport.channelBindings?.() ?? {};
    return this.#registry.negotiate({
      offered: session.capabilities?.auth ?? [],
      preferred: preferred ?? this.#options.mechanisms ?? DEFAULT_MECHANISMS,
      credentials: this.#options.credentials,
      secure: session.secure,
      channelBindingTypes: Object.keys(bindings) as ChannelBindingType[],
      channelBinding: this.#options.scram?.channelBinding,
      allowCleartext: this.#options.allowCleartext,
    });
  }

  #succeeded(session: SmtpSession, descriptor: MechanismDescriptor, outcome: SaslOutcome) {
    this.#note({
      mechanism: descriptor.name,
      result: "authenticated",
      qop: outcome.qop,
      cipher: outcome.cipher,
    });
    this.#session = undefined; // handed to the caller: never closed here
    return {
      session,
      mechanism: descriptor.name,
      outcome,
      attempts: this.#attempts,
      skipped: this.#skipped,
    };
  }

  #failedAttempt(name: string, tried: Exclude<TryResult, { outcome: SaslOutcome }>): AttemptResult {
    const classified = classifyAuthFailure(tried.failure, tried.afterAuth !== undefined);
    const { reply } = classified;
    // A server that refused inside the exchange (SCRAM `e=invalid-proof`) made the decision,
    // not saslkit: the client only cancelled what the server had already ended.
    const verdict = tried.client?.serverError?.code;
    const result: AttemptResult = classified.result !== "client-error" || verdict === undefined
      ? classified.result
      : verdict === "authentication-failed"
      ? "bad-credentials"
      : "rejected";
    // 421: the server is closing this connection; a retry needs a new one.
    if (reply?.code === 421) this.#session?.close();
    const failure = tried.failure;
    this.#note({
      mechanism: name,
      result,
      reply,
      detail: failure instanceof Error ? failure.message : String(failure),
      qop: tried.afterAuth?.qop,
      cipher: tried.afterAuth?.cipher,
    });
    return result;
  }

  // A server that said `invalid_token` may accept a fresh one: ask the provider once.
  #mayRefresh(tried: Exclude<TryResult, { outcome: SaslOutcome }>, refreshed: boolean): boolean {
    const credentials = this.#options.credentials;
    return !refreshed && tried.client?.serverError?.code === "invalid-token" &&
      credentials.kind === "oauth" && typeof credentials.token === "function";
  }

  #checkBadCredentials(): void {
    this.#badCredentials++;
    const allBad = this.#attempts.every((a) => a.result === "bad-credentials");
    if (
      this.#options.badCredentials === "stop" ||
      (allBad && this.#badCredentials >= (this.#options.maxBadCredentials ?? 2))
    ) {
      const reply = this.#attempts.at(-1)?.reply;
      throw new SmtpAuthError(
        "auth-rejected",
        `the server rejected the credentials (${reply ? formatReply(reply) : "535"})`,
        this.#attempts,
        reply,
        this.#skipped,
      );
    }
  }

  #note(attempt: AuthAttempt): void {
    this.#attempts.push(attempt);
    if (attempt.result !== "authenticated") this.#failed[attempt.mechanism] = attempt.result;
    this.#options.onAttempt?.(attempt);
  }

  // Every try runs on a connection that has not authenticated and is still open.
  async #usable(): Promise<SmtpSession> {
    const current = this.#session;
    if (!current || current.closed || current.authenticated) {
      current?.close();
      this.#session = undefined;
      this.#session = await openSession(this.#options, this.#security, this.#port);
    }
    return this.#session!;
  }

  #exhausted(): SmtpAuthError {
    const attempts = this.#attempts;
    const skipped = this.#skipped;
    if (attempts.length === 0 && skipped.some((s) => s.reason === "needs-tls")) {
      return new SmtpAuthError(
        "cleartext-refused",
        "only mechanisms that send the password in the clear are left, and the connection is " +
          "not encrypted; use TLS or allow cleartext explicitly",
        attempts,
        undefined,
        skipped,
      );
    }
    const summary = [
      ...attempts.map((a) => `${a.mechanism}: ${a.result}`),
      ...skipped.filter((s) => s.reason !== "not-offered" || this.#options.mechanisms)
        .map((s) => `${s.name}: ${s.reason}`),
    ].join(", ");
    const lastReply = [...attempts].reverse().find((a) => a.reply)?.reply;
    const tooWeak = attempts.length > 0 &&
      attempts.every((a) => a.result === "insufficient-protection");
    if (tooWeak) {
      return new SmtpAuthError(
        "insufficient-protection",
        `no mechanism gave the protection asked for (minQop ${this.#minQop}): ` +
          attempts.map((a) => a.detail ?? `${a.mechanism}: ${a.result}`).join("; "),
        attempts,
        lastReply,
        skipped,
      );
    }
    return new SmtpAuthError(
      attempts.length === 0 ? "no-mechanism" : "auth-rejected",
      `authentication failed (${summary || "the server offers no usable AUTH mechanism"})`,
      attempts,
      lastReply,
      skipped,
    );
  }
}

// Connects, reads the greeting, says EHLO and, as the options ask, STARTTLS and EHLO again.
async function openSession(
  options: AuthenticateOptions,
  security: NonNullable<AuthenticateOptions["security"]>,
  port: number,
): Promise<SmtpSession> {
  const transport = options.connect ? await options.connect() : await connectTcp({
    host: options.host,
    port,
    security: security === "tls" ? "tls" : "none",
    rejectUnauthorized: options.rejectUnauthorized,
    ca: options.ca,
    clientCertificate: options.clientCertificate,
    timeoutMs: options.timeoutMs,
  });
  let opened: SmtpSession | undefined;
  try {
    opened = await openGreeted(
      transport,
      { timeoutMs: options.timeoutMs, transcript: options.transcript },
      { host: options.host, port },
    );
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
}
