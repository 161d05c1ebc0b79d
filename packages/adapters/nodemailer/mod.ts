/**
 * saslkit inside nodemailer: every mechanism of the registry (SCRAM-SHA-1/-256/-512, DIGEST-MD5,
 * CRAM-MD5, PLAIN, LOGIN, OAUTHBEARER, XOAUTH2…), chosen from the server's real AUTH list
 * with `@saslkit/smtp`'s fallback policy, through nodemailer's documented `customAuth` hook.
 *
 * - {@linkcode nodemailerAuth} returns the `auth` and `customAuth` options to spread into
 *   `nodemailer.createTransport(...)`. Inside the one handler nodemailer runs, it sends a fresh
 *   `EHLO` to learn what the server offers (nodemailer itself only ever detects PLAIN, LOGIN,
 *   CRAM-MD5 and XOAUTH2), negotiates, and falls back from one mechanism to the next on the
 *   same connection (504/534/538, 535, a challenge it cannot answer, a server that cannot
 *   prove itself).
 * - {@linkcode sendMailWithFallback} also survives what one nodemailer connection cannot: a
 *   server that says `235` and then drops the connection. It sends the message on a new
 *   connection with the next mechanism, remembers per server what worked, and sends the
 *   message exactly once: it only resends when the connection died before `MAIL FROM`.
 *
 * A DIGEST-MD5 security layer (`auth-int`, `auth-conf`) is negotiated only when the caller asks
 * for it (`digestMd5: { qop: [...] }`): `nodemailerAuth` then also returns nodemailer's
 * documented `getSocket` option, handing nodemailer a socket of saslkit's own that applies the
 * layer to every byte after `235`, and nodemailer goes on speaking plaintext to it. Otherwise
 * `qop=auth`. No secret reaches nodemailer's logger: the handler's commands go through
 * `ctx.sendCommand`, which nodemailer (≥ 10.6.1, the peer range) logs as `/* secret *\/`, and
 * the server's challenges hold no client secret.
 *
 * @example Sending through the embedded test server with whatever it offers
 * ```ts
 * import nodemailer from "nodemailer";
 * import { nodemailerAuth } from "@saslkit/adapters/nodemailer";
 * import { startTestServer } from "@saslkit/smtp/test-server";
 * import assert from "node:assert/strict";
 *
 * const server = await startTestServer(); // DIGEST-MD5 CRAM-MD5 LOGIN PLAIN, like Sendmail
 * const transporter = nodemailer.createTransport({
 *   host: server.hostname,
 *   port: server.port,
 *   name: "client.example.com",
 *   ignoreTLS: true,
 *   ...nodemailerAuth({ user: "smtpuser", pass: "secret", host: "mail.example.com" }),
 * });
 * await transporter.sendMail({ from: "a@example.com", to: "b@example.com", text: "hi" });
 * transporter.close();
 * assert.equal(server.messages[0].mechanism, "DIGEST-MD5");
 * assert.equal(server.messages[0].qop, "auth");
 * await server.close();
 * ```
 *
 * @module
 */

import nodemailer from "nodemailer";
import type { SendMailOptions, SMTPSentMessageInfo, SMTPTransportOptions } from "nodemailer";
import type { SMTPConnectionCustomAuthContext } from "nodemailer/lib/smtp-connection";
import type { SMTPTransportGetSocket } from "nodemailer/lib/smtp-transport";
import type {
  Credentials,
  DigestMd5MechanismOptions,
  MechanismRegistry,
  ScramMechanismOptions,
  SecurityLayer,
  SkippedMechanism,
  TokenProvider,
} from "@saslkit/sasl";
import {
  type AuthAttempt,
  authenticate,
  DEFAULT_MECHANISMS,
  InMemoryMechanismMemory,
  type MechanismMemory,
  SmtpAuthError,
  SmtpError,
  type SmtpErrorCode,
  type SmtpReply,
  type TranscriptSink,
} from "@saslkit/smtp";
import { parseEhlo, ReplyParser } from "@saslkit/smtp/low-level";
import { NodemailerBridge } from "./_bridge.ts";
import { claimSocket, layerGetSocket, type LayerSocket } from "./_layer_socket.ts";

