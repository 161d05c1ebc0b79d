// The command line of saslkit-smtp: a hand-written parser, because it must refuse a password
// flag with an explanation and must never echo what looks like a value back to the terminal.

import { DEFAULT_MECHANISMS } from "../mechanisms.ts";
import { DIGEST_CIPHERS, type DigestCipher, type Qop } from "@saslkit/sasl";
import { VERSION } from "../_version.ts";

/** A mistake in the command line: exit status 2 with the message and the short usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Everything the command line asks for, checked and with defaults applied. */
export interface CliOptions {
  readonly command: "probe" | "send";
  /** Where to connect. */
  readonly host: string;
  readonly port: number;
  readonly security: "tls" | "starttls" | "starttls-if-offered" | "none";
  /** The name the certificate must carry, and DIGEST-MD5's digest-uri host. */
  readonly servername: string;
  /** A PEM file of extra trusted CA certificates. */
  readonly caFile?: string;
  readonly insecure: boolean;
  readonly ehloName: string;
  readonly timeoutMs: number;
  readonly user?: string;
  readonly passwordEnv?: string;
  readonly authzid?: string;
  readonly mechanisms?: readonly string[];
  readonly qop?: Qop;
  /** The least protection to accept (`--require-qop`). */
  readonly requireQop?: Qop;
  readonly ciphers?: readonly DigestCipher[];
  readonly allowCleartext: boolean;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly from?: string;
  readonly to: readonly string[];
  readonly subject?: string;
}

/** What `saslkit-smtp serve` is asked for. */
export interface ServeOptions {
  readonly command: "serve";
  readonly host: string;
  readonly port: number;
  readonly domain?: string;
  /** One user; without it the server's default, smtpuser / secret. */
  readonly user?: string;
  readonly passwordEnv?: string;
  readonly mechanisms?: readonly string[];
  readonly digestQop?: readonly Qop[];
  readonly dropAfterAuth: readonly string[];
  readonly rejectMechanisms: readonly string[];
  /** Where each received message is written as an .eml file. */
  readonly folder?: string;
}

/** What the command line amounts to. */
export type ParsedArgs =
  | { readonly help: true; readonly version?: false }
  | { readonly help: false; readonly version: true }
  | { readonly help: false; readonly version?: false; options: CliOptions }
  | { readonly help: false; readonly version?: false; serve: ServeOptions };

// A comma-separated list, wrapped to `width` columns and indented by `indent`.
function wrapList(items: readonly string[], indent: number, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const item of items) {
    const next = line === "" ? item : `${line},${item}`;
    if (next.length > width - indent && line !== "") {
      lines.push(`${line},`);
      line = item;
    } else line = next;
  }
  lines.push(line);
  return lines.map((l) => " ".repeat(indent) + l).join("\n");
}

