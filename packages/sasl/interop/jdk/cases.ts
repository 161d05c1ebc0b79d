/**
 * The interop matrix shared by the JDK transcript generator and the live JDK tests: every qop,
 * every cipher the JDK has, with and without authzid, and non-ASCII credentials.
 *
 * @module
 */

import type { PeerConfig } from "../peer.ts";

/** Protection levels of RFC 2831. */
export type CaseQop = "auth" | "auth-int" | "auth-conf";

/** The ciphers of RFC 2831, all of which the JDK implements. */
export type CaseCipher = "3des" | "des" | "rc4" | "rc4-56" | "rc4-40";

/** One interop scenario. */
export interface InteropCase {
  /** File-name-safe identifier (also the transcript's name). */
  readonly name: string;
  /** The qop the client asks for (the server offers all three). */
  readonly qop: CaseQop;
  /** The cipher the client asks for with auth-conf. */
  readonly cipher?: CaseCipher;
  readonly username: string;
  readonly password: string;
  readonly authzid?: string;
  /** The server's single realm. */
  readonly realm: string;
  /** The server's maxbuf (omitted: 65536, and the JDK then sends no maxbuf directive). */
  readonly serverMaxbuf?: number;
  /** The client's maxbuf (omitted: 65536). */
  readonly clientMaxbuf?: number;
  /** false: the JDK server sends no `charset=utf-8`, so everything is ISO-8859-1. */
  readonly utf8?: boolean;
}

/** The service and host of every case (digest-uri `smtp/mail.example.com`). */
export const SERVICE = "smtp";
/** See {@linkcode SERVICE}. */
export const HOST = "mail.example.com";

const LAYERS: ReadonlyArray<{ qop: CaseQop; cipher?: CaseCipher }> = [
  { qop: "auth" },
  { qop: "auth-int" },
  { qop: "auth-conf", cipher: "3des" },
  { qop: "auth-conf", cipher: "des" },
  { qop: "auth-conf", cipher: "rc4" },
  { qop: "auth-conf", cipher: "rc4-56" },
  { qop: "auth-conf", cipher: "rc4-40" },
];

function layerName(layer: { qop: CaseQop; cipher?: CaseCipher }): string {
  return layer.cipher ? `${layer.qop}-${layer.cipher}` : layer.qop;
}

function buildCases(): InteropCase[] {
  const cases: InteropCase[] = [];
  for (const layer of LAYERS) {
    // Small buffers keep the near-maxbuf messages (and the transcripts) small.
    const sizes = layer.qop === "auth" ? {} : { serverMaxbuf: 2048, clientMaxbuf: 1024 };
    cases.push({
      name: layerName(layer),
      ...layer,
      ...sizes,
      username: "chris",
      password: "secret",
      realm: "example.com",
    });
    cases.push({
      name: `${layerName(layer)}-authzid`,
      ...layer,
      username: "chris",
      password: "secret",
      authzid: "postmaster",
      realm: "example.com",
    });
  }
  for (const layer of [LAYERS[0], LAYERS[1], LAYERS[2], LAYERS[4]]) {
    const sizes = layer.qop === "auth" ? {} : { serverMaxbuf: 2048, clientMaxbuf: 1024 };
    cases.push({
      name: `latin1-${layerName(layer)}`,
      ...layer,
      ...sizes,
      username: "jürgen",
      password: "pässwörd",
      realm: "example.com",
    });
    cases.push({
      name: `cjk-${layerName(layer)}`,
      ...layer,
      ...sizes,
      username: "用户",
      password: "密码",
      realm: "example.com",
    });
  }
  cases.push(
    {
      name: "cjk-authzid-auth-int",
      qop: "auth-int",
      username: "用户",
      password: "密码",
      authzid: "管理员",
      realm: "example.com",
    },
    {
      // RFC 2831 hashes a realm that fits ISO-8859-1 in ISO-8859-1, though it travels in UTF-8.
      name: "latin1-realm-auth",
      qop: "auth",
      username: "jürgen",
      password: "pässwörd",
      realm: "exämple.com",
    },
    {
      // Without charset=utf-8 everything on the wire is ISO-8859-1.
      name: "latin1-nocharset-auth",
      qop: "auth",
      username: "jürgen",
      password: "pässwörd",
      realm: "example.com",
      utf8: false,
    },
    {
      name: "latin1-nocharset-auth-conf-rc4",
      qop: "auth-conf",
      cipher: "rc4",
      username: "jürgen",
      password: "pässwörd",
      realm: "example.com",
      utf8: false,
      serverMaxbuf: 2048,
      clientMaxbuf: 1024,
    },
  );
  return cases;
}

/** Every case, in a stable order. */
export const CASES: readonly InteropCase[] = buildCases();

/** The JDK server peer's config for a case: offers every qop (and every cipher). */
export function serverConfig(c: InteropCase): PeerConfig {
  return {
    role: "server",
    mechanism: "DIGEST-MD5",
    username: c.username,
    password: c.password,
    ...(c.authzid !== undefined ? { authzid: c.authzid } : {}),
    realm: c.realm,
    service: SERVICE,
    host: HOST,
    qop: "auth,auth-int,auth-conf",
    ...(c.serverMaxbuf !== undefined ? { maxbuf: c.serverMaxbuf } : {}),
    ...(c.utf8 === false ? { utf8: false } : {}),
  };
}

/** The JDK client peer's config for a case: asks for exactly the case's qop and cipher. */
export function clientConfig(c: InteropCase): PeerConfig {
  return {
    role: "client",
    mechanism: "DIGEST-MD5",
    username: c.username,
    password: c.password,
    ...(c.authzid !== undefined ? { authzid: c.authzid } : {}),
    realm: c.realm,
    service: SERVICE,
    host: HOST,
    qop: c.qop,
    ...(c.cipher !== undefined ? { ciphers: c.cipher } : {}),
    ...(c.clientMaxbuf !== undefined ? { maxbuf: c.clientMaxbuf } : {}),
  };
}