/** The method name under which the handler is registered in nodemailer's `customAuth`. */
export const SASLKIT_METHOD = "SASLKIT";

/** Options of {@linkcode nodemailerAuth}. */
export interface NodemailerAuthOptions {
  /** The authentication identity (also the user an OAuth token was issued to). */
  readonly user?: string;
  /** The password. A message's own `auth: { user, pass }` overrides `user` and `pass`. */
  readonly pass?: string;
  /**
   * An OAuth 2.0 access token, or a provider asked again with `refresh: true` after the
   * server said `invalid_token`; selects the OAuth mechanisms (OAUTHBEARER, XOAUTH2) of the
   * registry instead of the password ones.
   */
  readonly token?: string | TokenProvider;
  /** The identity to act as, where the mechanism carries one. */
  readonly authorizationId?: string;
  /** Mechanisms in order of preference, any case. Default `DEFAULT_MECHANISMS` of `@saslkit/smtp`. */
  readonly mechanisms?: readonly string[];
  /**
   * Whether nodemailer's connection is encrypted. The handler cannot see the socket, so it
   * trusts this: set it when the transport has `secure: true` or `requireTLS: true`. Default
   * false: PLAIN, LOGIN and bearer tokens are then left out unless `allowCleartext`.
   * ({@linkcode sendMailWithFallback} works it out from the transport options.)
   */
  readonly secure?: boolean;
  /** Allow mechanisms that send a password or token without TLS. Default false. */
  readonly allowCleartext?: boolean;
  /**
   * The server's name, for DIGEST-MD5's `digest-uri` and the memory's key. Default: the name
   * the server gives in its EHLO reply.
   */
  readonly host?: string;
  /** The server's port, for OAUTHBEARER and the memory's key. Default 587. */
  readonly port?: number;
  /** The name given in the handler's own EHLO. Default `localhost`. */
  readonly ehloName?: string;
  /** Where mechanisms come from. Default `defaultRegistry` of `@saslkit/sasl` (SCRAM included). */
  readonly registry?: MechanismRegistry;
  /**
   * DIGEST-MD5 settings. `qop` lists the protection levels to accept, the strongest offered
   * wins (default `["auth"]`: no layer). With `auth-int` or `auth-conf`, `nodemailerAuth` also
   * returns a `getSocket` that gives nodemailer a socket of saslkit's own, and the layer is
   * applied to every byte after 235 (plain TCP only: over TLS no layer is negotiated, and a
   * `qop` without `"auth"` then fails with `invalid-argument`).
   */
  readonly digestMd5?: DigestMd5MechanismOptions;
  /** SCRAM settings (iteration bounds). */
  readonly scram?: ScramMechanismOptions;
  /** After 535: `try-others` (default) or `stop`; see `@saslkit/smtp`'s `authenticate`. */
  readonly badCredentials?: "try-others" | "stop";
  /** How often to retry a mechanism after a temporary failure (454). Default 1. */
  readonly temporaryRetries?: number;
  /** Send NOOP after 235 to catch a server that drops the connection. Default true. */
  readonly verifyAfterAuth?: boolean;
  /**
   * Remembers per server what worked and what failed. Default: one memory per
   * `nodemailerAuth` call, shared by every send of the transport.
   */
  readonly memory?: MechanismMemory;
  /**
   * How long the handler waits for each reply, in milliseconds. Default 30000. (When
   * nodemailer's connection dies under the handler, nodemailer fails the send at once; the
   * handler gives up after this long, or at once under {@linkcode sendMailWithFallback}.)
   */
  readonly timeoutMs?: number;
  /** Receives the decoded, redacted transcript of the handler's exchange. */
  readonly transcript?: TranscriptSink;
  /** Receives each attempt as it ends. */
  readonly onAttempt?: (attempt: AuthAttempt) => void;
}

/** nodemailer's SMTP transport options (its `SMTPTransportOptions`). */
export type NodemailerTransportOptions = SMTPTransportOptions;

/** nodemailer's message (its `SendMailOptions`). */
export type NodemailerMessage = SendMailOptions;

/** What nodemailer's SMTP transport reports for a message it sent. */
export type NodemailerSentInfo = SMTPSentMessageInfo;

