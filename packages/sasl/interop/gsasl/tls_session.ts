/**
 * gsasl over a real TLS session: `gsasl --smtp --connect 127.0.0.1:PORT --starttls` against a
 * STARTTLS terminator in Node (`starttls_terminator.mjs`: Deno 2.9's node:tls has no
 * exportKeyingMaterial) that relays the plaintext to a tiny SMTP AUTH responder here, driven by
 * a saslkit server mechanism. gsasl then takes its channel binding from GnuTLS; the terminator
 * reports what OpenSSL (through Node) computes for the same session. Test tooling only.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeBase64, encodeBase64 } from "../../base64.ts";
import type { SaslOutcome, ServerMechanism } from "../../mechanism.ts";

const TERMINATOR = fileURLToPath(new URL("./starttls_terminator.mjs", import.meta.url));

/** What Node/OpenSSL computed for the TLS session, in hex. */
export interface SessionBindings {
  readonly protocol: string;
  readonly tlsExporter?: string;
  readonly tlsExporterEmptyContext?: string;
  readonly tlsUnique?: string;
  readonly serverFinished?: string;
}

/** Options of {@linkcode runGsaslOverTls}. */
export interface GsaslTlsOptions {
  /** `SCRAM-SHA-256-PLUS`… */
  readonly mechanism: string;
  readonly username: string;
  readonly password: string;
  /** A GnuTLS priority string for gsasl, such as `NORMAL:-VERS-TLS1.3`. */
  readonly priority?: string;
  /** Builds the server for the AUTH command, given the session's bindings. */
  readonly server: (mechanism: string, bindings: SessionBindings) => Promise<ServerMechanism>;
}

/** What happened. */
export interface GsaslTlsResult {
  /** gsasl's exit status. */
  readonly exitCode: number | null;
  /** gsasl's stdout and stderr. */
  readonly output: string;
  /** The SMTP lines after STARTTLS, `C: `/`S: `. */
  readonly smtp: string[];
  /** The session's channel bindings as Node/OpenSSL computed them. */
  readonly bindings?: SessionBindings;
  /** The saslkit server's outcome, when it succeeded. */
  readonly outcome?: SaslOutcome;
  /** The saslkit server's error, when it failed. */
  readonly error?: unknown;
}

/** Makes a self-signed certificate for 127.0.0.1 in a new folder. */
export function makeCertificate(): { dir: string; cert: string; key: string } | string {
  const dir = mkdtempSync(join(tmpdir(), "saslkit-gsasl-tls-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const r = spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-sha256",
    "-days",
    "2",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    key,
    "-out",
    cert,
  ], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `openssl req failed: ${r.stderr ?? r.error}`;
  }
  return { dir, cert, key };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : 0);
    });
  });
}

