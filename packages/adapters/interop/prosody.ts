/**
 * Debian's Prosody 0.12 as a test peer on 127.0.0.1 (test tooling only: `interop/` is not
 * published). Each start gets a fresh folder under /tmp with its own configuration, a
 * self-signed certificate made there and then, accounts created with `prosodyctl`, and a free
 * port. Prosody runs as the `prosody` user when started by root (as the current user
 * otherwise), in the foreground, and is killed by its process id on `stop()`.
 *
 * Two virtual hosts, because Prosody stores one SCRAM hash per host (`password_hash`):
 * `sha1.test` (SCRAM-SHA-1, -PLUS) and `sha256.test` (SCRAM-SHA-256, -PLUS); both offer PLAIN
 * over TLS. TLS is capped at 1.2 (`ssl.protocol = "tlsv1_2"`), where `tls-unique` exists, so
 * Prosody offers the -PLUS variants. A small module, `mod_saslkit_liar`, makes Prosody lie to
 * two users who log in with the right password: `liar` gets a `<success>` whose `v=` is wrong,
 * `mute` one without any data.
 *
 * @example
 * ```ts ignore
 * Deno.test({ name: "login", ...requireProsody(), fn: async () => {
 *   await using server = await startProsody();
 *   // connect to xmpp://127.0.0.1:${server.port}, domain server.domains.sha256…
 * } });
 * ```
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** A running Prosody. */
export interface ProsodyPeer {
  /** Always the loopback address. */
  readonly host: "127.0.0.1";
  /** The c2s port (STARTTLS). */
  readonly port: number;
  /** The virtual hosts by the SCRAM hash they store. */
  readonly domains: { readonly sha1: string; readonly sha256: string };
  /** The account on both hosts, and its password. */
  readonly user: { readonly username: string; readonly password: string };
  /** Users that get a forged `<success>` (`liar`: a wrong `v=`; `mute`: no data). */
  readonly liars: { readonly wrongSignature: string; readonly noSignature: string };
  /** The self-signed certificate (PEM) the server presents, for the client's trust store. */
  readonly certificate: string;
  /** Prosody's log so far. */
  log(): Promise<string>;
  /** Stops Prosody and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
  /** Lets `await using server = await startProsody()` stop it. */
  [Symbol.asyncDispose](): Promise<void>;
}

const INSTALL_HINT = "run `bash scripts/peers/xmpp_ldap.sh` as root (Debian) to install it";
let availability: { ok: boolean; why?: string } | undefined;