/** What {@linkcode sendMailWithFallback} needs of a transporter from `createTransport`. */
export interface NodemailerTransporter {
  /** Sends one message. */
  sendMail(message: NodemailerMessage): Promise<NodemailerSentInfo>;
  /** Releases the transport. */
  close(): void;
}

/** The context nodemailer runs a custom authentication handler with. */
export type NodemailerAuthContext = SMTPConnectionCustomAuthContext;

/** The handler registered in `customAuth`. */
export type NodemailerAuthHandler = (ctx: NodemailerAuthContext) => Promise<void>;

/** What {@linkcode nodemailerAuth} returns: two options of `nodemailer.createTransport`. */
export interface NodemailerAuthSettings {
  /** nodemailer's `auth` option, forcing the saslkit method. */
  readonly auth: {
    readonly type: "custom";
    readonly method: typeof SASLKIT_METHOD;
    readonly user: string;
    readonly pass?: string;
  };
  /** nodemailer's `customAuth` option. */
  readonly customAuth: { readonly [SASLKIT_METHOD]: NodemailerAuthHandler };
  /**
   * nodemailer's `getSocket` option, only when a DIGEST-MD5 security layer may be negotiated:
   * a socket of saslkit's own that applies the layer after 235.
   */
  readonly getSocket?: NodemailerGetSocket;
}

/** nodemailer's `getSocket` option (its `SMTPTransportGetSocket`). */
export type NodemailerGetSocket = SMTPTransportGetSocket;

/**
 * Authentication through saslkit failed. nodemailer sets `code` to `EAUTH` (and `response`,
 * `responseCode`, `command`) on it; saslkit's own stable reason is `saslkitCode`. The message
 * names mechanisms and server replies, never a secret.
 *
 * @example
 * ```ts
 * import { NodemailerAuthError } from "@saslkit/adapters/nodemailer";
 * import assert from "node:assert/strict";
 *
 * const error = new NodemailerAuthError("no-mechanism", "the server offers no usable mechanism");
 * assert.equal(error.saslkitCode, "no-mechanism");
 * assert.deepEqual(error.attempts, []);
 * ```
 */
export class NodemailerAuthError extends Error {
  /** saslkit's reason, one of the `SmtpErrorCode`s of `@saslkit/smtp`. */
  readonly saslkitCode: SmtpErrorCode;
  /** Every attempt, in order (across connections for {@linkcode sendMailWithFallback}). */
  readonly attempts: readonly AuthAttempt[];
  /** The mechanisms never tried, and why. */
  readonly skipped: readonly SkippedMechanism[];

  /**
   * Creates the error.
   *
   * @param saslkitCode The reason.
   * @param message A secret-free summary.
   * @param attempts The attempts made.
   * @param skipped The mechanisms never tried.
   * @param options The error that caused this one.
   */
  constructor(
    saslkitCode: SmtpErrorCode,
    message: string,
    attempts: readonly AuthAttempt[] = [],
    skipped: readonly SkippedMechanism[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "NodemailerAuthError";
    this.saslkitCode = saslkitCode;
    this.attempts = attempts;
    this.skipped = skipped;
  }
}

// ------------------------------------------------------------------------------- options

const CONFIG = Symbol("saslkit nodemailer config");

interface HandlerWithConfig extends NodemailerAuthHandler {
  [CONFIG]?: Config;
}

interface Config extends NodemailerAuthOptions {
  readonly memory: MechanismMemory;
}

function invalid(message: string): SmtpError {
  return new SmtpError("invalid-argument", message);
}

function checkOptions(options: NodemailerAuthOptions): Config {
  if (typeof options !== "object" || options === null) {
    throw invalid("nodemailerAuth() takes an options object");
  }
  const { user, pass, token } = options;
  if (user !== undefined && typeof user !== "string") throw invalid("user must be a string");
  if (token === undefined) {
    if (typeof user !== "string" || user === "") throw invalid("user must be a non-empty string");
    if (typeof pass !== "string" || pass === "") {
      throw invalid("pass (or token) must be a non-empty string");
    }
  } else {
    if (pass !== undefined) throw invalid("give pass or token, not both");
    if (typeof token !== "function" && (typeof token !== "string" || token === "")) {
      throw invalid("token must be a non-empty string or a function");
    }
  }
  if (
    options.mechanisms !== undefined &&
    (!Array.isArray(options.mechanisms) || options.mechanisms.some((m) => typeof m !== "string"))
  ) {
    throw invalid("mechanisms must be an array of mechanism names");
  }
  const qop = options.digestMd5?.qop;
  const QOPS = ["auth", "auth-int", "auth-conf"];
  if (qop !== undefined && (!Array.isArray(qop) || qop.some((q) => !QOPS.includes(q)))) {
    throw invalid(`digestMd5.qop must be an array of ${QOPS.join(", ")}`);
  }
  return { ...options, memory: options.memory ?? new InMemoryMechanismMemory() };
}

// ------------------------------------------------------------------------------ handler

// One nodemailer connection's authentication, as sendMailWithFallback follows it.
class Run {
  phase: "idle" | "auth" | "authenticated" | "failed" = "idle";
  readonly attempts: AuthAttempt[] = [];
  skipped: readonly SkippedMechanism[] = [];
  mechanism: string | undefined;
  /** What the server offered in the handler's EHLO. */
  offered: readonly string[] = [];
  needsNewConnection = false;
  #stop: (() => void) | undefined;
  readonly done: Promise<void>;
  /** Rejects when sendMailWithFallback gives the connection up. */
  readonly aborted: Promise<never>;
  #settle!: () => void;
  #abort!: (error: Error) => void;

