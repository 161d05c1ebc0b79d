/**
 * The exchanges run against Cyrus SASL: one list shared by the live tests and by the transcript
 * generator, so that every checked-in transcript has a live twin.
 *
 * Cyrus has no qop or cipher list to configure: both of its sides derive what they offer or
 * pick from the ssf bounds (auth = 0, auth-int = 1, auth-conf = the cipher's strength: rc4-40
 * 40, des 55, rc4-56 56, 3des 112, rc4 128), and its client picks the strongest cipher within
 * them. The peer turns the `qop` and `ciphers` of its config into the narrowest bounds that hold
 * them, so a Cyrus server asked for `ciphers: "rc4-56"` also offers the weaker rc4-40 and des.
 *
 * @module
 */

import type { DigestCipher } from "../../digest_md5/client.ts";
import type { Qop } from "../../mechanism.ts";
import type { PeerConfig } from "../peer.ts";

/** The host name in `digest-uri`, and the realm Cyrus offers when it is given none. */
export const HOST = "mail.example.com";
/** The service in `digest-uri`. */
export const SERVICE = "smtp";

/** One exchange against Cyrus. */
export interface CyrusCase {
  /** File name of the transcript, without `.json`. */
  readonly name: string;
  /** What the case shows. */
  readonly description: string;
  /** Authentication identity. */
  readonly username: string;
  /** Its password. */
  readonly password: string;
  /** The authorization identity the client asks for. */
  readonly authzid?: string;
  /** The server's realm; without one Cyrus offers the host name. */
  readonly realm?: string;
  /** The qops the server offers. */
  readonly serverQop: readonly Qop[];
  /** The ciphers the server is asked to offer (Cyrus may offer weaker ones too; see above). */
  readonly serverCiphers?: readonly DigestCipher[];
  /** The qops the client accepts. */
  readonly clientQop: readonly Qop[];
  /** The ciphers the client accepts. */
  readonly clientCiphers?: readonly DigestCipher[];
  /** The server's receive buffer. */
  readonly serverMaxbuf: number;
  /** The client's receive buffer. */
  readonly clientMaxbuf: number;
  /** What both sides must agree on. */
  readonly expectQop: Qop;
  /** The cipher both sides must agree on. */
  readonly expectCipher?: DigestCipher;
}

const ALL_QOP: readonly Qop[] = ["auth", "auth-int", "auth-conf"];
const CIPHERS: readonly DigestCipher[] = ["rc4-40", "rc4-56", "rc4", "des", "3des"];

function protections(): Array<{ name: string; qop: Qop; cipher?: DigestCipher }> {
  return [
    { name: "auth", qop: "auth" },
    { name: "auth-int", qop: "auth-int" },
    ...CIPHERS.map((cipher) => ({ name: `auth-conf-${cipher}`, qop: "auth-conf" as Qop, cipher })),
  ];
}

function basic(authzid: string | undefined): CyrusCase[] {
  return protections().map(({ name, qop, cipher }) => ({
    name: authzid ? `authzid-${name}` : name,
    description: `chris/secret, qop=${qop}${cipher ? ` cipher=${cipher}` : ""}` +
      (authzid ? `, authzid=${authzid}` : "") +
      (qop === "auth" && !authzid ? ", no server realm (Cyrus offers the host name)" : ""),
    username: "chris",
    password: "secret",
    authzid,
    realm: qop === "auth" && !authzid ? undefined : "example.com",
    serverQop: ALL_QOP.slice(0, ALL_QOP.indexOf(qop) + 1),
    serverCiphers: cipher ? [cipher] : undefined,
    clientQop: [qop],
    clientCiphers: cipher ? [cipher] : undefined,
    serverMaxbuf: 8192,
    clientMaxbuf: 65536,
    expectQop: qop,
    expectCipher: cipher,
  }));
}