export const USAGE: string = `Usage:
  saslkit-smtp probe --host HOST [options]
  saslkit-smtp send  --host HOST --from ADDR --to ADDR [--to ADDR ...] [options] < message
  saslkit-smtp serve [--port PORT] [--folder DIR] [serve options]

Commands:
  probe   Show the greeting and the EHLO capabilities. With --user, try every advertised
          mechanism (or those of --mechanisms), each alone on a fresh connection, and report
          how each ended and whether the connection survived the next command (NOOP).
  send    Authenticate with the first mechanism that works, in --mechanisms order, falling
          back as needed, and send standard input as one message.
  serve   Run the embedded test server on 127.0.0.1 until Ctrl-C: it behaves like Sendmail
          with Cyrus SASL (DIGEST-MD5 security layers applied; a client that ignores them is
          dropped), prints each message it accepts and writes it to --folder as an .eml file.

Connection:
  --host HOST          server to connect to (required); HOST:PORT also works
  --port PORT          default 587, or 465 with --tls
  --tls                implicit TLS
  --starttls           require STARTTLS (default: use STARTTLS when the server offers it)
  --no-starttls        never use STARTTLS
  --servername NAME    name the certificate must carry, also DIGEST-MD5's digest-uri host
                       (default: HOST)
  --ca FILE            also trust the CA certificates in FILE (PEM)
  --insecure           do NOT check the server's certificate (tests only)
  --ehlo NAME          name to give in EHLO (default: localhost)
  --timeout MS         how long to wait for each reply (default: 30000)

Authentication:
  --user NAME          authentication identity
  --password-env VAR   read the password from the environment variable VAR
  --authzid ID         authorization identity: act as ID
  --mechanisms LIST    comma-separated, in order of preference
                       (send default, each where the connection allows it:
${wrapList(DEFAULT_MECHANISMS, 23, 70)})
  --qop QOP            strongest DIGEST-MD5 protection to negotiate: auth (default),
                       auth-int or auth-conf; a negotiated layer protects all later traffic
  --require-qop QOP    the least protection to accept: auth-int or auth-conf; a mechanism
                       that ends below it is a failed attempt, and the next is tried
  --cipher LIST        DIGEST-MD5 ciphers acceptable with auth-conf, most preferred first
                       (${DIGEST_CIPHERS.join(", ")})
  --allow-cleartext    allow PLAIN and LOGIN without TLS

Message (send):
  --from ADDR          envelope sender
  --to ADDR            recipient; repeat for more
  --subject TEXT       add From, To, Subject, Date and Message-ID headers to standard input;
                       without it, standard input is the whole message, headers included

Serve (the embedded test server):
  --host ADDR          address to listen on, loopback only (default: 127.0.0.1)
  --port PORT          port to listen on (default: 2525; 0 picks a free one)
  --user NAME          the one user (default: smtpuser, password secret)
  --password-env VAR   that user's password, from the environment variable VAR
  --mechanisms LIST    advertised, in order (default: DIGEST-MD5,CRAM-MD5,LOGIN,PLAIN)
  --digest-qop LIST    DIGEST-MD5 protection offered (default: auth,auth-int,auth-conf;
                       auth alone behaves like Postfix)
  --drop-after-auth LIST   close the connection at the next command after 235 for these
  --reject-mechanism LIST  answer 504 to AUTH with these although they are advertised
  --domain NAME        the name in the greeting (default: mail.example.com)
  --folder DIR         write each received message to DIR as <queue id>.eml

Output:
  --json               exactly one JSON document on standard output
  --verbose            the decoded SMTP transcript, secrets shown as ***, on standard error
                       (inside the JSON as "transcript" with --json)
  -h, --help           this text
  --version            the version

The password is never a command-line argument (other users can read those, and shells keep
them): put it in an environment variable and name that with --password-env.

Exit status: 0 success (probe with --user: at least one mechanism authenticated and kept the
connection), 1 authentication, sending or the connection failed, 2 usage error.
`;

export const SHORT_USAGE =
  `Usage: saslkit-smtp probe|send --host HOST [options], or serve   (saslkit-smtp --help for more)
`;

type Kind = "string" | "boolean" | "list";

const OPTIONS: Readonly<Record<string, Kind>> = {
  "host": "string",
  "port": "string",
  "tls": "boolean",
  "starttls": "boolean",
  "no-starttls": "boolean",
  "servername": "string",
  "ca": "string",
  "insecure": "boolean",
  "ehlo": "string",
  "timeout": "string",
  "user": "string",
  "password-env": "string",
  "authzid": "string",
  "mechanisms": "string",
  "qop": "string",
  "cipher": "string",
  "allow-cleartext": "boolean",
  "json": "boolean",
  "verbose": "boolean",
  "help": "boolean",
  "version": "boolean",
  "require-qop": "string",
  "folder": "string",
  "drop-after-auth": "string",
  "reject-mechanism": "string",
  "digest-qop": "string",
  "domain": "string",
  "from": "string",
  "to": "list",
  "subject": "string",
};

const SEND_ONLY = ["from", "to", "subject"];
const SERVE_ONLY = ["folder", "drop-after-auth", "reject-mechanism", "digest-qop", "domain"];
const SERVE_ALLOWS = new Set([
  ...SERVE_ONLY,
  "host",
  "port",
  "user",
  "password-env",
  "mechanisms",
  "help",
  "version",
]);
const COMMANDS = ["probe", "send", "serve"];
const NEEDS_USER = [
  "password-env",
  "authzid",
  "mechanisms",
  "qop",
  "require-qop",
  "cipher",
  "allow-cleartext",
];
const PASSWORD_FLAG = /^(?:-p|--?(?:pass|passwd|password|pw|secret))$/i;
const MECHANISM_NAME = /^[A-Z0-9_-]{1,20}$/;
const QOPS: readonly Qop[] = ["auth", "auth-int", "auth-conf"];

/** The version of this command, as `--version` prints it. */
export const VERSION_TEXT: string = `saslkit-smtp ${VERSION}\n`;

