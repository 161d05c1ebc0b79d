/**
 * Real SMTP servers for saslkit's tests, on 127.0.0.1 only: Sendmail 8.17 with Cyrus SASL 2.1.28
 * (the server of the motivating bug report, DIGEST-MD5 with security layers; SCRAM-SHA-1 and
 * SCRAM-SHA-256 on request) and Postfix 3.7 with Dovecot 2.3 SASL (on request also SCRAM,
 * OAUTHBEARER and XOAUTH2 with locally validated JWTs, EXTERNAL, ANONYMOUS, and STARTTLS with
 * client certificates; and Dovecot's own submission server, where EXTERNAL works). The tests
 * check them from the wire with `gsasl`, swaks and Perl too. Test tooling only: `interop/` is not
 * published.
 *
 * Each server runs from the shell scripts in `scripts/peers/sendmail/` and
 * `scripts/peers/postfix/`, installed by `scripts/peers/mail.sh` (root, Debian), in its own
 * mount, UTS and PID namespace: a private /etc/hosts and resolv.conf keep every lookup on the
 * machine, a private /dev/log captures syslog, Cyrus's fixed `/etc/sasl2/Sendmail.conf` is a
 * bind mount that exists only in the namespace (the host's file is never written, and two
 * Sendmails can run at once), and ending the namespace ends every daemon. Each start gets a
 * fresh state folder under /tmp and a free port.
 *
 * Tests gate on {@linkcode requirePeer}: where a server cannot run, the test fails under
 * `CI=true` and is skipped, with a loud warning, elsewhere.
 *
 * @example
 * ```ts ignore
 * import { requirePeer, startSendmail } from "./servers.ts";
 *
 * Deno.test({ name: "AUTH against Sendmail", ...requirePeer("sendmail"), fn: async () => {
 *   await using server = await startSendmail();
 *   // connect to server.host:server.port, log in as server.users[0]…
 *   console.log(await server.queuedMessages());
 * } });
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The servers this module runs. */
export type PeerName = "sendmail" | "postfix";

/** A user the server knows. */
export interface PeerUser {
  /** The name a client logs in with (without realm). */
  readonly username: string;
  /** Its password. */
  readonly password: string;
}

/**
 * How a Postfix peer with OAUTHBEARER or XOAUTH2 checks bearer tokens: Dovecot's oauth2 passdb
 * validates a JWT locally (no HTTP) when its header has `typ: "JWT"` and `alg: "HS256"`, its
 * signature is HMAC-SHA-256 under {@linkcode OAuthSetup.key}, its `iss` is
 * {@linkcode OAuthSetup.issuer}, `exp` lies ahead (`nbf`, `iat` are checked when present), and
 * its `sub` is the user the client names, with realm (`smtpuser@example.com`).
 */
export interface OAuthSetup {
  /** The HS256 key (32 random bytes, new at every start). */
  readonly key: Uint8Array;
  /** The only `iss` Dovecot accepts. */
  readonly issuer: string;
}

/** The STARTTLS material of a Postfix peer started with `tls: true` (PEM, made at start). */
export interface TlsSetup {
  /** The test CA that signed both certificates: trust it as `ca`. */
  readonly ca: string;
  /** A client certificate (CN=smtpuser, emailAddress smtpuser@example.com) the server accepts. */
  readonly clientCert: string;
  /** Its private key (P-256). */
  readonly clientKey: string;
}

