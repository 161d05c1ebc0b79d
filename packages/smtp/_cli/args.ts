// The command line of saslkit-smtp: a hand-written parser, because it must refuse a password
// flag with an explanation and must never echo what looks like a value back to the terminal.

import { DEFAULT_MECHANISMS } from "../mechanisms.ts";
import { DIGEST_CIPHERS, type DigestCipher, type Qop } from "@saslkit/sasl";

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
  readonly ciphers?: readonly DigestCipher[];
  readonly allowCleartext: boolean;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly from?: string;
  readonly to: readonly string[];
  readonly subject?: string;
}

/** What the command line amounts to. */
export type ParsedArgs = { readonly help: true } | { readonly help: false; options: CliOptions };

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

Commands:
  probe   Show the greeting and the EHLO capabilities. With --user, try every advertised
          mechanism (or those of --mechanisms), each alone on a fresh connection, and report
          how each ended and whether the connection survived the next command (NOOP).
  send    Authenticate with the first mechanism that works, in --mechanisms order, falling
          back as needed, and send standard input as one message.

Connection:
  --host HOST          server to connect to (required)
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
  --cipher LIST        DIGEST-MD5 ciphers acceptable with auth-conf, most preferred first
                       (${DIGEST_CIPHERS.join(", ")})
  --allow-cleartext    allow PLAIN and LOGIN without TLS

Message (send):
  --from ADDR          envelope sender
  --to ADDR            recipient; repeat for more
  --subject TEXT       add From, To, Subject, Date and Message-ID headers to standard input;
                       without it, standard input is the whole message, headers included

Output:
  --json               exactly one JSON document on standard output
  --verbose            the decoded SMTP transcript, secrets shown as ***, on standard error
                       (inside the JSON as "transcript" with --json)
  -h, --help           this text

The password is never a command-line argument (other users can read those, and shells keep
them): put it in an environment variable and name that with --password-env.

Exit status: 0 success (probe with --user: at least one mechanism authenticated and kept the
connection), 1 authentication, sending or the connection failed, 2 usage error.
`;

export const SHORT_USAGE =
  `Usage: saslkit-smtp probe|send --host HOST [options]   (saslkit-smtp --help for more)
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
  "from": "string",
  "to": "list",
  "subject": "string",
};

const SEND_ONLY = ["from", "to", "subject"];
const NEEDS_USER = ["password-env", "authzid", "mechanisms", "qop", "cipher", "allow-cleartext"];
const PASSWORD_FLAG = /^(?:-p|--?(?:pass|passwd|password|pw|secret))$/i;
const MECHANISM_NAME = /^[A-Z0-9_-]{1,20}$/;
const QOPS: readonly Qop[] = ["auth", "auth-int", "auth-conf"];

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
    if (!kind) throw new UsageError(`unknown option ${flag}`);
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

  const command = positional[0];
  if (command === undefined) throw new UsageError("missing command: probe or send");
  if (command !== "probe" && command !== "send") {
    throw new UsageError("unknown command: expected probe or send");
  }
  const given = (name: string) => strings.has(name) || flags.has(name) || lists.has(name);
  if (command === "probe") {
    const extra = SEND_ONLY.find(given);
    if (extra) throw new UsageError(`--${extra} is for send, not probe`);
  }

  const host = strings.get("host");
  if (host === undefined || host === "") throw new UsageError("missing --host");
  if (!/^[^\s/@]+$/.test(host)) throw new UsageError("--host must be a host name or an address");

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
  const qop = qopText as Qop | undefined;

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