// Edit distance with transpositions (optimal string alignment): `sned` is one edit from `send`.
// The words compared are short (options are cut to 40 characters).
function distance(a: string, b: string): number {
  a = a.slice(0, 40);
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        rows[i - 1][j] + 1,
        row[j - 1] + 1,
        rows[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j], rows[i - 2][j - 2] + 1);
      }
    }
    rows.push(row);
  }
  return rows[a.length][b.length];
}

/** The known words closest to `word` (at most 2 edits, or a prefix), best first. */
function suggest(word: string, known: readonly string[]): string[] {
  const scored = known
    .map((k) => ({ k, d: k.startsWith(word) && word.length >= 2 ? 1 : distance(word, k) }))
    .filter(({ k, d }) => d <= Math.min(2, Math.max(1, Math.floor(k.length / 3))))
    .sort((x, y) => x.d - y.d);
  return scored.slice(0, 2).map(({ k }) => k);
}

function didYouMean(candidates: readonly string[]): string {
  return candidates.length ? ` (did you mean ${candidates.join(" or ")}?)` : "";
}

const SHORT_FLAGS: Readonly<Record<string, readonly string[]>> = {
  "-v": ["--verbose", "--version"],
  "-V": ["--version"],
  "-j": ["--json"],
  "-H": ["--host"],
  "-u": ["--user"],
};

function unknownOption(flag: string): UsageError {
  // Only the flag's name is shown; a value after `=` never is.
  const shown = /^-{1,2}[A-Za-z0-9][A-Za-z0-9-]{0,30}$/.test(flag) ? flag : "(not shown)";
  const candidates = SHORT_FLAGS[flag] ??
    suggest(flag.replace(/^-+/, ""), Object.keys(OPTIONS)).map((k) => `--${k}`);
  return new UsageError(`unknown option ${shown}${didYouMean(candidates)}`);
}

function unknownCommand(word: string): UsageError {
  // A command-like word is echoed; anything else may be a password typed in the wrong place.
  const shown = /^[a-z][a-z-]{0,15}$/i.test(word) ? `"${word}"` : "(not shown)";
  return new UsageError(
    `unknown command ${shown}${didYouMean(suggest(word.toLowerCase(), COMMANDS))}: ` +
      `expected probe, send or serve`,
  );
}

/**
 * Splits `HOST:PORT` (and `[IPv6]:PORT`) for --host.
 *
 * @returns The host, and the port when one was attached.
 */
function splitHost(value: string): { host: string; port?: string } {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(value);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] };
  const withPort = /^([^:\s/@]+):(\d{1,5})$/.exec(value);
  if (withPort) return { host: withPort[1], port: withPort[2] };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new UsageError("--host takes a host name or an address, not a URL");
  }
  if (/:.*:/.test(value) && /^[0-9a-fA-F:.]+$/.test(value)) return { host: value }; // bare IPv6
  if (value.includes(":")) {
    throw new UsageError("--host must be HOST or HOST:PORT with a port from 1 to 65535");
  }
  return { host: value };
}

function flagName(arg: string): string {
  const equals = arg.indexOf("=");
  return equals < 0 ? arg : arg.slice(0, equals);
}

function noBreaks(value: string, what: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new UsageError(`${what} must not contain control characters`);
  }
  return value;
}

function integer(value: string, what: string, min: number, max: number): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${what} must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

function list(value: string): string[] {
  return value.split(/[\s,]+/).filter((item) => item !== "");
}

function address(value: string, what: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x20<>\x7f]/.test(value)) {
    throw new UsageError(`${what} must be a bare address, without spaces, < or >`);
  }
  return value;
}

/**
 * Reads the arguments (without the program name).
 *
 * @throws {UsageError} on anything wrong; the message never repeats a value.
 */
