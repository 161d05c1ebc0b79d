// Defaults and checks for the test server's options, so the connection code sees complete values.

import type { DigestCipher, Qop } from "@saslkit/sasl";
import type { TestServerOptions } from "./types.ts";

/** Every option of the test server, filled in and normalised (mechanism names upper-case). */
export interface ResolvedOptions {
  readonly hostname: string;
  readonly port: number;
  readonly domain: string;
  readonly users: ReadonlyMap<string, string>;
  readonly tokens: ReadonlyMap<string, string>;
  readonly anonymous: boolean;
  readonly requireAuth: boolean;
  readonly realm: string;
  readonly mechanisms: readonly string[];
  readonly authEqualsForm: boolean;
  readonly digestQop: readonly Qop[];
  readonly digestCiphers: readonly DigestCipher[];
  readonly digestHosts: readonly string[];
  readonly maxbuf: number;
  readonly maxMessageSize: number;
  readonly idleTimeoutMs: number;
  readonly behaviour: {
    readonly rejectAdvertised: ReadonlySet<string>;
    readonly tooWeak: ReadonlySet<string>;
    readonly tempFail: Readonly<Record<string, number>>;
    readonly dropAfterAuth: ReadonlySet<string>;
    readonly dropDuringAuth: ReadonlySet<string>;
    readonly wrongRspauth: boolean;
    readonly ignoreLayer: boolean;
  };
  readonly tls?: { readonly key: string; readonly cert: string; readonly clientCa?: string };
}

// Sendmail with Cyrus SASL 2.1.28, as in the motivating report.
const DEFAULT_MECHANISMS = ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"];
const DEFAULT_QOP: readonly Qop[] = ["auth", "auth-int", "auth-conf"];
const DEFAULT_CIPHERS: readonly DigestCipher[] = ["rc4-40", "rc4-56", "rc4", "des", "3des"];
const MECHANISM_NAME = /^[A-Z0-9_-]{1,20}$/;
// The limits DigestMd5Server enforces; checked here so a bad value fails at start, not at AUTH.
const MIN_MAXBUF = 17;
const MAX_MAXBUF = 16777215;

// The brief of every test: traffic stays on the machine.
function isLoopback(hostname: string): boolean {
  if (hostname === "localhost" || hostname === "::1") return true;
  const parts = hostname.split(".");
  return parts.length === 4 && parts[0] === "127" &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function names(list: readonly string[] | undefined, what: string): string[] {
  return (list ?? []).map((name) => {
    const upper = name.toUpperCase();
    if (!MECHANISM_NAME.test(upper)) throw new TypeError(`${what}: "${name}" is not a SASL name`);
    return upper;
  });
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`${what} must be a positive integer`);
  }
  return value;
}

/** Applies the defaults and rejects options that cannot work. */
export function resolveOptions(options: TestServerOptions): ResolvedOptions {
  const hostname = options.hostname ?? "127.0.0.1";
  if (!isLoopback(hostname)) {
    throw new TypeError(`the test server listens on loopback only, not on "${hostname}"`);
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError("port must be an integer in 0..65535");
  }
  const domain = options.domain ?? "mail.example.com";
  if (!/^[\x21-\x7e]+$/.test(domain)) throw new TypeError("domain must be printable ASCII");
  const users = new Map(Object.entries(options.users ?? { smtpuser: "secret" }));
  const maxbuf = options.maxbuf ?? 8192;
  if (!Number.isInteger(maxbuf) || maxbuf < MIN_MAXBUF || maxbuf > MAX_MAXBUF) {
    throw new TypeError(`maxbuf must be an integer in ${MIN_MAXBUF}..${MAX_MAXBUF}`);
  }
  const behaviour = options.behaviour ?? {};
  const tempFail: Record<string, number> = {};
  for (const [name, count] of Object.entries(behaviour.tempFail ?? {})) {
    const [upper] = names([name], "behaviour.tempFail");
    if (!Number.isInteger(count) || count < 0) {
      throw new TypeError("behaviour.tempFail counts must be non-negative integers");
    }
    tempFail[upper] = count;
  }
  if (options.onMessage !== undefined && typeof options.onMessage !== "function") {
    throw new TypeError("onMessage must be a function");
  }
  if (options.tls && (!options.tls.key || !options.tls.cert)) {
    throw new TypeError("tls needs both a PEM key and a PEM certificate");
  }
  return {
    hostname,
    port,
    domain,
    users,
    tokens: new Map(Object.entries(options.tokens ?? {})),
    anonymous: options.anonymous === true,
    requireAuth: options.requireAuth ?? users.size > 0,
    realm: options.realm ?? "example.com",
    mechanisms: [...new Set(names(options.mechanisms ?? DEFAULT_MECHANISMS, "mechanisms"))],
    authEqualsForm: options.authEqualsForm ?? false,
    digestQop: options.digestQop ?? DEFAULT_QOP,
    digestCiphers: options.digestCiphers ?? DEFAULT_CIPHERS,
    digestHosts: options.digestHosts ?? [...new Set([domain, hostname, "localhost"])],
    maxbuf,
    maxMessageSize: positiveInteger(options.maxMessageSize ?? 10 * 1024 * 1024, "maxMessageSize"),
    idleTimeoutMs: positiveInteger(options.idleTimeoutMs ?? 30_000, "idleTimeoutMs"),
    behaviour: {
      rejectAdvertised: new Set(names(behaviour.rejectAdvertised, "behaviour.rejectAdvertised")),
      tooWeak: new Set(names(behaviour.tooWeak, "behaviour.tooWeak")),
      tempFail,
      dropAfterAuth: new Set(names(behaviour.dropAfterAuth, "behaviour.dropAfterAuth")),
      dropDuringAuth: new Set(names(behaviour.dropDuringAuth, "behaviour.dropDuringAuth")),
      wrongRspauth: behaviour.wrongRspauth ?? false,
      ignoreLayer: behaviour.ignoreLayer ?? false,
    },
    tls: options.tls,
  };
}