/** A running SMTP server. */
export interface SmtpPeer {
  /** Which server this is. */
  readonly name: PeerName;
  /** Always the loopback address. */
  readonly host: "127.0.0.1";
  /** The port it listens on (chosen free at start). */
  readonly port: number;
  /**
   * Users that can log in: `smtpuser`/`secret`, then `jürgen`/`pässwörd` where the server
   * accepts that name.
   */
  readonly users: readonly PeerUser[];
  /** The SASL realm, `example.com`. */
  readonly realm: string;
  /** The SASL mechanisms it was configured to offer, in its order. */
  readonly mechanisms: readonly string[];
  /** With OAUTHBEARER or XOAUTH2 (Postfix): how to make a token it accepts. */
  readonly oauth?: OAuthSetup;
  /** With `tls: true`: its CA and a client certificate. */
  readonly tls?: TlsSetup;
  /**
   * With `submission: true` (Postfix): the port of Dovecot's own SMTP submission server, which
   * relays what it accepts through this Postfix (so it lands in the same queue).
   */
  readonly submissionPort?: number;
  /** The server's private state folder (configuration, queue, logs). */
  readonly stateDir: string;
  /**
   * The text of every accepted message still queued. Sendmail: the `qf` file (envelope and
   * headers) followed by the `df` file (body). Postfix: `postcat` of each queue file (envelope
   * records, then the message).
   */
  queuedMessages(): Promise<string[]>;
  /**
   * Everything the server logged so far, file by file under `==> name <==` lines. Sendmail:
   * `traffic.log` (every SMTP line, `sendmail -X`) and `syslog.log` (Sendmail and Cyrus at
   * LogLevel 20). Postfix: `postfix.log` (with every SMTP line), `dovecot.log`, `syslog.log`.
   */
  log(): Promise<string>;
  /**
   * Ends the server and every process it started, and deletes the state folder unless
   * `SASLKIT_KEEP_PEER_STATE=1`. Safe to call more than once.
   */
  stop(): Promise<void>;
  /** Lets `await using server = await startSendmail()` stop the server. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode startSendmail}. */
export interface SendmailOptions {
  /**
   * Allow SASL security layers (default `true`): DIGEST-MD5 then offers
   * `qop="auth,auth-int,auth-conf"` and the ciphers rc4-40, rc4-56, rc4, des and 3des. `false`
   * sets `confAUTH_MAX_BITS 0`, and DIGEST-MD5 offers only `qop="auth"`.
   */
  layers?: boolean;
  /**
   * The mechanisms Sendmail offers and trusts, in order (`confAUTH_MECHANISMS`,
   * `TRUST_AUTH_MECH`, Cyrus's `mech_list`). Default {@linkcode SENDMAIL_MECHANISMS}; Cyrus
   * 2.1.28 also serves `SCRAM-SHA-256` and `SCRAM-SHA-1` from the same sasldb, and `EXTERNAL`
   * (with `tls`).
   */
  mechanisms?: readonly string[];
  /**
   * Offer STARTTLS with a certificate of a test CA and ask for a client certificate (see
   * {@linkcode SmtpPeer.tls}). Sendmail hands a verified client's subject to Cyrus as the
   * external identity, so `EXTERNAL`, offered only after such a STARTTLS, logs in as
   * `/O=saslkit+20tests/CN=smtpuser/emailAddress=smtpuser@example.com` (the subject, xtext as
   * Sendmail keeps it). Default `false`.
   */
  tls?: boolean;
  /** How long to wait for the 220 banner, in milliseconds (default 20000). */
  startTimeoutMs?: number;
}

/** Options of {@linkcode startPostfixDovecot}. */
export interface PostfixOptions {
  /**
   * The mechanisms Dovecot offers, in order (`auth_mechanisms`). Default
   * {@linkcode POSTFIX_MECHANISMS}; Dovecot 2.3 also has `SCRAM-SHA-1`, `SCRAM-SHA-256` (then
   * a third user, `scramuser`, is stored only as a SCRAM-SHA-256 secret), `OAUTHBEARER` and
   * `XOAUTH2` (see {@linkcode SmtpPeer.oauth}), `EXTERNAL` (Postfix then announces it, which by
   * default it does not) and `ANONYMOUS` (logs in as `anonymous`; Postfix's `noanonymous` is
   * then dropped, and the anonymous user may relay through `check_sasl_access`, since
   * `permit_sasl_authenticated` never permits ANONYMOUS).
   */
  mechanisms?: readonly string[];
  /**
   * Offer STARTTLS with a certificate of a test CA and ask for a client certificate
   * (`smtpd_tls_ask_ccert`; see {@linkcode SmtpPeer.tls}). Default `false`.
   */
  tls?: boolean;
  /**
   * Also run Dovecot's SMTP submission server (on {@linkcode SmtpPeer.submissionPort}), with
   * the same mechanisms, STARTTLS and client-certificate verification, relaying through the
   * Postfix as `smtpuser` with PLAIN. Dovecot sees the client certificate there, so its
   * `EXTERNAL` logs in as the certificate's CN (`smtpuser@example.com`), which it cannot behind
   * Postfix. Needs `tls`, `EXTERNAL` and `PLAIN`. Default `false`.
   */
  submission?: boolean;
  /** How long to wait for the 220 banner, in milliseconds (default 20000). */
  startTimeoutMs?: number;
}

/** What Sendmail offers unless told otherwise: the list of the motivating report. */
export const SENDMAIL_MECHANISMS: readonly string[] = ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"];
/** What Postfix + Dovecot offers unless told otherwise. */
export const POSTFIX_MECHANISMS: readonly string[] = ["PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5"];

/** Whether a server can run here, and if not, why. */
export interface PeerAvailability {
  /** `true` when the server can be started. */
  ok: boolean;
  /** What is missing, when `ok` is `false`. */
  why?: string;
}

const REALM = "example.com";
const PEERS_DIR = fileURLToPath(new URL("../../../scripts/peers/", import.meta.url));
const POSTFIX_PREFIX = process.env.SASLKIT_POSTFIX_PREFIX ?? "/opt/saslkit-postfix";
const INSTALL_HINT = "run `bash scripts/peers/mail.sh` as root (Debian) to install it";
const DOVECOT_SUBMISSION = "/usr/lib/dovecot/submission-login";

const availabilityCache = new Map<PeerName, PeerAvailability>();
let namespacesProbe: PeerAvailability | undefined;

function findCommand(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin"])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function probeNamespaces(): PeerAvailability {
  if (namespacesProbe) return namespacesProbe;
  const result = spawnSync(
    "unshare",
    ["--mount", "--uts", "--pid", "--fork", "--mount-proc", "--propagation", "private", "true"],
    { timeout: 5000, encoding: "utf8" },
  );
  namespacesProbe = result.status === 0 ? { ok: true } : {
    ok: false,
    why: `unshare cannot create mount/UTS/PID namespaces here: ${
      result.error?.message ?? (result.stderr.trim() || `exit ${result.status}`)
    }`,
  };
  return namespacesProbe;
}

/**
 * Whether the server `name` can be started on this machine: Linux, root, namespaces allowed,
 * and what `scripts/peers/mail.sh` installs present. Cheap after the first call (cached).
 *
 * @example
 * ```ts
 * import { peerAvailability } from "./servers.ts";
 *
 * const { ok, why } = peerAvailability("postfix");
 * if (!ok) console.log(`no Postfix here: ${why}`);
 * ```
 */
export function peerAvailability(name: PeerName): PeerAvailability {
  const cached = availabilityCache.get(name);
  if (cached) return cached;
  const result = checkAvailability(name);
  availabilityCache.set(name, result);
  return result;
}

function checkAvailability(name: PeerName): PeerAvailability {
  if (process.platform !== "linux") {
    return { ok: false, why: `needs Linux, not ${process.platform}` };
  }
  if (process.getuid?.() !== 0) {
    return { ok: false, why: "needs root (namespaces, a private /etc/sasl2, the MTA's users)" };
  }
  const needed = name === "sendmail"
    ? ["sendmail-mta", "m4", "saslpasswd2", "openssl", "gsasl", "unshare", "perl"]
    : ["dovecot", "doveadm", "openssl", "gsasl", "unshare", "perl"];
  const missing = needed.filter((command) => !findCommand(command));
  if (name === "postfix" && !existsSync(join(POSTFIX_PREFIX, ".saslkit-version"))) {
    missing.push(`Postfix unpacked in ${POSTFIX_PREFIX}`);
  }
  if (missing.length) return { ok: false, why: `missing ${missing.join(", ")}; ${INSTALL_HINT}` };
  return probeNamespaces();
}

const warned = new Set<PeerName>();

/**
 * Test options that gate a `Deno.test` on the server `name`. Where the server cannot run: under
 * `CI=true` the test runs and fails (the start throws, saying why); elsewhere it is ignored and a
 * loud warning says why (once per server).
 *
 * @example
 * ```ts ignore
 * Deno.test({ name: "EHLO", ...requirePeer("postfix"), fn: async () => {
 *   await using server = await startPostfixDovecot();
 * } });
 * ```
 */
export function requirePeer(name: PeerName): { ignore: boolean } {
  const { ok, why } = peerAvailability(name);
  if (ok || process.env.CI === "true") return { ignore: false };
  if (!warned.has(name)) {
    warned.add(name);
    const bar = "!".repeat(78);
    console.warn(
      `\n${bar}\n!! SMTP interop tests against ${name} SKIPPED: ${why}\n` +
        `!! (under CI=true they fail instead)\n${bar}\n`,
    );
  }
  return { ignore: true };
}

/**
 * Starts Sendmail with Cyrus SASL on 127.0.0.1 and a free port, offering
 * `AUTH DIGEST-MD5 CRAM-MD5 LOGIN PLAIN` (or `mechanisms`) in realm `example.com`. Nothing is
 * delivered: accepted
 * messages stay in the queue ({@linkcode SmtpPeer.queuedMessages}). Resolves once the server
 * answers with its 220 banner (about a second).
 *
 * @throws {Error} when the server cannot run here, or gives no banner within `startTimeoutMs`
 * (with the tail of its log).
 *
 * @example
 * ```ts ignore
 * await using server = await startSendmail({ layers: false }); // DIGEST-MD5: qop=auth only
 * ```
 */
export function startSendmail(options: SendmailOptions = {}): Promise<SmtpPeer> {
  const layers = options.layers ?? true;
  const mechanisms = checkMechanisms(options.mechanisms ?? SENDMAIL_MECHANISMS);
  return startPeer(
    "sendmail",
    mechanisms,
    (state, port) => [
      join(PEERS_DIR, "sendmail", "start.sh"),
      state,
      String(port),
      ...(layers ? [] : ["--no-layers"]),
      "--mechanisms",
      mechanisms.join(" "),
      ...(options.tls ? ["--tls"] : []),
    ],
    options.startTimeoutMs,
  );
}

function checkMechanisms(mechanisms: readonly string[]): readonly string[] {
  if (!mechanisms.length || mechanisms.some((name) => !/^[A-Z0-9_-]{1,20}$/.test(name))) {
    throw new Error(`not a list of SASL mechanism names: ${JSON.stringify(mechanisms)}`);
  }
  return [...mechanisms];
}

/**
 * Starts Postfix with Dovecot SASL on 127.0.0.1 and a free port, offering
 * `AUTH PLAIN LOGIN CRAM-MD5 DIGEST-MD5` (or `mechanisms`; and the old `AUTH=` line) without
 * TLS (or with STARTTLS: `tls`), realm `example.com`. An authenticated client may send to any address; every accepted message is
 * put on hold ({@linkcode SmtpPeer.queuedMessages}). Resolves once the server answers with its
 * 220 banner (two to three seconds).
 *
 * @throws {Error} when the server cannot run here, or gives no banner within `startTimeoutMs`
 * (with the tail of its log).
 *
 * @example
 * ```ts ignore
 * await using server = await startPostfixDovecot({
 *   mechanisms: ["SCRAM-SHA-256", "OAUTHBEARER", "PLAIN"],
 *   tls: true,
 * });
 * ```
 */
export function startPostfixDovecot(options: PostfixOptions = {}): Promise<SmtpPeer> {
  const mechanisms = checkMechanisms(options.mechanisms ?? POSTFIX_MECHANISMS);
  if (options.submission && !existsSync(DOVECOT_SUBMISSION)) {
    return Promise.reject(
      new Error(`Dovecot's submission server is missing (dovecot-submissiond); ${INSTALL_HINT}`),
    );
  }
  return startPeer(
    "postfix",
    mechanisms,
    (state, port, submissionPort) => [
      join(PEERS_DIR, "postfix", "start.sh"),
      state,
      String(port),
      "--mechanisms",
      mechanisms.join(" "),
      ...(options.tls ? ["--tls"] : []),
      ...(submissionPort === undefined ? [] : ["--submission", String(submissionPort)]),
    ],
    options.startTimeoutMs,
    options.submission ?? false,
  );
}

async function startPeer(
  name: PeerName,
  mechanisms: readonly string[],
  command: (state: string, port: number, submissionPort?: number) => string[],
  startTimeoutMs = 20000,
  withSubmission = false,
): Promise<SmtpPeer> {
  const { ok, why } = peerAvailability(name);
  if (!ok) throw new Error(`the ${name} test peer cannot run here: ${why}`);
  const stateDir = await mkdtemp(join(tmpdir(), `saslkit-${name}-`));
  // A port that was free a moment ago can be taken in between: one more try with another.
  for (let attempt = 1;; attempt++) {
    const port = await freePort();
    let submissionPort = withSubmission ? await freePort() : undefined;
    while (submissionPort === port) submissionPort = await freePort();
    const server = new RunningPeer(
      name,
      stateDir,
      port,
      submissionPort,
      mechanisms,
      command(stateDir, port, submissionPort),
    );
    try {
      await server.waitForBanner(startTimeoutMs);
      return server;
    } catch (error) {
      const log = await server.log().catch(() => "");
      await server.stop({ keepState: true });
      if (attempt < 2 && /address already in use/i.test(log)) continue;
      if (process.env.SASLKIT_KEEP_PEER_STATE !== "1") {
        await rm(stateDir, { recursive: true, force: true });
      }
      throw error;
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Reads the first line the server sends, or fails within `timeoutMs`. */
function readBanner(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let data = "";
    const done = (error: Error | undefined, line?: string) => {
      clearTimeout(timer);
      socket.removeAllListeners("data");
      if (error) {
        socket.destroy();
        reject(error);
      } else {
        // Polite, so that the server logs a QUIT rather than a lost connection.
        socket.end("QUIT\r\n");
        resolve(line!);
      }
    };
    const timer = setTimeout(() => done(new Error("no banner in time")), timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      data += chunk;
      const end = data.indexOf("\n");
      if (end >= 0) done(undefined, data.slice(0, end).replace(/\r$/, ""));
    });
    socket.on("error", (error) => done(error));
    socket.on("close", () => done(new Error("closed before the banner")));
  });
}

class RunningPeer implements SmtpPeer {
  readonly host = "127.0.0.1" as const;
  readonly realm = REALM;
  users: readonly PeerUser[] = [];
  oauth: OAuthSetup | undefined;
  tls: TlsSetup | undefined;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #exitStatus: string | undefined;
  #output = "";
  #stopped: Promise<void> | undefined;