export function parseCliArgs(args: readonly string[]): ParsedArgs {
  const strings = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const flags = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-h") {
      flags.add("help");
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      // The position only: a stray word may be a password typed in the wrong place.
      if (positional.length > 0) throw new UsageError(`unexpected argument (#${i + 1})`);
      positional.push(arg);
      continue;
    }
    const flag = flagName(arg);
    if (PASSWORD_FLAG.test(flag)) {
      throw new UsageError(
        `${flag} is not accepted: a password on the command line can be read by other users ` +
          "and stays in the shell history. Put it in an environment variable and name it: " +
          "--password-env SMTP_PASSWORD",
      );
    }
    const name = flag.startsWith("--") ? flag.slice(2) : "";
    const kind = OPTIONS[name];
    if (!kind) throw unknownOption(flag);
    const inline = arg.length > flag.length ? arg.slice(flag.length + 1) : undefined;
    if (kind === "boolean") {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value`);
      flags.add(name);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = args[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) {
        throw new UsageError(`${flag} needs a value`);
      }
      value = next;
      i++;
    }
    if (kind === "list") {
      lists.set(name, [...(lists.get(name) ?? []), value]);
    } else {
      if (strings.has(name)) throw new UsageError(`${flag} is given twice`);
      strings.set(name, value);
    }
  }
  if (flags.has("help")) return { help: true };
  if (flags.has("version")) return { help: false, version: true };

  const command = positional[0];
  if (command === undefined) throw new UsageError("missing command: probe, send or serve");
  if (command !== "probe" && command !== "send" && command !== "serve") {
    throw unknownCommand(command);
  }
  const given = (name: string) => strings.has(name) || flags.has(name) || lists.has(name);
  if (command === "serve") return { help: false, serve: parseServe(strings, lists, flags) };
  const serveOnly = SERVE_ONLY.find(given);
  if (serveOnly) throw new UsageError(`--${serveOnly} is for serve, not ${command}`);
  if (command === "probe") {
    const extra = SEND_ONLY.find(given);
    if (extra) throw new UsageError(`--${extra} is for send, not probe`);
  }

  const hostText = strings.get("host");
  if (hostText === undefined || hostText === "") throw new UsageError("missing --host");
  const { host, port: attachedPort } = splitHost(hostText);
  if (!/^[^\s/@]+$/.test(host)) throw new UsageError("--host must be a host name or an address");
  if (attachedPort !== undefined && strings.has("port") && strings.get("port") !== attachedPort) {
    throw new UsageError("--host carries a port that --port contradicts: give one of them");
  }
  if (attachedPort !== undefined) strings.set("port", attachedPort);

  const securityFlags = ["tls", "starttls", "no-starttls"].filter((f) => flags.has(f));
  if (securityFlags.length > 1) {
    throw new UsageError(`choose one of --tls, --starttls, --no-starttls`);
  }
  const security = flags.has("tls")
    ? "tls"
    : flags.has("starttls")
    ? "starttls"
    : flags.has("no-starttls")
    ? "none"
    : "starttls-if-offered";
  if (flags.has("insecure") && security === "none") {
    throw new UsageError("--insecure makes no sense with --no-starttls");
  }

  const portText = strings.get("port");
  const port = portText === undefined
    ? (security === "tls" ? 465 : 587)
    : integer(portText, "--port", 1, 65535);
  const timeoutText = strings.get("timeout");
  const timeoutMs = timeoutText === undefined
    ? 30_000
    : integer(timeoutText, "--timeout", 1, 3_600_000);

  const user = strings.get("user");
  if (user === undefined) {
    const extra = NEEDS_USER.find(given);
    if (extra) throw new UsageError(`--${extra} needs --user`);
  } else {
    if (user === "") throw new UsageError("--user must not be empty");
    noBreaks(user, "--user");
    if (!strings.has("password-env")) {
      throw new UsageError("--user needs --password-env VAR (the password is read from VAR)");
    }
  }
  const passwordEnv = strings.get("password-env");
  if (passwordEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) {
    throw new UsageError("--password-env takes the NAME of an environment variable");
  }
  const authzid = strings.get("authzid");
  if (authzid !== undefined) noBreaks(authzid, "--authzid");

  let mechanisms: string[] | undefined;
  const mechanismText = strings.get("mechanisms");
  if (mechanismText !== undefined) {
    mechanisms = [...new Set(list(mechanismText).map((m) => m.toUpperCase()))];
    if (mechanisms.length === 0) throw new UsageError("--mechanisms is empty");
    const bad = mechanisms.find((m) => !MECHANISM_NAME.test(m));
    if (bad) throw new UsageError("--mechanisms: a name is 1 to 20 of A-Z, 0-9, - and _");
  }

  const qopText = strings.get("qop");
  if (qopText !== undefined && !QOPS.includes(qopText as Qop)) {
    throw new UsageError("--qop must be auth, auth-int or auth-conf");
  }
  const requireText = strings.get("require-qop");
  if (requireText !== undefined && !QOPS.includes(requireText as Qop)) {
    throw new UsageError("--require-qop must be auth, auth-int or auth-conf");
  }
  const requireQop = requireText as Qop | undefined;
  if (requireQop && qopText && QOPS.indexOf(qopText as Qop) < QOPS.indexOf(requireQop)) {
    throw new UsageError("--qop is weaker than --require-qop");
  }
  // Asking for a minimum also allows it: --require-qop auth-conf alone negotiates auth-conf.
  const qop = (qopText ?? requireQop) as Qop | undefined;

  let ciphers: DigestCipher[] | undefined;
  const cipherText = strings.get("cipher");
  if (cipherText !== undefined) {
    ciphers = list(cipherText.toLowerCase()) as DigestCipher[];
    if (ciphers.length === 0 || ciphers.some((c) => !DIGEST_CIPHERS.includes(c))) {
      throw new UsageError(`--cipher takes a list of ${DIGEST_CIPHERS.join(", ")}`);
    }
    if (qop !== "auth-conf") throw new UsageError("--cipher needs --qop auth-conf");
  }

  const servername = strings.get("servername") ?? host;
  if (!/^[^\s/@]+$/.test(servername)) throw new UsageError("--servername must be a host name");
  const ehloName = noBreaks(strings.get("ehlo") ?? "localhost", "--ehlo");
  if (ehloName === "" || /\s/.test(ehloName)) throw new UsageError("--ehlo must be one word");

  const fromText = strings.get("from");
  const to = (lists.get("to") ?? []).map((t) => address(t, "--to"));
  const subject = strings.get("subject");
  if (command === "send") {
    if (fromText === undefined) throw new UsageError("send needs --from");
    if (to.length === 0) throw new UsageError("send needs at least one --to");
    if (to.some((t) => t === "")) throw new UsageError("--to must not be empty");
    if (subject !== undefined) noBreaks(subject, "--subject");
  }
  const from = fromText === undefined ? undefined : address(fromText, "--from");

  return {
    help: false,
    options: {
      command,
      host,
      port,
      security,
      servername,
      caFile: strings.get("ca"),
      insecure: flags.has("insecure"),
      ehloName,
      timeoutMs,
      user,
      passwordEnv,
      authzid,
      mechanisms,
      qop,
      requireQop,
      ciphers,
      allowCleartext: flags.has("allow-cleartext"),
      json: flags.has("json"),
      verbose: flags.has("verbose"),
      from,
      to,
      subject,
    },
  };
}

function parseServe(
  strings: Map<string, string>,
  lists: Map<string, string[]>,
  flags: Set<string>,
): ServeOptions {
  for (const name of [...strings.keys(), ...lists.keys(), ...flags]) {
    if (!SERVE_ALLOWS.has(name)) throw new UsageError(`--${name} is not for serve`);
  }
  const hostText = strings.get("host") ?? "127.0.0.1";
  const { host, port: attachedPort } = splitHost(hostText);
  if (!/^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/.test(host)) {
    throw new UsageError("serve listens on loopback only: --host 127.0.0.1, ::1 or localhost");
  }
  const portText = attachedPort ?? strings.get("port");
  const port = portText === undefined ? 2525 : integer(portText, "--port", 0, 65535);
  const user = strings.get("user");
  const passwordEnv = strings.get("password-env");
  if ((user === undefined) !== (passwordEnv === undefined)) {
    throw new UsageError("serve: --user and --password-env go together");
  }
  if (user !== undefined) noBreaks(user, "--user");
  if (passwordEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(passwordEnv)) {
    throw new UsageError("--password-env takes the NAME of an environment variable");
  }
  const names = (option: string): string[] | undefined => {
    const text = strings.get(option);
    if (text === undefined) return undefined;
    const items = [...new Set(list(text).map((m) => m.toUpperCase()))];
    if (items.some((m) => !MECHANISM_NAME.test(m))) {
      throw new UsageError(`--${option}: a name is 1 to 20 of A-Z, 0-9, - and _`);
    }
    return items;
  };
  const qopText = strings.get("digest-qop");
  let digestQop: Qop[] | undefined;
  if (qopText !== undefined) {
    digestQop = list(qopText.toLowerCase()) as Qop[];
    if (digestQop.length === 0 || digestQop.some((q) => !QOPS.includes(q))) {
      throw new UsageError("--digest-qop takes a list of auth, auth-int, auth-conf");
    }
  }
  const domain = strings.get("domain");
  if (domain !== undefined && !/^[\x21-\x7e]{1,255}$/.test(domain)) {
    throw new UsageError("--domain must be one printable word");
  }
  const folder = strings.get("folder");
  if (folder !== undefined) noBreaks(folder, "--folder");
  return {
    command: "serve",
    host,
    port,
    domain,
    user,
    passwordEnv,
    mechanisms: names("mechanisms"),
    digestQop,
    dropAfterAuth: names("drop-after-auth") ?? [],
    rejectMechanisms: names("reject-mechanism") ?? [],
    folder,
  };
}
