// Helpers shared by the DIGEST-MD5 tests.
import { DigestMd5Client, type DigestMd5ClientOptions } from "../digest_md5/client.ts";
import { DigestMd5Server, type DigestMd5ServerOptions } from "../digest_md5/server.ts";
import type { SaslOutcome } from "../mechanism.ts";
import { allCiphers } from "../digest_md5/ciphers.ts";

export const enc = new TextEncoder();
export const dec = new TextDecoder();
export const bytes = (text: string): Uint8Array => enc.encode(text);
export const text = (data: Uint8Array): string => dec.decode(data);

/** Parses `a=b,c="d"` into a map, for asserting on single directives. */
export function directives(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of message.matchAll(/([a-z-]+)=("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    out.set(m[1], m[2].startsWith('"') ? m[2].slice(1, -1).replace(/\\(.)/g, "$1") : m[2]);
  }
  return out;
}

/** Runs a whole exchange between a saslkit client and a saslkit server (offering every cipher). */
export function exchange(
  clientOptions: Partial<DigestMd5ClientOptions>,
  serverOptions: Partial<DigestMd5ServerOptions>,
): { client: SaslOutcome; server: SaslOutcome } {
  const server = new DigestMd5Server({
    service: "smtp",
    host: "mail.example.com",
    realms: ["example.com"],
    ciphers: allCiphers,
    credentials: (user) => user === "smtpuser" ? { password: "secret" } : undefined,
    ...serverOptions,
  });
  const client = new DigestMd5Client({
    username: "smtpuser",
    password: "secret",
    service: "smtp",
    host: "mail.example.com",
    ...clientOptions,
  });
  if (client.start() !== undefined) throw new Error("unexpected initial response");
  const first = server.next(undefined);
  const final = server.next(client.next(first.challenge!));
  if (!final.done || !final.challenge) throw new Error("server did not finish");
  const empty = client.next(final.challenge);
  if (empty.length !== 0) throw new Error("client did not answer rspauth with an empty response");
  return { client: client.finish(), server: server.outcome() };
}