  constructor(
    readonly name: PeerName,
    readonly stateDir: string,
    readonly port: number,
    readonly submissionPort: number | undefined,
    readonly mechanisms: readonly string[],
    command: string[],
  ) {
    this.#child = spawn("bash", command, {
      // The lifeline: when this process ends, however it ends, the server ends with it.
      env: { ...process.env, SASLKIT_PEER_LIFELINE: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const collect = (chunk: Uint8Array) => {
      this.#output = (this.#output + new TextDecoder().decode(chunk)).slice(-20000);
    };
    this.#child.stdout!.on("data", collect);
    this.#child.stderr!.on("data", collect);
    this.#child.stdin!.on("error", () => {});
    this.#exited = new Promise((resolve) => {
      this.#child.on("close", (code, signal) => {
        this.#exitStatus = signal ? `signal ${signal}` : `exit code ${code}`;
        resolve();
      });
      this.#child.on("error", (error) => {
        this.#exitStatus = `could not start: ${error.message}`;
        resolve();
      });
    });
  }

  async waitForBanner(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (this.#exitStatus !== undefined) {
        throw new Error(
          `the ${this.name} test peer ended before it answered (${this.#exitStatus})` +
            (await this.#tail()),
        );
      }
      try {
        for (const port of [this.port, this.submissionPort]) {
          if (port === undefined) continue;
          const banner = await readBanner(port, Math.min(3000, deadline - Date.now()));
          if (!banner.startsWith("220")) {
            throw new Error(`the ${this.name} test peer greeted with ${JSON.stringify(banner)}`);
          }
        }
        this.users = await this.#readUsers();
        await this.#readSetup();
        return;
      } catch (error) {
        if (error instanceof Error && error.message.includes("greeted with")) throw error;
        last = error instanceof Error ? error.message : String(error);
      }
      await sleep(100);
    }
    throw new Error(
      `the ${this.name} test peer gave no 220 banner on 127.0.0.1:${this.port} within ` +
        `${timeoutMs} ms (last: ${last})${await this.#tail()}`,
    );
  }

  async #readUsers(): Promise<PeerUser[]> {
    const text = await readFile(join(this.stateDir, "users"), "utf8");
    return text.split("\n").filter((line) => line.includes(":")).map((line) => {
      const colon = line.indexOf(":");
      return { username: line.slice(0, colon), password: line.slice(colon + 1) };
    });
  }

  async #readSetup(): Promise<void> {
    const read = (file: string) =>
      readFile(join(this.stateDir, file), "utf8").catch(() => undefined);
    const [key, issuer] = [await read("oauth/hs256.key"), await read("oauth/issuer")];
    if (key !== undefined && issuer !== undefined) {
      this.oauth = { key: new Uint8Array(Buffer.from(key.trim(), "base64")), issuer };
    }
    const [ca, clientCert, clientKey] = [
      await read("tls/ca.pem"),
      await read("tls/client.pem"),
      await read("tls/client.key"),
    ];
    if (ca !== undefined && clientCert !== undefined && clientKey !== undefined) {
      this.tls = { ca, clientCert, clientKey };
    }
  }

  async #tail(): Promise<string> {
    const log = await this.log().catch(() => "");
    const lines = `${this.#output}\n${log}`.trim().split("\n").slice(-30).join("\n");
    return lines ? `\n--- ${this.name} output and log (tail) ---\n${lines}` : "";
  }

  async queuedMessages(): Promise<string[]> {
    return this.name === "sendmail" ? await this.#sendmailQueue() : await this.#postfixQueue();
  }

  async #sendmailQueue(): Promise<string[]> {
    const dir = join(this.stateDir, "queue");
    const names = (await readdir(dir)).filter((name) => name.startsWith("qf")).sort();
    const out: string[] = [];
    for (const name of names) {
      const qf = await readFile(join(dir, name), "utf8").catch(() => undefined);
      if (qf === undefined) continue; // delivered or moved in between
      const df = await readFile(join(dir, `d${name.slice(1)}`), "utf8").catch(() => "");
      out.push(qf + df);
    }
    return out;
  }

  async #postfixQueue(): Promise<string[]> {
    const queue = join(this.stateDir, "postfix", "queue");
    const files: string[] = [];
    for (const sub of ["maildrop", "incoming", "active", "deferred", "hold"]) {
      const entries = await readdir(join(queue, sub), { recursive: true, withFileTypes: true })
        .catch(() => []);
      for (const entry of entries) {
        if (entry.isFile()) files.push(join(entry.parentPath, entry.name));
      }
    }
    const out: string[] = [];
    for (const file of files.sort()) {
      const text = await new Promise<string | undefined>((resolve) => {
        execFile(
          join(POSTFIX_PREFIX, "usr/sbin/postcat"),
          ["-c", join(this.stateDir, "postfix", "conf"), file],
          {
            env: { ...process.env, LD_LIBRARY_PATH: join(POSTFIX_PREFIX, "usr/lib/postfix") },
            timeout: 5000,
            encoding: "utf8",
          },
          (error, stdout) => resolve(error ? undefined : stdout),
        );
      });
      if (text !== undefined) out.push(text);
    }
    return out;
  }

  async log(): Promise<string> {
    const files = this.name === "sendmail"
      ? ["traffic.log", "syslog.log"]
      : ["postfix.log", "dovecot.log", "syslog.log"];
    const parts: string[] = [];
    for (const file of files) {
      const text = await readFile(join(this.stateDir, file), "utf8").catch(() => undefined);
      if (text !== undefined) parts.push(`==> ${file} <==\n${text}`);
    }
    return parts.join("\n");
  }

  stop(options: { keepState?: boolean } = {}): Promise<void> {
    this.#stopped ??= this.#stop(options.keepState ?? false);
    return this.#stopped;
  }

  async #stop(keepState: boolean): Promise<void> {
    // Closing the lifeline ends the namespace's init, and the kernel ends the rest. SIGKILL to
    // unshare (it ignores SIGTERM) is the fallback: --kill-child passes it on to the init.
    this.#child.stdin!.end();
    if (!(await this.#waitExit(5000))) {
      this.#child.kill("SIGKILL");
      await this.#waitExit(5000);
    }
    this.#child.stdout!.destroy();
    this.#child.stderr!.destroy();
    if (!keepState && process.env.SASLKIT_KEEP_PEER_STATE !== "1") {
      await rm(this.stateDir, { recursive: true, force: true });
    }
  }

  async #waitExit(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const ended = await Promise.race([this.#exited.then(() => true as const), late]);
    clearTimeout(timer);
    return ended;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