function findCommand(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin"])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * Whether Prosody can run here, and if not why.
 *
 * @returns `ok`, or `why` not.
 */
export function prosodyAvailability(): { ok: boolean; why?: string } {
  if (availability) return availability;
  const missing = ["prosody", "prosodyctl", "openssl"].filter((c) => !findCommand(c));
  if (process.platform !== "linux") availability = { ok: false, why: "needs Linux" };
  else if (missing.length) {
    availability = { ok: false, why: `missing ${missing.join(", ")}; ${INSTALL_HINT}` };
  } else if (process.getuid?.() === 0 && spawnSync("id", ["prosody"]).status !== 0) {
    availability = { ok: false, why: `no prosody user; ${INSTALL_HINT}` };
  } else availability = { ok: true };
  return availability;
}

let warned = false;

/**
 * Test options gating a `Deno.test` on Prosody: under `CI=true` the test runs (and fails when
 * Prosody cannot start); elsewhere it is skipped with a loud warning.
 *
 * @returns `{ ignore }` for `Deno.test`.
 */
export function requireProsody(): { ignore: boolean } {
  const { ok, why } = prosodyAvailability();
  if (ok || process.env.CI === "true") return { ignore: false };
  if (!warned) {
    warned = true;
    const bar = "!".repeat(78);
    console.warn(
      `\n${bar}\n!! xmpp.js interop tests against Prosody SKIPPED: ${why}\n` +
        `!! (under CI=true they fail instead)\n${bar}\n`,
    );
  }
  return { ignore: true };
}

const LIAR_MODULE = `-- saslkit test module: forges <success> for two users (test peers only).
local st = require "util.stanza";
local base64 = require "util.encodings".base64;
module:hook("authentication-success", function(event)
  local session = event.session;
  local user = session.username;
  if user ~= "liar" and user ~= "mute" then return; end
  local send = session.send;
  session.send = function(stanza, ...)
    session.send = send;
    if stanza and stanza.name == "success" then
      stanza = st.stanza("success", { xmlns = "urn:ietf:params:xml:ns:xmpp-sasl" });
      if user == "liar" then
        stanza:text(base64.encode("v=" .. base64.encode(string.rep("\\0", 32))));
      end
    end
    return send(stanza, ...);
  end
end, 100);
`;

/**
 * Starts Prosody (about half a second).
 *
 * @returns The running server.
 * @throws {Error} when it cannot run or does not listen within 15 s (with its log).
 */
export async function startProsody(): Promise<ProsodyPeer> {
  const { ok, why } = prosodyAvailability();
  if (!ok) throw new Error(`Prosody cannot run here: ${why}`);
  const dir = await mkdtemp(join(tmpdir(), "saslkit-prosody-"));
  const port = await freePort();
  const domains = { sha1: "sha1.test", sha256: "sha256.test" };
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? ["prosody"] : [];
  const run = (command: string, args: string[], options: { input?: string } = {}) => {
    const argv = asRoot ? ["-u", "prosody", "--", command, ...args] : args;
    const result = spawnSync(asRoot ? "runuser" : command, argv, {
      cwd: dir,
      encoding: "utf8",
      timeout: 15_000,
      input: options.input,
    });
    if (result.status !== 0) {
      throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr || result.error}`);
    }
  };
  let child: ChildProcess | undefined;
  try {
    await mkdir(join(dir, "data"));
    await mkdir(join(dir, "certs"));
    await mkdir(join(dir, "modules"));
    await writeFile(join(dir, "modules", "mod_saslkit_liar.lua"), LIAR_MODULE);
    const openssl = spawnSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=sha256.test",
      "-addext",
      `subjectAltName=DNS:${domains.sha256},DNS:${domains.sha1}`,
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ], { encoding: "utf8", timeout: 15_000 }); // deno-fmt-ignore
    if (openssl.status !== 0) throw new Error(`openssl failed: ${openssl.stderr}`);
    const config = join(dir, "prosody.cfg.lua");
    await writeFile(
      config,
      `-- saslkit test peer (generated)
data_path = ${lua(join(dir, "data"))}
plugin_paths = { ${lua(join(dir, "modules"))} }
certificates = ${lua(join(dir, "certs"))}
daemonize = false
log = { { levels = { min = "info" }, to = "file", filename = ${lua(join(dir, "prosody.log"))} } }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
c2s_direct_tls_ports = { }
modules_enabled = { "saslauth", "tls", "roster", "disco", "ping", "saslkit_liar" }
modules_disabled = { "s2s", "s2s_auth_certs", "offline", "posix" }
authentication = "internal_hashed"
c2s_require_encryption = false
allow_unencrypted_plain_auth = false
ssl = { certificate = ${lua(join(dir, "cert.pem"))}; key = ${
        lua(join(dir, "key.pem"))
      }; protocol = "tlsv1_2" }
VirtualHost ${lua(domains.sha1)}
  password_hash = "SHA-1"
VirtualHost ${lua(domains.sha256)}
  password_hash = "SHA-256"
`,
    );
    if (asRoot) spawnSync("chown", ["-R", ...owner, dir]);
    await chmod(dir, 0o755);
    for (const domain of [domains.sha1, domains.sha256]) {
      for (
        const [user, password] of [["alice", "pencil"], ["liar", "pencil"], ["mute", "pencil"]]
      ) {
        run("prosodyctl", ["--config", config, "register", user, domain, password]);
      }
    }
    const argv = ["--config", config];
    child = asRoot
      ? spawn("setpriv", [
        ...["--reuid", "prosody", "--regid", "prosody", "--init-groups", "prosody", ...argv],
      ], { cwd: dir, stdio: "ignore" })
      : spawn("prosody", argv, { cwd: dir, stdio: "ignore" });
    const exited = new Promise<void>((resolve) => child!.once("exit", () => resolve()));
    const deadline = Date.now() + 15_000;
    while (!(await canConnect(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`Prosody did not listen on ${port}:\n${await tail(dir)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const certificate = await readFile(join(dir, "cert.pem"), "utf8");
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      if (child!.exitCode === null) {
        child!.kill("SIGTERM");
        const timer = setTimeout(() => child!.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      if (process.env.SASLKIT_KEEP_PEER_STATE !== "1") {
        await rm(dir, { recursive: true, force: true });
      }
    };
    return {
      host: "127.0.0.1",
      port,
      domains,
      user: { username: "alice", password: "pencil" },
      liars: { wrongSignature: "liar", noSignature: "mute" },
      certificate,
      log: () => readFile(join(dir, "prosody.log"), "utf8").catch(() => ""),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    child?.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function lua(text: string): string {
  return JSON.stringify(text);
}

async function tail(dir: string): Promise<string> {
  const log = await readFile(join(dir, "prosody.log"), "utf8").catch(() => "(no log)");
  return log.split("\n").slice(-20).join("\n");
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
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
