/**
 * Dovecot 2.3's auth service as a live SASL server peer for OAUTHBEARER, XOAUTH2, ANONYMOUS and
 * EXTERNAL: one `dovecot -F` instance with only the auth service (no IMAP; one listener, on a
 * loopback port), everything under a temporary state folder, driven with
 * Dovecot's own authentication protocol (the one imap-login speaks on its auth-client socket)
 * over 127.0.0.1. Test tooling only.
 *
 * The OAuth passdb validates JWTs locally (`introspection_mode = local`) with an HS256 key the
 * test generates, so no HTTP endpoint is needed. EXTERNAL takes the identity the login process
 * would take from a TLS client certificate: the test passes it as `cert_username`.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "../../base64.ts";
import type { ClientMechanism } from "../../mechanism.ts";

/** Why the peer cannot run here, or `undefined` when it can. */
export function dovecotUnavailable(): string | undefined {
  if (Deno.build.os !== "linux") return "Dovecot peer runs on Linux only";
  if (Deno.uid() !== 0) return "Dovecot drops privileges and needs root";
  try {
    const version = new Deno.Command("dovecot", { args: ["--version"] }).outputSync();
    if (!version.success) return "dovecot --version failed";
    const text = new TextDecoder().decode(version.stdout).trim();
    if (!/^2\.3\./.test(text)) return `expected Dovecot 2.3, found ${text}`;
  } catch {
    return "dovecot is not installed (scripts/peers/mail.sh installs dovecot-core)";
  }
  return undefined;
}

/** The reply that ended one authentication. */
export interface AuthReply {
  /** `OK` or `FAIL`. */
  readonly result: "OK" | "FAIL";
  /** The reply's `key=value` fields (`user`, `reason`…). */
  readonly fields: Readonly<Record<string, string>>;
  /** Every challenge the server sent (decoded), in order. */
  readonly challenges: readonly Uint8Array[];
}

/** A running Dovecot auth service. */
export interface DovecotPeer {
  /** Signs a JWT with the peer's HS256 key (claims as given; `sub` and `exp` are required). */
  jwt(claims: Record<string, unknown>): Promise<string>;
  /**
   * Runs one authentication with a saslkit client over the auth-client socket.
   *
   * @param params Extra AUTH parameters, such as `cert_username=alice`.
   */
  authenticate(
    mechanism: string,
    client: ClientMechanism,
    params?: readonly string[],
  ): Promise<AuthReply>;
  /** The peer's log, for failure messages. */
  log(): string;
  /** Stops Dovecot and removes the state folder. */
  close(): Promise<void>;
}

const CONF = (state: string, port: number) =>
  `# Written by packages/sasl/interop/dovecot/peer.ts
protocols = none
listen = 127.0.0.1
base_dir = ${state}/run
state_dir = ${state}/state
instance_name = saslkit-oauth-${Deno.pid}
log_path = ${state}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = oauthbearer xoauth2 anonymous external
auth_anonymous_username = anonymous
# EXTERNAL: the user is the name the login process took from the client certificate.
auth_ssl_username_from_cert = yes
# Empty: any character, so that non-ASCII users can log in.
auth_username_chars =
auth_failure_delay = 0
auth_verbose = yes
auth_debug = yes
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = ${state}/oauth2.conf.ext
}
passdb {
  driver = static
  mechanisms = external
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
# The auth-client protocol on loopback TCP (what a remote Postfix would use), so that the test
# needs no Unix-socket permission.
service auth {
  inet_listener auth-client {
    address = 127.0.0.1
    port = ${port}
  }
}
`;

const OAUTH2_CONF = (state: string) =>
  `introspection_mode = local
local_validation_key_dict = fs:posix:prefix=${state}/keys/
username_attribute = email
`;

const text = new TextEncoder();
const untext = new TextDecoder();

function base64url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
}

/** Dovecot's tab escaping of auth protocol values (%x01 as the escape character). */
function unescape(value: string): string {
  const map: Record<string, string> = { "1": "\x01", t: "\t", r: "\r", n: "\n" };
  let out = "";
  for (let i = 0; i < value.length; i++) {
    if (value[i] === "\x01" && i + 1 < value.length) out += map[value[++i]] ?? value[i];
    else out += value[i];
  }
  return out;
}