  constructor() {
    this.done = new Promise((resolve) => (this.#settle = resolve));
    this.aborted = new Promise((_, reject) => (this.#abort = reject));
    this.aborted.catch(() => {});
  }

  /** What ends the handler's wait on a dead connection. */
  onAbort(stop: () => void): void {
    this.#stop = stop;
  }

  abort(): void {
    this.#stop?.();
    this.#abort(new SmtpError("connection-lost", "nodemailer's connection is gone"));
  }

  settle(): void {
    this.#settle();
  }
}

const NEEDS_NEW_CONNECTION = "the mechanism left nodemailer's connection unusable";

function parseReply(response: string): SmtpReply {
  const parser = new ReplyParser();
  let reply: SmtpReply | undefined;
  for (const line of response.replace(/\r?\n$/, "").split(/\r?\n/)) {
    if (reply) throw new SmtpError("protocol", "more than one reply to EHLO");
    reply = parser.push(line);
  }
  if (!reply) throw new SmtpError("protocol", "incomplete reply to EHLO");
  return reply;
}

function credentialsOf(config: Config, ctx: NodemailerAuthContext): Credentials {
  const given = ctx.auth?.credentials ?? {};
  const user = typeof given.user === "string" && given.user !== "" ? given.user : config.user;
  if (config.token !== undefined) {
    return { kind: "oauth", username: user, token: config.token };
  }
  const pass = typeof given.pass === "string" && given.pass !== "" ? given.pass : config.pass;
  return {
    username: user ?? "",
    password: pass ?? "",
    ...(config.authorizationId === undefined ? {} : { authorizationId: config.authorizationId }),
  };
}

function authError(error: unknown, run: Run): NodemailerAuthError {
  if (run.needsNewConnection) {
    const last = run.attempts.at(-1);
    return new NodemailerAuthError(
      "connection-lost",
      `${NEEDS_NEW_CONNECTION}${last ? ` (${last.mechanism}: ${last.result})` : ""}; ` +
        "sendMailWithFallback() goes on with the next mechanism on a new connection",
      run.attempts,
      run.skipped,
      { cause: error },
    );
  }
  if (error instanceof SmtpAuthError) {
    return new NodemailerAuthError(error.code, error.message, error.attempts, error.skipped, {
      cause: error,
    });
  }
  if (error instanceof SmtpError) {
    return new NodemailerAuthError(error.code, error.message, run.attempts, run.skipped, {
      cause: error,
    });
  }
  return new NodemailerAuthError("auth-client", "saslkit's handler failed", run.attempts, [], {
    cause: error,
  });
}

// A timer that never keeps the process alive by itself (Node and Bun objects, Deno ids).
function unref(timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer) {
    (timer as { unref(): void }).unref();
  } else {
    (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer?.(
      timer as unknown as number,
    );
  }
}

function wantsLayer(config: Config): boolean {
  return config.digestMd5?.qop?.some((qop) => qop !== "auth") ?? false;
}

// Sends the marker that lets the socket saslkit's getSocket made recognise this handler.
async function bindSocket(
  ctx: NodemailerAuthContext,
  state: Run,
): Promise<LayerSocket | undefined> {
  const id = `saslkit-${
    Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0"))
      .join("")
  }`;
  const reply = await Promise.race([ctx.sendCommand(`NOOP ${id}`), state.aborted]);
  const socket = claimSocket(id);
  if (reply.status !== 250) throw new SmtpError("rejected", `NOOP failed: ${reply.status}`);
  return socket && !socket.tls ? socket : undefined;
}

// The check after 235 on saslkit's socket, through the layer when one is in force: NOOP.
// A connection that dies here is what the policy calls dropped-after-auth.
async function verifyLayered(
  ctx: NodemailerAuthContext,
  state: Run,
  config: Config,
  host: string,
  mechanism: string,
  layer: SecurityLayer | undefined,
): Promise<void> {
  let ok = false;
  // A server that ignores the layer reads the framed NOOP as an unfinished line and says
  // nothing: the reply timeout decides.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), config.timeoutMs ?? 30_000);
    unref(timer);
  });
  try {
    ok = (await Promise.race([ctx.sendCommand("NOOP"), state.aborted, timeout])).status === 250;
  } catch {
    ok = false;
  } finally {
    clearTimeout(timer);
  }
  if (ok) return;
  const attempt: AuthAttempt = {
    mechanism,
    result: "dropped-after-auth",
    detail: "the connection did not survive NOOP after 235",
    qop: layer?.qop ?? "auth",
    cipher: layer?.cipher,
  };
  state.attempts.push(attempt);
  config.onAttempt?.(attempt);
  const key = `${host}:${config.port ?? 587}`;
  const record = await config.memory.get(key);
  await config.memory.set(key, {
    worked: record?.worked === mechanism ? undefined : record?.worked,
    failed: { ...record?.failed, [mechanism]: "dropped-after-auth" },
  });
  state.needsNewConnection = true;
  throw new SmtpError("connection-lost", "NOOP after 235 failed");
}

function createHandler(config: Config, run: () => Run): NodemailerAuthHandler {
  return async (ctx) => {
    const state = run();
    state.phase = "auth";
    try {
      const name = config.ehloName ?? "localhost";
      if (/[\r\n]/.test(name)) throw invalid("ehloName must not contain CR or LF");
      // nodemailer only detects four mechanisms: ask the server for its real list.
      // Every wait on nodemailer's connection also ends when sendMailWithFallback gives it up.
      const ehlo = await Promise.race([ctx.sendCommand(`EHLO ${name}`), state.aborted]);
      const reply = parseReply(ehlo.response);
      if (reply.code !== 250) {
        throw new SmtpError("rejected", `EHLO failed: ${reply.code}`, { reply });
      }
      // A security layer needs the socket: find the one getSocket made for this connection.
      const layered = wantsLayer(config) ? await bindSocket(ctx, state) : undefined;
      if (wantsLayer(config) && !layered && !config.digestMd5!.qop!.includes("auth")) {
        throw invalid(
          "digestMd5.qop asks for a security layer that cannot be applied on this connection " +
            "(it runs over TLS, or over a getSocket that is not nodemailerAuth's)",
        );
      }
      const capabilities = parseEhlo(reply);
      state.offered = capabilities.auth;
      const host = config.host ?? capabilities.domain;
      const bridge = new NodemailerBridge(
        ctx,
        config.secure ?? false,
        `220 ${host} ESMTP (nodemailer's connection)`,
        ehlo.response,
      );
      state.onAbort(() => bridge.close());
      let opened = false;
      const result = await authenticate({
        host,
        port: config.port,
        security: "none", // nodemailer has done STARTTLS, if any
        connect: () => {
          if (opened) {
            state.needsNewConnection = true;
            return Promise.reject(new SmtpError("connection-lost", NEEDS_NEW_CONNECTION));
          }
          opened = true;
          return Promise.resolve(bridge);
        },
        ehloName: name,
        credentials: credentialsOf(config, ctx),
        mechanisms: config.mechanisms,
        registry: config.registry,
        digestMd5: { ...config.digestMd5, qop: layered ? config.digestMd5?.qop : ["auth"] },
        scram: config.scram,
        allowCleartext: config.allowCleartext,
        badCredentials: config.badCredentials,
        temporaryRetries: config.temporaryRetries,
        // With saslkit's socket the check after 235 runs below, once the layer is in force.
        verifyAfterAuth: layered ? false : config.verifyAfterAuth,
        memory: config.memory,
        timeoutMs: config.timeoutMs,
        transcript: config.transcript,
        onAttempt: (attempt) => {
          state.attempts.push(attempt);
          config.onAttempt?.(attempt);
        },
      });
      bridge.close(); // the session is done; the connection goes on as nodemailer's
      if (layered) {
        const layer = result.outcome.securityLayer;
        if (layer) layered.install(layer);
        if (config.verifyAfterAuth ?? true) {
          await verifyLayered(ctx, state, config, host, result.mechanism, layer);
        }
      }
      state.mechanism = result.mechanism;
      state.skipped = result.skipped;
      state.phase = "authenticated";
    } catch (error) {
      state.phase = "failed";
      if (error instanceof SmtpAuthError) state.skipped = error.skipped;
      throw authError(error, state);
    } finally {
      state.settle();
    }
  };
}

/**
 * The options to spread into `nodemailer.createTransport(...)` so that it authenticates
 * with saslkit: `auth` forces the saslkit method (nodemailer only runs a custom handler when
 * its method is forced), `customAuth` holds the handler.
 *
 * The handler sends its own `EHLO` to read the server's AUTH list, negotiates with the
 * registry (PLAIN, LOGIN and tokens only when `secure` or `allowCleartext`), and runs
 * `@saslkit/smtp`'s fallback policy over nodemailer's connection: each mechanism in your
 * order, the next one after a refusal, a failed exchange or a server that cannot prove itself.
 * When a mechanism leaves the connection unusable (a drop after `235`), nodemailer fails the
 * send; {@linkcode sendMailWithFallback} then goes on over a new connection.
 *
 * @param options Credentials, order, connection facts; see {@linkcode NodemailerAuthOptions}.
 * @returns `{ auth, customAuth }` for `createTransport`.
 * @throws {SmtpError} `invalid-argument` for unusable options (the message names the option,
 * never its value).
 *
 * @example Opting in to a DIGEST-MD5 confidentiality layer, as Sendmail offers it
 * ```ts
 * import nodemailer from "nodemailer";
 * import { nodemailerAuth } from "@saslkit/adapters/nodemailer";
 * import { startTestServer } from "@saslkit/smtp/test-server";
 * import assert from "node:assert/strict";
 *
 * const server = await startTestServer(); // offers qop="auth,auth-int,auth-conf"
 * const transporter = nodemailer.createTransport({
 *   host: server.hostname,
 *   port: server.port,
 *   name: "client.example.com",
 *   ignoreTLS: true,
 *   ...nodemailerAuth({
 *     user: "smtpuser",
 *     pass: "secret",
 *     host: "mail.example.com",
 *     digestMd5: { qop: ["auth-conf", "auth"], ciphers: ["rc4"] },
 *   }),
 * });
 * await transporter.sendMail({ from: "a@example.com", to: "b@example.com", text: "hi" });
 * transporter.close();
 * assert.equal(server.messages[0].qop, "auth-conf"); // MAIL FROM onwards inside the layer
 * await server.close();
 * ```
 *
 * @example A transport that prefers CRAM-MD5 and never sends the password in the clear
 * ```ts
 * import nodemailer from "nodemailer";
 * import { nodemailerAuth } from "@saslkit/adapters/nodemailer";
 *
 * const transporter = nodemailer.createTransport({
 *   host: "mail.example.com",
 *   port: 587,
 *   requireTLS: true,
 *   ...nodemailerAuth({
 *     user: "smtpuser",
 *     pass: "secret",
 *     mechanisms: ["CRAM-MD5", "DIGEST-MD5", "PLAIN"],
 *     secure: true, // requireTLS: nodemailer never authenticates without TLS
 *   }),
 * });
 * transporter.close();
 * ```
 */
export function nodemailerAuth(options: NodemailerAuthOptions): NodemailerAuthSettings {
  const config = checkOptions(options);
  const handler: HandlerWithConfig = createHandler(config, () => new Run());
  Object.defineProperty(handler, CONFIG, { value: config });
  return {
    auth: {
      type: "custom",
      method: SASLKIT_METHOD,
      user: config.user ?? "",
      ...(config.pass === undefined ? {} : { pass: config.pass }),
    },
    customAuth: { [SASLKIT_METHOD]: handler },
    ...(wantsLayer(config) ? { getSocket: layerGetSocket } : {}),
  };
}

// ------------------------------------------------------------------------------ fallback

/** Options of {@linkcode sendMailWithFallback}. */
export interface FallbackOptions {
  /** Makes each connection's transport; default nodemailer's `createTransport`. */
  readonly createTransport?: (options: NodemailerTransportOptions) => NodemailerTransporter;
}

/** A message sent by {@linkcode sendMailWithFallback}. */
export interface FallbackResult {
  /** nodemailer's result of the send that delivered the message. */
  readonly info: NodemailerSentInfo;
  /** The mechanism that authenticated the connection that carried it. */
  readonly mechanism: string;
  /** Every attempt across every connection, in order, the successful one last. */
  readonly attempts: readonly AuthAttempt[];
  /** How many connections were opened. */
  readonly connections: number;
}

function configOf(options: SMTPTransportOptions): Config {
  const handler = (options?.customAuth as Record<string, unknown> | undefined)?.[SASLKIT_METHOD];
  const config = (handler as HandlerWithConfig | undefined)?.[CONFIG];
  if (!config) {
    throw invalid("spread nodemailerAuth(...) into the transport options first");
  }
  return config;
}

// nodemailer's transport options say whether the connection will be encrypted before AUTH:
// implicit TLS (`secure`, or port 465 without `secure: false`) or STARTTLS that must succeed.
function transportIsSecure(options: SMTPTransportOptions): boolean {
  if (options.secure === true || options.requireTLS === true) return true;
  return options.secure === undefined && Number(options.port) === 465;
}

/**
 * Sends one message through nodemailer with saslkit's authentication and the fallback one
 * nodemailer connection cannot do: when a mechanism leaves the connection unusable — the
 * server answers `235` and drops the connection at the next command, or closes it during the
 * exchange — it opens a new connection and goes on with the next mechanism (the failed one
 * left out for this message, remembered as failed for the next). The message is sent exactly
 * once: it is resent only when the connection died before nodemailer issued `MAIL FROM`; a
 * failure after that is thrown as nodemailer reported it.
 *
 * Whether the connection is encrypted is read from the transport options (`secure`, port 465,
 * `requireTLS`) unless `nodemailerAuth`'s `secure` says it; `host` and `port` default to the
 * transport's. Message content is sent once per connection tried: give it as strings,
 * buffers or paths, not as a stream that can be read only once.
 *
 * @param transportOptions nodemailer SMTP options with `...nodemailerAuth(...)` spread in.
 * @param message nodemailer's message.
 * @param options How transports are made.
 * @returns The send's `info`, the mechanism, every attempt and the number of connections.
 * @throws {NodemailerAuthError} when no mechanism got the message through (`saslkitCode`
 * says why, `attempts` what happened); nodemailer's own error for any other failure;
 * {@linkcode SmtpError} `invalid-argument` without `nodemailerAuth` in the options.
 *
 * @example The server drops the connection after 235 for DIGEST-MD5
 * ```ts
 * import { nodemailerAuth, sendMailWithFallback } from "@saslkit/adapters/nodemailer";
 * import { startTestServer } from "@saslkit/smtp/test-server";
 * import assert from "node:assert/strict";
 *
 * const server = await startTestServer({ behaviour: { dropAfterAuth: ["DIGEST-MD5"] } });
 * const { mechanism, connections } = await sendMailWithFallback(
 *   {
 *     host: server.hostname,
 *     port: server.port,
 *     name: "client.example.com",
 *     ignoreTLS: true,
 *     ...nodemailerAuth({ user: "smtpuser", pass: "secret", host: "mail.example.com" }),
 *   },
 *   { from: "a@example.com", to: "b@example.com", text: "hi" },
 * );
 * assert.equal(mechanism, "CRAM-MD5");
 * assert.equal(connections, 2);
 * assert.equal(server.messages.length, 1);
 * await server.close();
 * ```
 */
export async function sendMailWithFallback(
  transportOptions: NodemailerTransportOptions,
  message: NodemailerMessage,
  options: FallbackOptions = {},
): Promise<FallbackResult> {
  const base = configOf(transportOptions);
  const create = options.createTransport ??
    ((o: SMTPTransportOptions) => nodemailer.createTransport(o));
  const secure = base.secure ?? transportIsSecure(transportOptions);
  const port = base.port ??
    (Number(transportOptions.port) || (transportOptions.secure === true ? 465 : 587));
  const host = base.host ?? transportOptions.host;
  const excluded = new Set<string>();
  const attempts: AuthAttempt[] = [];
  let last: { error: unknown; run: Run } | undefined;
  for (let connections = 1;; connections++) {
    const mechanisms = (base.mechanisms ?? DEFAULT_MECHANISMS)
      .filter((name) => !excluded.has(name.toUpperCase()));
    // Another connection only when the server offers a mechanism not yet ruled out.
    if (last && !mechanisms.some((name) => last!.run.offered.includes(name.toUpperCase()))) break;
    const run = new Run();
    const config: Config = { ...base, secure, port, host, mechanisms };
    const transporter = create({
      ...transportOptions,
      customAuth: {
        ...transportOptions.customAuth,
        [SASLKIT_METHOD]: createHandler(config, () => run),
      },
    });
    try {
      const info = await transporter.sendMail(message);
      attempts.push(...run.attempts);
      return { info, mechanism: run.mechanism ?? "", attempts, connections };
    } catch (error) {
      const started = run.phase !== "idle";
      // nodemailer fails the send at once when the connection dies under the handler, which
      // is still waiting for a reply: end its wait, so that the policy records the attempt.
      run.abort();
      if (started) await run.done;
      attempts.push(...run.attempts);
      const retry = run.needsNewConnection || (started && run.phase === "failed" &&
        !(error instanceof NodemailerAuthError) && run.attempts.length > 0);
      const culprit = run.attempts.at(-1)?.mechanism;
      if (!retry || culprit === undefined || excluded.has(culprit)) {
        if (error instanceof NodemailerAuthError) {
          throw new NodemailerAuthError(error.saslkitCode, error.message, attempts, error.skipped, {
            cause: error,
          });
        }
        throw error;
      }
      excluded.add(culprit);
      last = { error, run };
    } finally {
      transporter.close();
    }
  }
  const { error, run } = last!;
  throw new NodemailerAuthError(
    "auth-rejected",
    `every mechanism left the connection unusable (${
      attempts.map((a) => `${a.mechanism}: ${a.result}`).join(", ")
    })`,
    attempts,
    run.skipped,
    { cause: error },
  );
}

// The types this module's API mentions, so that its documentation is whole.
export type {
  AnonymousCredentials,
  AttemptResult,
  AuthAttempt,
  ChannelBindingMode,
  ChannelBindings,
  ChannelBindingType,
  ClientMechanism,
  CredentialKind,
  Credentials,
  DigestCipher,
  DigestMd5MechanismOptions,
  DigestMd5NonceStore,
  DigestMd5ReauthCache,
  ExternalCredentials,
  MechanismContext,
  MechanismDescriptor,
  MechanismMemory,
  MechanismOptions,
  MechanismProperties,
  MechanismRegistry,
  Negotiation,
  NegotiationInput,
  OAuthCredentials,
  PasswordCredentials,
  Qop,
  RedactionStep,
  SaslError,
  SaslErrorCode,
  SaslOutcome,
  ScramCache,
  ScramCachedKeys,
  ScramMechanismOptions,
  SecurityLayer,
  ServerCredentials,
  ServerMechanism,
  ServerRecord,
  ServerStep,
  SkippedMechanism,
  SkipReason,
  SmtpErrorCode,
  SmtpReply,
  TokenProvider,
  TokenVerdict,
  TranscriptEntry,
  TranscriptSink,
} from "@saslkit/smtp";
export type { ScramCredentials } from "@saslkit/sasl/scram";