/** Runs one gsasl login over STARTTLS; never throws for an authentication failure. */
export async function runGsaslOverTls(
  certificate: { cert: string; key: string },
  options: GsaslTlsOptions,
  timeoutMs = 15000,
): Promise<GsaslTlsResult> {
  const smtp: string[] = [];
  let outcome: SaslOutcome | undefined;
  let failure: unknown;
  const bindingQueue: SessionBindings[] = [];
  let bindingWaiter: ((b: SessionBindings) => void) | undefined;
  const nextBindings = () =>
    new Promise<SessionBindings>((resolve) => {
      const queued = bindingQueue.shift();
      if (queued) resolve(queued);
      else bindingWaiter = resolve;
    });
  let bindings: SessionBindings | undefined;

  const accepted: Socket[] = [];
  const responder = createServer((socket: Socket) => {
    accepted.push(socket);
    let buffer = "";
    let mechanism: ServerMechanism | undefined;
    let finalSent = false;
    let queue = Promise.resolve();
    const send = (line: string) => {
      smtp.push(`S: ${line}`);
      socket.write(line + "\r\n");
    };
    const step = async (data: Uint8Array | undefined) => {
      try {
        const result = await mechanism!.next(data);
        if (result.done) {
          outcome = mechanism!.outcome();
          if (result.challenge && result.challenge.length > 0) {
            // SMTP has no success data: the server-final goes as one more challenge.
            finalSent = true;
            send(`334 ${encodeBase64(result.challenge)}`);
          } else {
            mechanism = undefined;
            send("235 2.7.0 Authentication successful");
          }
        } else {
          const challenge = result.challenge ?? new Uint8Array(0);
          if (challenge[0] === 0x65 && challenge[1] === 0x3d) {
            // SCRAM's e=: the mechanism already knows why (gsasl then just hangs up).
            try {
              mechanism!.outcome();
            } catch (error) {
              failure = error;
            }
          }
          send(`334 ${encodeBase64(challenge)}`);
        }
      } catch (error) {
        failure = error;
        mechanism = undefined;
        send("535 5.7.8 Authentication credentials invalid");
      }
    };
    const handle = async (line: string) => {
      smtp.push(`C: ${line}`);
      if (mechanism) {
        if (line === "*") {
          // After an e= challenge the client cancels; the mechanism then reports why.
          try {
            mechanism.outcome();
          } catch (error) {
            failure = error;
          }
          mechanism = undefined;
          send("501 5.0.0 Authentication cancelled");
        } else if (finalSent) {
          mechanism = undefined;
          finalSent = false;
          send("235 2.7.0 Authentication successful");
        } else {
          await step(decodeBase64(line));
        }
        return;
      }
      const [verb, name, initial] = line.split(" ");
      if (/^EHLO$/i.test(verb)) {
        send("250-mail.example.com");
        send("250 AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1");
      } else if (/^AUTH$/i.test(verb) && name) {
        bindings = await nextBindings();
        mechanism = await options.server(name.toUpperCase(), bindings);
        if (initial === undefined) send("334 ");
        else await step(initial === "=" ? new Uint8Array(0) : decodeBase64(initial));
      } else if (/^QUIT$/i.test(verb)) {
        send("221 2.0.0 Bye");
        socket.end();
      } else {
        send("502 5.5.2 Not implemented");
      }
    };
    socket.on("data", (chunk: Uint8Array) => {
      buffer += new TextDecoder().decode(chunk);
      let newline;
      while ((newline = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        queue = queue.then(() => handle(line));
      }
    });
    socket.on("error", () => {});
  });
  const backend = await listen(responder);

  let terminator: ChildProcess | undefined;
  let gsasl: ChildProcess | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    terminator = spawn("node", [
      TERMINATOR,
      JSON.stringify({ cert: certificate.cert, key: certificate.key, backend }),
    ], { stdio: ["pipe", "pipe", "inherit"] });
    const port = await new Promise<number>((resolve, reject) => {
      let text = "";
      terminator!.once("error", reject);
      terminator!.stdout!.on("data", (chunk: Uint8Array) => {
        text += new TextDecoder().decode(chunk);
        let newline;
        while ((newline = text.indexOf("\n")) >= 0) {
          const line = text.slice(0, newline);
          text = text.slice(newline + 1);
          if (line.startsWith("LISTEN ")) resolve(Number(line.slice(7)));
          else if (line.startsWith("CB ")) {
            const b = JSON.parse(line.slice(3)) as SessionBindings;
            if (bindingWaiter) {
              bindingWaiter(b);
              bindingWaiter = undefined;
            } else bindingQueue.push(b);
          }
        }
      });
    });

    const args = [
      "--smtp",
      "--connect",
      `127.0.0.1:${port}`,
      "--starttls",
      "--x509-ca-file",
      certificate.cert,
      "-m",
      options.mechanism,
      "-a",
      options.username,
      "-p",
      options.password,
      ...(options.priority ? ["--priority", options.priority] : []),
    ];
    gsasl = spawn("gsasl", args, { stdio: ["pipe", "pipe", "pipe"] });
    gsasl.stdin!.end();
    let output = "";
    gsasl.stdout!.on("data", (chunk: Uint8Array) => output += new TextDecoder().decode(chunk));
    gsasl.stderr!.on("data", (chunk: Uint8Array) => output += new TextDecoder().decode(chunk));
    const exitCode = await new Promise<number | null>((resolve) => {
      timer = setTimeout(() => gsasl!.kill(), timeoutMs);
      gsasl!.on("close", (code) => resolve(code));
    });
    return { exitCode, output, smtp, bindings, outcome, error: failure };
  } finally {
    clearTimeout(timer);
    terminator?.stdin?.end();
    terminator?.kill();
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => responder.close(() => resolve()));
  }
}
