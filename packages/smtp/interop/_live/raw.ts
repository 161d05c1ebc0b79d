// The peers checked from the wire without saslkit: a minimal SMTP client over node:net (with
// STARTTLS and a client certificate over node:tls), GNU SASL's `gsasl --smtp` for the SCRAM
// family, and HS256 JWTs for Dovecot's oauth2 passdb made with node:crypto.

import { Buffer } from "node:buffer";
import { execFile } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { createConnection, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { SmtpPeer } from "../servers.ts";

/** A reply: its code and its lines without the code. */
export interface RawReply {
  readonly code: number;
  readonly lines: readonly string[];
}

/** Just enough SMTP to authenticate by hand; every read has a deadline. */
export class RawSmtp {
  #socket: Socket | TLSSocket;
  #buffer = "";
  #closed = false;
  #wake: (() => void) | undefined;
  /** Every line sent (C:) and received (S:), in order. */
  readonly transcript: string[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#attach(socket);
  }

  #attach(socket: Socket | TLSSocket): void {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      this.#wake?.();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on("error", () => {});
  }

  /** Connects (to `port`, default the peer's) and reads the 220 banner. */
  static async open(peer: SmtpPeer, port = peer.port): Promise<RawSmtp> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ host: peer.host, port });
      s.once("connect", () => resolve(s));
      s.once("error", reject);
    });
    const smtp = new RawSmtp(socket);
    const banner = await smtp.reply();
    if (banner.code !== 220) throw new Error(`banner ${banner.code}`);
    return smtp;
  }

  /** Reads one (multi-line) reply. */
  async reply(timeoutMs = 10000): Promise<RawReply> {
    const deadline = Date.now() + timeoutMs;
    const lines: string[] = [];
    for (;;) {
      const end = this.#buffer.indexOf("\r\n");
      if (end >= 0) {
        const line = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        this.transcript.push(`S: ${line}`);
        const match = /^(\d{3})([ -])(.*)$/.exec(line);
        if (!match) throw new Error(`not an SMTP reply line: ${JSON.stringify(line)}`);
        lines.push(match[3]);
        if (match[2] === " ") return { code: Number(match[1]), lines };
        continue;
      }
      if (this.#closed) throw new Error("connection closed while waiting for a reply");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = undefined;
          resolve();
        };
      });
    }
  }

  /** Sends a line (`shown` goes into the transcript instead, for secrets) and reads the reply. */
  async command(line: string, shown = line): Promise<RawReply> {
    this.transcript.push(`C: ${shown}`);
    this.#socket.write(`${line}\r\n`);
    return await this.reply();
  }

  /** EHLO; the AUTH mechanisms offered. */
  async ehlo(name = "client.example.com"): Promise<{ reply: RawReply; auth: string[] }> {
    const reply = await this.command(`EHLO ${name}`);
    const line = reply.lines.find((l) => /^AUTH /i.test(l));
    return { reply, auth: line ? line.slice(5).trim().split(/\s+/) : [] };
  }

  /** STARTTLS, trusting `ca` and presenting `cert`/`key` when given. */
  async startTls(options: { ca: string; cert?: string; key?: string }): Promise<TLSSocket> {
    const reply = await this.command("STARTTLS");
    if (reply.code !== 220) throw new Error(`STARTTLS: ${reply.code} ${reply.lines.join(" ")}`);
    const plain = this.#socket as Socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    const secured = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({
        socket: plain,
        servername: "mail.example.com",
        ca: options.ca,
        cert: options.cert,
        key: options.key,
      });
      s.once("secureConnect", () => resolve(s));
      s.once("error", reject);
    });
    this.#socket = secured;
    this.#attach(secured);
    return secured;
  }

  /** QUIT and close. */
  async quit(): Promise<void> {
    try {
      await this.command("QUIT");
    } finally {
      this.close();
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** base64 of UTF-8 text. */
export const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");
/** UTF-8 text of base64. */
export const unb64 = (data: string): string => Buffer.from(data, "base64").toString("utf8");

/** Claims of a test token; `sub` is required by Dovecot, `exp` defaults to five minutes ahead. */
export interface TokenClaims {
  sub: string;
  iss?: string;
  exp?: number;
  nbf?: number;
  iat?: number;
  [claim: string]: unknown;
}

/**
 * An HS256 JWT (`typ: "JWT"`) the peer's oauth2 passdb accepts when signed with `peer.oauth.key`
 * and `iss` is `peer.oauth.issuer` (both the default). `key` signs with another key instead.
 */
export function bearerToken(
  peer: SmtpPeer,
  claims: TokenClaims,
  key: Uint8Array | undefined = peer.oauth?.key,
): string {
  if (!peer.oauth || !key) throw new Error(`the ${peer.name} peer has no OAuth setup`);
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = part({ alg: "HS256", typ: "JWT" });
  // A fresh jti each time, so that no two tokens made in the same second are the same string.
  const jti = randomUUID();
  const body = part({ iss: peer.oauth.issuer, iat: now, exp: now + 300, jti, ...claims });
  const signature = createHmac("sha256", key).update(`${header}.${body}`).digest("base64url");
  return `${header}.${body}.${signature}`;
}

/** What one `gsasl --smtp` run did. */
export interface GsaslRun {
  /** Exit status: 0 when the server said 235 (and, with SCRAM, its signature verified). */
  readonly status: number;
  /** Everything it printed (the SMTP dialogue, base64 as sent). */
  readonly output: string;
}

/**
 * Runs GNU SASL 2.2's SMTP client against `peer`: `gsasl --smtp --connect 127.0.0.1:PORT -m
 * MECHANISM ...`, stdin closed (no application data), no STARTTLS unless `tls` is given (then it
 * presents the client certificate).
 */
export function gsasl(
  peer: SmtpPeer,
  mechanism: string,
  options: {
    username?: string;
    password?: string;
    authorizationId?: string;
    anonymousToken?: string;
    tls?: { ca: string; cert: string; key: string };
    /** Another port of the peer (Dovecot's submission server). */
    port?: number;
  },
): Promise<GsaslRun> {
  const port = options.port ?? peer.port;
  const args = ["--smtp", "--connect", `${peer.host}:${port}`, "-m", mechanism, "--verbose"];
  if (options.username !== undefined) args.push("--authentication-id", options.username);
  if (options.password !== undefined) args.push("--password", options.password);
  if (options.authorizationId !== undefined) {
    args.push("--authorization-id", options.authorizationId);
  }
  if (options.anonymousToken !== undefined) {
    args.push("--anonymous-token", options.anonymousToken);
  }
  if (options.tls) {
    args.push(
      "--x509-ca-file",
      options.tls.ca,
      "--x509-cert-file",
      options.tls.cert,
      "--x509-key-file",
      options.tls.key,
    );
  } else {
    args.push("--no-starttls");
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      "gsasl",
      args,
      { timeout: 15000, encoding: "utf8" },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        if (error && typeof error.code !== "number") {
          reject(new Error(`gsasl did not run: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ status, output: `${stdout}${stderr}` });
      },
    );
    child.stdin?.end();
  });
}