/** A port on 127.0.0.1 that was free a moment ago. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts Dovecot; resolves when its auth-client socket accepts connections. */
export async function startDovecot(): Promise<DovecotPeer> {
  const state = await Deno.makeTempDir({ prefix: "saslkit-dovecot-" });
  // Dovecot's unprivileged auth processes must read the key and the config.
  await Deno.chmod(state, 0o755);
  for (const dir of ["run", "state", "keys", "keys/default", "keys/default/HS256"]) {
    await Deno.mkdir(`${state}/${dir}`, { recursive: true, mode: 0o755 });
    await Deno.chmod(`${state}/${dir}`, 0o755);
  }
  const key = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeTextFile(`${state}/keys/default/HS256/default`, encodeBase64(key), {
    mode: 0o644,
  });
  await Deno.writeTextFile(`${state}/oauth2.conf.ext`, OAUTH2_CONF(state), { mode: 0o644 });
  const port = freePort();
  await Deno.writeTextFile(`${state}/dovecot.conf`, CONF(state, port), { mode: 0o644 });
  const hmacKey = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );

  const child = new Deno.Command("dovecot", {
    args: ["-F", "-c", `${state}/dovecot.conf`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  const log = () => {
    try {
      return Deno.readTextFileSync(`${state}/dovecot.log`);
    } catch {
      return "(no log)";
    }
  };
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await output;
    await Deno.remove(state, { recursive: true }).catch(() => {});
  };

  let conn: Deno.TcpConn | undefined;
  const deadline = Date.now() + 10_000;
  while (conn === undefined) {
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
    } catch (error) {
      if (!(error instanceof Deno.errors.ConnectionRefused) || Date.now() > deadline) {
        const early = log();
        await stop();
        throw new Error(`Dovecot did not start: ${error}\n${early}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const socket = conn;

  let buffer = "";
  const readLine = async (): Promise<string> => {
    for (;;) {
      const end = buffer.indexOf("\n");
      if (end >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        return line;
      }
      const chunk = new Uint8Array(8192);
      const n = await socket.read(chunk);
      if (n === null) throw new Error(`Dovecot closed the auth connection\n${log()}`);
      buffer += untext.decode(chunk.subarray(0, n), { stream: true });
    }
  };
  await socket.write(text.encode(`VERSION\t1\t2\nCPID\t${Deno.pid}\n`));
  while ((await readLine()) !== "DONE");

  let nextId = 1;
  return {
    async jwt(claims) {
      const header = base64url(text.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
      const body = base64url(text.encode(JSON.stringify(claims)));
      const input = `${header}.${body}`;
      const signature = await crypto.subtle.sign("HMAC", hmacKey, text.encode(input));
      return `${input}.${base64url(new Uint8Array(signature))}`;
    },
    async authenticate(mechanism, client, params = []) {
      const id = nextId++;
      const initial = client.start();
      // no-penalty: Dovecot would otherwise delay each request after a failure from this "IP".
      const fields = ["service=imap", "no-penalty", ...params];
      if (initial !== undefined) {
        fields.push(`resp=${initial.length === 0 ? "=" : encodeBase64(initial)}`);
      }
      await socket.write(text.encode(`AUTH\t${id}\t${mechanism}\t${fields.join("\t")}\n`));
      const challenges: Uint8Array[] = [];
      for (;;) {
        const [kind, replyId, ...rest] = (await readLine()).split("\t");
        if (replyId !== String(id)) throw new Error(`unexpected reply for request ${replyId}`);
        if (kind === "CONT") {
          const challenge = decodeBase64(rest[0] ?? "");
          challenges.push(challenge);
          const response = await client.next(challenge);
          await socket.write(text.encode(`CONT\t${id}\t${encodeBase64(response)}\n`));
          continue;
        }
        if (kind !== "OK" && kind !== "FAIL") throw new Error(`unexpected reply ${kind}`);
        const replyFields: Record<string, string> = {};
        for (const field of rest) {
          const eq = field.indexOf("=");
          if (eq < 0) replyFields[field] = "";
          else replyFields[field.slice(0, eq)] = unescape(field.slice(eq + 1));
        }
        return { result: kind, fields: replyFields, challenges };
      }
    },
    log,
    async close() {
      socket.close();
      await stop();
    },
  };
}