/** Every case, in a stable order. */
export const CYRUS_CASES: readonly CyrusCase[] = [
  ...basic(undefined),
  ...basic("postmaster"),
  {
    name: "sendmail-offer-all",
    description: "the Sendmail offer (every qop and cipher, maxbuf=8192) and a client that " +
      "accepts everything: Cyrus picks the strongest, rc4",
    username: "chris",
    password: "secret",
    realm: "example.com",
    serverQop: ALL_QOP,
    clientQop: ALL_QOP,
    serverMaxbuf: 8192,
    clientMaxbuf: 65536,
    expectQop: "auth-conf",
    expectCipher: "rc4",
  },
  {
    name: "small-maxbuf-auth-int",
    description: "both receive buffers small (server 1024, client 512), qop=auth-int",
    username: "chris",
    password: "secret",
    realm: "example.com",
    serverQop: ["auth", "auth-int"],
    clientQop: ["auth-int"],
    serverMaxbuf: 1024,
    clientMaxbuf: 512,
    expectQop: "auth-int",
  },
  {
    name: "latin1-auth-int",
    description: "Latin-1 credentials jürgen/pässwörd and authzid jörg: Cyrus's client sends " +
      "them as UTF-8 without charset=utf-8 and hashes username and password as ISO-8859-1",
    username: "jürgen",
    password: "pässwörd",
    authzid: "jörg",
    realm: "example.com",
    serverQop: ["auth", "auth-int"],
    clientQop: ["auth-int"],
    serverMaxbuf: 8192,
    clientMaxbuf: 65536,
    expectQop: "auth-int",
  },
  {
    name: "latin1-auth-conf-rc4",
    description: "Latin-1 credentials jürgen/pässwörd, qop=auth-conf cipher=rc4",
    username: "jürgen",
    password: "pässwörd",
    realm: "example.com",
    serverQop: ALL_QOP,
    serverCiphers: ["rc4"],
    clientQop: ["auth-conf"],
    clientCiphers: ["rc4"],
    serverMaxbuf: 8192,
    clientMaxbuf: 65536,
    expectQop: "auth-conf",
    expectCipher: "rc4",
  },
  {
    name: "cjk-auth",
    description: "credentials outside Latin-1, 用户/密码: hashed as UTF-8",
    username: "用户",
    password: "密码",
    realm: "example.com",
    serverQop: ["auth"],
    clientQop: ["auth"],
    serverMaxbuf: 8192,
    clientMaxbuf: 65536,
    expectQop: "auth",
  },
  {
    name: "cjk-auth-conf-3des",
    description:
      "credentials outside Latin-1, 用户/密码, authzid 管理员, qop=auth-conf cipher=3des",
    username: "用户",
    password: "密码",
    authzid: "管理员",
    realm: "example.com",
    serverQop: ALL_QOP,
    serverCiphers: ["3des"],
    clientQop: ["auth-conf"],
    clientCiphers: ["3des"],
    serverMaxbuf: 8192,
    clientMaxbuf: 65536,
    expectQop: "auth-conf",
    expectCipher: "3des",
  },
  {
    name: "mixed-charset-auth-int",
    description: "a Latin-1 username with a password outside Latin-1 (jürgen/密码): Cyrus " +
      "converts each of username, realm and password to ISO-8859-1 on its own when it can",
    username: "jürgen",
    password: "密码",
    realm: "example.com",
    serverQop: ["auth", "auth-int"],
    clientQop: ["auth-int"],
    serverMaxbuf: 8192,
    clientMaxbuf: 65536,
    expectQop: "auth-int",
  },
];

/**
 * Cyrus 2.1.28 with OpenSSL 3 refuses almost every 3des key (see `fixDesParity` in
 * sasl_peer.c); the peer works around it only where 3des is the expected outcome, and behaves
 * as the packaged library everywhere else.
 */
function desFix(c: CyrusCase): Record<string, unknown> {
  return c.expectCipher === "3des" ? { fixDesParity: true } : {};
}

/**
 * The config of a Cyrus server peer for a case.
 *
 * @example
 * ```ts ignore
 * const peer = await startPeer(build.command, serverConfig(CYRUS_CASES[0]));
 * ```
 */
export function serverConfig(c: CyrusCase): PeerConfig {
  return {
    role: "server",
    mechanism: "DIGEST-MD5",
    username: c.username,
    password: c.password,
    ...(c.realm !== undefined ? { realm: c.realm } : {}),
    service: SERVICE,
    host: HOST,
    qop: c.serverQop.join(","),
    ...(c.serverCiphers ? { ciphers: c.serverCiphers.join(",") } : {}),
    maxbuf: c.serverMaxbuf,
    ...desFix(c),
  };
}

/**
 * The config of a Cyrus client peer for a case.
 *
 * @example
 * ```ts ignore
 * const peer = await startPeer(build.command, clientConfig(CYRUS_CASES[0]));
 * ```
 */
export function clientConfig(c: CyrusCase): PeerConfig {
  return {
    role: "client",
    mechanism: "DIGEST-MD5",
    username: c.username,
    password: c.password,
    ...(c.authzid !== undefined ? { authzid: c.authzid } : {}),
    ...(c.realm !== undefined ? { realm: c.realm } : {}),
    service: SERVICE,
    host: HOST,
    qop: c.clientQop.join(","),
    ...(c.clientCiphers ? { ciphers: c.clientCiphers.join(",") } : {}),
    maxbuf: c.clientMaxbuf,
    ...desFix(c),
  };
}
