/**
 * Debian's OpenLDAP slapd 2.5 as a test peer on 127.0.0.1 (test tooling only). Each start gets
 * a fresh folder under /tmp with a `slapd.conf`, a test CA with a server and a client
 * certificate made there and then, a sasldb with one user, and two free ports (ldap:// and
 * ldaps://). slapd authenticates through Cyrus SASL, which reads its settings from the fixed
 * path /etc/ldap/sasl2/slapd.conf: slapd runs in its own mount namespace (`unshare -m`) where
 * a private folder is bind-mounted over /etc/ldap/sasl2, so the machine's file is never
 * written. slapd drops to the `openldap` user (`-u openldap -g openldap`) after binding.
 *
 * Mechanisms: DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256 (sasldb, realm `example.com`) and EXTERNAL
 * (TLS client certificate `cn=ldapuser,dc=example,dc=com`). `authz-regexp` maps both the SASL
 * identity and the certificate subject to `uid=ldapuser,dc=example,dc=com`.
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

/** A running slapd. */
export interface SlapdPeer {
  /** `ldap://127.0.0.1:<port>/`. */
  readonly url: string;
  /** `ldaps://127.0.0.1:<port>/`. */
  readonly tlsUrl: string;
  /** The sasldb user, and its password. */
  readonly user: { readonly username: string; readonly password: string };
  /** The DN both the SASL user and the client certificate map to. */
  readonly dn: string;
  /** PEM: the test CA, the client certificate and its key. */
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
  /** Stops slapd and removes its folder. */
  stop(): Promise<void>;
  /** For `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const INSTALL_HINT = "run `bash scripts/peers/xmpp_ldap.sh` as root (Debian) to install it";
let availability: { ok: boolean; why?: string } | undefined;

/**
 * Whether slapd can run here.
 *
 * @returns `ok`, or `why` not.
 */
export function slapdAvailability(): { ok: boolean; why?: string } {
  if (availability) return availability;
  const need = ["/usr/sbin/slapd", "/usr/sbin/saslpasswd2", "/usr/bin/openssl", "/usr/bin/unshare"];
  const missing = need.filter((path) => !existsSync(path));
  if (process.platform !== "linux") availability = { ok: false, why: "needs Linux" };
  else if (process.getuid?.() !== 0) {
    availability = { ok: false, why: "needs root (a mount namespace for /etc/ldap/sasl2)" };
  } else if (missing.length) {
    availability = { ok: false, why: `missing ${missing.join(", ")}; ${INSTALL_HINT}` };
  } else if (!existsSync("/etc/ldap/sasl2") || !existsSync("/usr/lib/x86_64-linux-gnu/sasl2")) {
    availability = { ok: false, why: `no /etc/ldap/sasl2 or Cyrus plugins; ${INSTALL_HINT}` };
  } else availability = { ok: true };
  return availability;
}

let warned = false;

/**
 * Test options gating a `Deno.test` on slapd (fails under `CI=true`, else skips loudly).
 *
 * @returns `{ ignore }`.
 */
export function requireSlapd(): { ignore: boolean } {
  const { ok, why } = slapdAvailability();
  if (ok || process.env.CI === "true") return { ignore: false };
  if (!warned) {
    warned = true;
    const bar = "!".repeat(78);
    console.warn(
      `\n${bar}\n!! ldapts interop tests against slapd SKIPPED: ${why}\n` +
        `!! (under CI=true they fail instead)\n${bar}\n`,
    );
  }
  return { ignore: true };
}

function openssl(dir: string, args: string[]): void {
  const result = spawnSync("openssl", args, { cwd: dir, encoding: "utf8", timeout: 15_000 });
  if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
}

/**
 * Starts slapd (well under a second).
 *
 * @returns The running server.
 * @throws {Error} when it cannot run or does not listen within 15 s.
 */
export async function startSlapd(): Promise<SlapdPeer> {
  const { ok, why } = slapdAvailability();
  if (!ok) throw new Error(`slapd cannot run here: ${why}`);
  const dir = await mkdtemp(join(tmpdir(), "saslkit-slapd-"));
  let child: ChildProcess | undefined;
  try {
    const [port, tlsPort] = [await freePort(), await freePort()];
    const days = ["-days", "2"];
    openssl(dir, [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      ...days,
      "-subj",
      "/CN=saslkit test CA",
      "-keyout",
      "ca-key.pem",
      "-out",
      "ca.pem",
    ]); // deno-fmt-ignore
    for (const [name, subject, extra] of [
      ["server", "/CN=127.0.0.1", ["-addext", "subjectAltName=IP:127.0.0.1"]],
      ["client", "/DC=com/DC=example/CN=ldapuser", []],
    ] as const) {
      openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, ...extra,
        "-keyout", `${name}-key.pem`, "-out", `${name}.csr`]); // deno-fmt-ignore
      openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem",
        "-CAcreateserial", ...days, "-copy_extensions", "copy", "-out", `${name}.pem`]); // deno-fmt-ignore
    }
    await mkdir(join(dir, "sasl2"));
    await writeFile(
      join(dir, "sasl2", "slapd.conf"),
      `pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: ${dir}/sasldb2\n` +
        "mech_list: DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256 EXTERNAL\n",
    );
    await writeFile(
      join(dir, "slapd.conf"),
      `include /etc/ldap/schema/core.schema
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
TLSCACertificateFile ${dir}/ca.pem
TLSCertificateFile ${dir}/server.pem
TLSCertificateKeyFile ${dir}/server-key.pem
TLSVerifyClient allow
sasl-realm example.com
sasl-auxprops sasldb
authz-regexp "^uid=([^,]+),cn=example\\.com,cn=[^,]+,cn=auth$" "uid=$1,dc=example,dc=com"
authz-regexp "^cn=([^,]+),dc=example,dc=com$" "uid=$1,dc=example,dc=com"
`,
    );
    const passwd = spawnSync("saslpasswd2", [
      "-p",
      "-f",
      join(dir, "sasldb2"),
      "-a",
      "slapd",
      "-u",
      "example.com",
      "-c",
      "ldapuser",
    ], { input: "pencil", encoding: "utf8", timeout: 15_000 }); // deno-fmt-ignore
    if (passwd.status !== 0) throw new Error(`saslpasswd2 failed: ${passwd.stderr}`);
    spawnSync("chown", ["-R", "openldap:openldap", dir]);
    await chmod(dir, 0o755);
    const urls = `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`;
    child = spawn("unshare", [
      "-m",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount --bind "$1/sasl2" /etc/ldap/sasl2 && exec slapd -d 0 -u openldap -g openldap -h "$2" -f "$1/slapd.conf"',
      "sh",
      dir,
      urls,
    ], { stdio: ["ignore", "ignore", "pipe"] }); // deno-fmt-ignore
    let stderr = "";
    child.stderr!.on("data", (chunk) => (stderr = (stderr + chunk).slice(-4000)));
    const exited = new Promise<void>((resolve) => child!.once("exit", () => resolve()));
    const deadline = Date.now() + 15_000;
    while (!(await canConnect(port)) || !(await canConnect(tlsPort))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`slapd did not listen:\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const read = (name: string) => readFile(join(dir, name), "utf8");
    const tls = {
      ca: await read("ca.pem"),
      cert: await read("client.pem"),
      key: await read("client-key.pem"),
    };
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
      url: `ldap://127.0.0.1:${port}/`,
      tlsUrl: `ldaps://127.0.0.1:${tlsPort}/`,
      user: { username: "ldapuser", password: "pencil" },
      dn: "uid=ldapuser,dc=example,dc=com",
      tls,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    child?.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
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
