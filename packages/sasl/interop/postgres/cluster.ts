/**
 * A private PostgreSQL cluster for the SCRAM interop tests: `initdb` in a temporary folder,
 * listening on 127.0.0.1 at a free port (no Unix socket outside the folder), `ssl = on` with a
 * self-signed certificate that openssl makes at start, `password_encryption = scram-sha-256`, and
 * a pg_hba.conf that allows nothing over TCP but `hostssl … scram-sha-256`. PostgreSQL refuses to run as
 * root, so as root every command runs as the `postgres` user (`runuser`), which must own the
 * folder; as anyone else it runs as that user. Test tooling only.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverCertificate } from "./pg_wire.ts";

/** The DER bytes of a PEM certificate. */
export function pemToDer(pem: string): Uint8Array {
  const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

/** Where PostgreSQL 15's programs live on Debian (they are not on PATH there). */
const PG_BIN_DIRS = ["/usr/lib/postgresql/15/bin"];

/** A certificate the cluster serves. */
export interface ClusterCertificate {
  /** PEM of the certificate (the test trusts exactly this one). */
  readonly pem: string;
  /** What openssl was asked to sign it with, such as `sha256`. */
  readonly digest: string;
}

/** A running cluster. */
export interface Cluster {
  /** 127.0.0.1. */
  readonly host: string;
  /** The TCP port it listens on. */
  readonly port: number;
  /** The role that may log in. */
  readonly user: string;
  /** Its password (stored as SCRAM-SHA-256). */
  readonly password: string;
  /** The certificate in use. */
  certificate: ClusterCertificate;
  /**
   * Replaces the server certificate with a new self-signed one of the given key and digest and
   * reloads the configuration (PostgreSQL rereads ssl_cert_file on SIGHUP).
   */
  rotateCertificate(key: KeySpec, digest: string): Promise<ClusterCertificate>;
  /** Runs SQL with psql over the private Unix socket; throws on failure. */
  psql(sql: string): string;
  /** The server log so far. */
  log(): string;
  /** Stops the server (immediate mode) and removes the folder. */
  stop(): Promise<void>;
}

/** The kind of key for a certificate: `rsa:2048`, `ec:prime256v1`, `ec:secp384r1`. */
export type KeySpec = `rsa:${number}` | `ec:${string}`;

/** Why the cluster could not start, or the cluster. */
export type ClusterStart = { ok: true; cluster: Cluster } | { ok: false; reason: string };

function findBinary(name: string): string | undefined {
  for (const dir of PG_BIN_DIRS) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  const which = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  return which.status === 0 ? which.stdout.trim() || undefined : undefined;
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

interface Runner {
  run(args: readonly string[], input?: string): { status: number | null; output: string };
}

function runner(): Runner | string {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) {
    return {
      run(args, input) {
        const r = spawnSync(args[0], args.slice(1), { encoding: "utf8", input });
        return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ?? ""}` };
      },
    };
  }
  const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  if (id.status !== 0) return "running as root and there is no postgres user to run PostgreSQL as";
  return {
    run(args, input) {
      const r = spawnSync("runuser", ["-u", "postgres", "--", ...args], {
        encoding: "utf8",
        input,
      });
      return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ?? ""}` };
    },
  };
}

function owner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
  const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
  return { uid, gid };
}

function makeCertificate(dir: string, key: KeySpec, digest: string): ClusterCertificate | string {
  const certPath = join(dir, "server.crt");
  const keyPath = join(dir, "server.key");
  const newKey = key.startsWith("ec:")
    ? ["-newkey", "ec", "-pkeyopt", `ec_paramgen_curve:${key.slice(3)}`]
    : ["-newkey", key];
  const r = spawnSync("openssl", [
    "req",
    "-x509",
    ...newKey,
    "-nodes",
    `-${digest}`,
    "-days",
    "2",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    keyPath,
    "-out",
    certPath,
  ], { encoding: "utf8" });
  if (r.status !== 0) return `openssl req failed: ${r.stderr ?? r.error}`;
  chmodSync(keyPath, 0o600);
  const ids = owner();
  if (ids) {
    chownSync(keyPath, ids.uid, ids.gid);
    chownSync(certPath, ids.uid, ids.gid);
  }
  return { pem: readFileSync(certPath, "utf8"), digest };
}

/**
 * Starts a cluster with one login role. Takes about two seconds (initdb is most of it).
 *
 * @example
 * ```ts ignore
 * const start = await startCluster({ user: "chris", password: "secret" });
 * if (start.ok) await start.cluster.stop();
 * ```
 */
export async function startCluster(
  options: { user: string; password: string; key?: KeySpec; digest?: string },
): Promise<ClusterStart> {
  const initdb = findBinary("initdb");
  const pgCtl = findBinary("pg_ctl");
  const psql = findBinary("psql");
  if (!initdb || !pgCtl || !psql) {
    return { ok: false, reason: "initdb/pg_ctl not found (apt-get install postgresql-15)" };
  }
  if (!findBinary("openssl")) return { ok: false, reason: "openssl not found" };
  const as = runner();
  if (typeof as === "string") return { ok: false, reason: as };

  const dir = mkdtempSync(join(tmpdir(), "saslkit-pg-"));
  const ids = owner();
  if (ids) chownSync(dir, ids.uid, ids.gid);
  chmodSync(dir, 0o700);
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  const pwFile = join(dir, "pw");
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const fail = (reason: string): ClusterStart => {
    cleanup();
    return { ok: false, reason };
  };

  writeFileSync(pwFile, options.password + "\n", { mode: 0o600 });
  if (ids) chownSync(pwFile, ids.uid, ids.gid);
  const init = as.run([
    initdb,
    "-D",
    data,
    "-U",
    options.user,
    "--pwfile",
    pwFile,
    "--auth",
    "scram-sha-256",
    "--encoding",
    "UTF8",
    "--locale",
    "C",
    "--no-sync",
  ]);
  rmSync(pwFile, { force: true });
  if (init.status !== 0) return fail(`initdb failed: ${init.output.trim().slice(-2000)}`);

  let certificate = makeCertificate(dir, options.key ?? "rsa:2048", options.digest ?? "sha256");
  if (typeof certificate === "string") return fail(certificate);

  const port = await freePort();
  const conf = [
    `listen_addresses = '127.0.0.1'`,
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    `ssl = on`,
    `ssl_cert_file = '${join(dir, "server.crt")}'`,
    `ssl_key_file = '${join(dir, "server.key")}'`,
    `password_encryption = 'scram-sha-256'`,
    `fsync = off`,
    `shared_buffers = 16MB`,
    `max_connections = 20`,
    `log_connections = on`,
  ].join("\n") + "\n";
  // TCP: TLS and SCRAM only. The Unix socket lives in the 0700 folder (only its owner and root
  // reach it) and trusts, so that the tests can create roles with psql.
  const hba = "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n";
  const confPath = join(data, "postgresql.auto.conf");
  writeFileSync(confPath, conf);
  writeFileSync(join(data, "pg_hba.conf"), hba);
  if (ids) {
    chownSync(confPath, ids.uid, ids.gid);
    chownSync(join(data, "pg_hba.conf"), ids.uid, ids.gid);
  }

  const start = as.run([pgCtl, "-D", data, "-l", logFile, "-w", "-t", "20", "start"]);
  if (start.status !== 0) {
    const log = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    return fail(`pg_ctl start failed: ${start.output.trim()}\n${log.slice(-2000)}`);
  }

  const cluster: Cluster = {
    host: "127.0.0.1",
    port,
    user: options.user,
    password: options.password,
    certificate,
    async rotateCertificate(key, digest) {
      const made = makeCertificate(dir, key, digest);
      if (typeof made === "string") throw new Error(made);
      const reload = as.run([pgCtl, "-D", data, "reload"]);
      if (reload.status !== 0) throw new Error(`reload: ${reload.output}`);
      certificate = made;
      cluster.certificate = made;
      // The postmaster rereads the files when it handles SIGHUP: wait until it serves the new one.
      const wanted = pemToDer(made.pem).join(",");
      for (let i = 0; i < 50; i++) {
        const served = await serverCertificate("127.0.0.1", port, made.pem).catch(() => undefined);
        if (served && served.join(",") === wanted) return made;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error("PostgreSQL did not pick up the new certificate within 5 s");
    },
    psql(sql) {
      const r = as.run([
        psql!,
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        dir,
        "-p",
        String(port),
        "-U",
        options.user,
        "-d",
        "postgres",
        "-c",
        sql,
      ]);
      if (r.status !== 0) throw new Error(`psql failed: ${r.output.trim()}`);
      return r.output;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    stop() {
      as.run([pgCtl, "-D", data, "-m", "immediate", "-w", "stop"]);
      cleanup();
      return Promise.resolve();
    },
  };
  return { ok: true, cluster };
}
