/**
 * The DIGEST-MD5 client (RFC 2831).
 *
 * @module
 */

import {
  asciiPieces,
  decodeLatin1,
  isNonceText,
  randomBase64Url,
  utf8,
  utf8Into,
} from "../_bytes.ts";
import { SaslError } from "../error.ts";
import type { ClientMechanism, MechanismProperties, Qop, SaslOutcome } from "../mechanism.ts";
import { clientHashA1, digestValue } from "./_compute.ts";
import type { DigestCipher, DigestCipherSuite } from "./ciphers.ts";
import {
  type DigestChallenge,
  MAX_CHALLENGE_LENGTH,
  MAX_RESPONSE_LENGTH,
  parseChallenge,
} from "./_challenge.ts";
import { quote, scanDirectives } from "./_directives.ts";
import { DigestSecurityLayer } from "./_layer.ts";
import { checkProtection, DIGEST_MD5_PROPERTIES } from "./_options.ts";

export type { DigestCipher, DigestCipherSuite } from "./ciphers.ts";

// The cache's entries live outside the class so that nothing of them is public API.
const cacheEntries = new WeakMap<DigestMd5ReauthCache, Map<string, ReauthEntry>>();

/**
 * What a client remembers of finished DIGEST-MD5 authentications so that it can
 * re-authenticate with the same nonce and an incremented nonce-count (RFC 2831 §2.2).
 * Share one between the clients of one application; it holds hashed secrets, so treat it
 * like a password store.
 *
 * @example
 * ```ts
 * import { DigestMd5Client, DigestMd5ReauthCache } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const reauthCache = new DigestMd5ReauthCache();
 * const client = new DigestMd5Client({
 *   username: "chris",
 *   password: "secret",
 *   service: "imap",
 *   host: "elwood.innosoft.com",
 *   reauthCache,
 * });
 * assert.equal(client.start(), undefined); // nothing cached yet: a full authentication
 * assert.equal(reauthCache.size, 0);
 * ```
 */
export class DigestMd5ReauthCache {
  /** Creates an empty cache. */
  constructor() {
    cacheEntries.set(this, new Map());
  }

  /** How many sessions are remembered. */
  get size(): number {
    return cacheEntries.get(this)!.size;
  }

  /** Forgets every remembered session. */
  clear(): void {
    cacheEntries.get(this)!.clear();
  }
}

function cacheGet(cache: DigestMd5ReauthCache | undefined, key: string): ReauthEntry | undefined {
  return cache ? cacheEntries.get(cache)!.get(key) : undefined;
}

// Enough for any real client; the oldest session is forgotten beyond it.
const MAX_CACHE_ENTRIES = 1000;

function cacheSet(cache: DigestMd5ReauthCache | undefined, key: string, entry?: ReauthEntry): void {
  if (!cache) return;
  const entries = cacheEntries.get(cache)!;
  entries.delete(key);
  if (!entry) return;
  if (entries.size >= MAX_CACHE_ENTRIES) entries.delete(entries.keys().next().value!);
  entries.set(key, entry);
}

interface ReauthEntry {
  readonly nonce: string;
  readonly nc: number;
  readonly realm: string;
  readonly realmSent: boolean;
  readonly utf8: boolean;
  readonly qop: Qop;
  readonly cipher?: DigestCipher;
  readonly peerMaxbuf: number;
}

/** Options of {@linkcode DigestMd5Client}. */
export interface DigestMd5ClientOptions {
  /** The authentication identity. */
  readonly username: string;
  /** The password. Never sent; only hashed. */
  readonly password: string;
  /** The registered service name of the protocol: `smtp`, `imap`, `ldap`, `xmpp`… */
  readonly service: string;
  /** The server's host name, as in `digest-uri` (`smtp/mail.example.com`). */
  readonly host: string;
  /** The `serv-name` part of `digest-uri`, for replicated services (RFC 2831 §2.1.2). */
  readonly serviceName?: string;
  /** The identity to act as, if not the authentication identity; always sent as UTF-8. */
  readonly authorizationId?: string;
  /**
   * The realm: a fixed name, or a function that picks one of those the server offers (it may
   * receive an empty list). By default the first offered realm, or none.
   */
  readonly realm?: string | ((offered: readonly string[]) => string);
  /**
   * The protection levels this caller will apply, any order. The client picks the strongest
   * one the server offers. Default `["auth"]`: no security layer, because a layer that is
   * agreed on but not applied makes the server drop the connection.
   */
  readonly qop?: readonly Qop[];
  /**
   * The ciphers acceptable for `auth-conf`, most preferred first: constants imported from
   * `@saslkit/sasl/digest-md5/ciphers` (`rc4`, `tripleDes`, `allCiphers`…), so that only those
   * are bundled. Required when `qop` lists `auth-conf`.
   */
  readonly ciphers?: readonly DigestCipherSuite[];
  /** The largest security-layer buffer this side accepts. Default 65536. */
  readonly maxbuf?: number;
  /** Makes the client nonce; for tests. Default: 16 random bytes, base64url. */
  readonly cnonce?: () => string;
  /** Enables subsequent authentication (RFC 2831 §2.2) through this shared cache. */
  readonly reauthCache?: DigestMd5ReauthCache;
  /**
   * How username, realm and password are hashed when the server says `charset=utf-8`.
   * `iso-8859-1-when-possible` (the default) narrows each string that fits to ISO-8859-1, as
   * RFC 2831, Cyrus SASL and the JDK do. `utf-8` hashes the UTF-8 bytes as they are, which is
   * what Dovecot 2.3 expects for non-ASCII credentials. ASCII credentials hash alike either way.
   */
  readonly credentialEncoding?: "iso-8859-1-when-possible" | "utf-8";
}

type ClientState =
  | "initial"
  | "await-challenge"
  | "await-reauth"
  | "await-rspauth"
  | "verified"
  | "finished"
  | "failed";

const QOP_ORDER: readonly Qop[] = ["auth-conf", "auth-int", "auth"];

const NO_HA1 = /* @__PURE__ */ new Uint8Array(0);

/**
 * The DIGEST-MD5 client: answers the server's challenge, verifies the server's `rspauth`, and
 * sets up the integrity or confidentiality layer the caller asked for.
 *
 * @example Authenticating without a security layer (the default)
 * ```ts
 * import { DigestMd5Client } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * // RFC 2831 §4, the IMAP example.
 * const client = new DigestMd5Client({
 *   username: "chris",
 *   password: "secret",
 *   service: "imap",
 *   host: "elwood.innosoft.com",
 *   cnonce: () => "OA6MHXh6VqTrRk",
 * });
 * assert.equal(client.start(), undefined); // DIGEST-MD5 waits for the server
 * const response = client.next(new TextEncoder().encode(
 *   'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8',
 * ));
 * assert.match(new TextDecoder().decode(response), /response=d388dad90d4bbd760a152321f2143af7/);
 * client.next(new TextEncoder().encode("rspauth=ea40f60335c427b5527b84dbabcdfffd"));
 * assert.equal(client.finish().qop, "auth");
 * ```
 *
 * @example Asking for a confidentiality layer, which the caller must then apply
 * ```ts
 * import { DigestMd5Client } from "@saslkit/sasl";
 * import { rc4, tripleDes } from "@saslkit/sasl/digest-md5/ciphers";
 *
 * const client = new DigestMd5Client({
 *   username: "chris",
 *   password: "secret",
 *   service: "smtp",
 *   host: "mail.example.com",
 *   qop: ["auth-conf", "auth-int"],
 *   ciphers: [tripleDes, rc4],
 * });
 * ```
 */
export class DigestMd5Client implements ClientMechanism {
  /** Always `DIGEST-MD5`. */
  readonly name = "DIGEST-MD5";
  /** DIGEST-MD5 never sends the password, verifies the server and can offer a layer. */
  readonly properties: MechanismProperties = DIGEST_MD5_PROPERTIES;
  readonly #options: DigestMd5ClientOptions;
  readonly #acceptedQops: readonly Qop[];
  readonly #ciphers: readonly DigestCipherSuite[];
  readonly #maxbuf: number;
  #state: ClientState = "initial";
  // Set by the response; until then one shared empty array (no allocation per client).
  #ha1: Uint8Array = NO_HA1;
  // What rspauth is computed from, kept until it arrives: no hashing for a proof not yet sent.
  #digestUri = "";
  #nc = "";
  #cnonce = "";
  #session?: ReauthEntry;
  #outcome?: SaslOutcome;

  /**
   * Creates a client for one exchange; it checks the options but sends nothing yet.
   *
   * @param options Credentials, service and what protection to accept.
   * @throws {SaslError} `invalid-argument` for an empty username, an unknown qop, `auth-conf`
   * without ciphers, ciphers given as names, or a maxbuf out of range.
   */
  constructor(options: DigestMd5ClientOptions) {
    if (!options.username) throw new SaslError("invalid-argument", "username is empty");
    if (!options.service || !options.host) {
      throw new SaslError("invalid-argument", "service and host are required for digest-uri");
    }
    // digest-uri is hashed as sent, so it must be the same bytes under either charset.
    for (const part of [options.service, options.host, options.serviceName ?? "x"]) {
      if (!isNonceText(part) || part.includes("/")) {
        throw new SaslError(
          "invalid-argument",
          "service, host and serviceName must be printable ASCII without '/', '\"' or '\\'",
        );
      }
    }
    const { qops, ciphers, maxbuf } = checkProtection(options.qop, options.ciphers, options.maxbuf);
    if (
      options.credentialEncoding !== undefined &&
      options.credentialEncoding !== "iso-8859-1-when-possible" &&
      options.credentialEncoding !== "utf-8"
    ) {
      throw new SaslError("invalid-argument", "credentialEncoding is not a known encoding");
    }
    this.#options = options;
    this.#acceptedQops = QOP_ORDER.filter((q) => qops.includes(q));
    this.#ciphers = ciphers;
    this.#maxbuf = maxbuf;
  }

  /**
   * Returns `undefined` (DIGEST-MD5 waits for the server), or, when a reauthentication cache
   * holds a previous session with this server, the initial response of a subsequent
   * authentication (RFC 2831 §2.2.1).
   */
  start(): Uint8Array | undefined {
    this.#expect("initial");
    const cache = this.#options.reauthCache;
    const key = cache ? this.#cacheKey() : "";
    const cached = cacheGet(cache, key);
    // The entry is taken out: a subsequent authentication that fails must not be tried again
    // and again. finish() puts it back after a success.
    cacheSet(cache, key);
    if (!cached || !this.#reusable(cached)) {
      this.#state = "await-challenge";
      return undefined;
    }
    return this.#guard(() => {
      const entry: ReauthEntry = { ...cached, nc: cached.nc + 1 };
      this.#state = "await-reauth";
      return this.#respond(entry);
    });
  }

  /**
   * Answers the digest-challenge with a digest-response, or checks `rspauth` and answers with
   * an empty response.
   *
   * @throws {SaslError} on a malformed challenge, no acceptable qop or cipher, or a wrong rspauth;
   * `message-too-long` for a challenge or rspauth message over 2048 bytes, before it is parsed.
   */
  next(challenge: Uint8Array): Uint8Array {
    return this.#guard(() => {
      switch (this.#state) {
        case "await-challenge":
          return this.#answerChallenge(parseChallenge(challenge));
        case "await-reauth":
          // A server that does not take the subsequent authentication sends a fresh challenge.
          if (!startsWithRspauth(challenge)) {
            return this.#answerChallenge(parseChallenge(challenge));
          }
          this.#verifyRspauth(challenge);
          return new Uint8Array(0);
        case "await-rspauth":
          this.#verifyRspauth(challenge);
          return new Uint8Array(0);
        case "initial":
          throw new SaslError("invalid-state", "DIGEST-MD5: call start() first");
        default:
          // A server that keeps challenging after proving itself is not following the protocol.
          throw new SaslError(
            "malformed-challenge",
            `DIGEST-MD5: unexpected challenge after rspauth (${this.#state})`,
          );
      }
    });
  }

  /**
   * Accepts the server's success and returns the outcome. If the protocol carries the
   * `rspauth` as additional data with success, pass it here.
   *
   * @throws {SaslError} `server-not-verified` when no valid rspauth was received.
   */
  finish(additionalData?: Uint8Array): SaslOutcome {
    return this.#guard(() => {
      if (
        (this.#state === "await-rspauth" || this.#state === "await-reauth") &&
        additionalData?.length
      ) {
        this.#verifyRspauth(additionalData);
      }
      if (this.#state === "finished" && this.#outcome) return this.#outcome;
      if (this.#state !== "verified") {
        throw new SaslError(
          "server-not-verified",
          "DIGEST-MD5: the server reported success without a valid rspauth",
        );
      }
      const session = this.#session!;
      const securityLayer = session.qop === "auth" ? undefined : new DigestSecurityLayer({
        ha1: this.#ha1,
        side: "client",
        qop: session.qop,
        cipher: this.#suite(session.cipher),
        ownMaxbuf: this.#maxbuf,
        peerMaxbuf: session.peerMaxbuf,
      });
      this.#outcome = {
        mechanism: this.name,
        authenticationId: this.#options.username,
        authorizationId: this.#options.authorizationId || undefined,
        qop: session.qop,
        cipher: session.cipher,
        securityLayer,
      };
      this.#state = "finished";
      if (this.#options.reauthCache) cacheSet(this.#options.reauthCache, this.#cacheKey(), session);
      return this.#outcome;
    });
  }

  #answerChallenge(challenge: DigestChallenge): Uint8Array {
    // A layer needs room for data in the server's maxbuf after the length, MAC, type, sequence
    // number (and a block of padding): a tiny maxbuf rules the layer out rather than breaking
    // the connection later.
    const fits = (q: Qop) =>
      q === "auth" || challenge.maxbuf - 4 - 16 - (q === "auth-conf" ? 9 : 0) >= 1;
    const cipherInCommon = this.#ciphers.some((c) => challenge.ciphers.includes(c.name));
    const qop = this.#acceptedQops.find((q) =>
      challenge.qops.includes(q) && fits(q) && (q !== "auth-conf" || cipherInCommon)
    );
    if (!qop && this.#acceptedQops.includes("auth-conf") && challenge.qops.includes("auth-conf")) {
      throw new SaslError(
        "no-acceptable-cipher",
        `DIGEST-MD5: the server offers ciphers ${challenge.ciphers.join(",") || "(none)"}; ` +
          `the caller accepts ${this.#ciphers.map((c) => c.name).join(",")}`,
      );
    }
    if (!qop) {
      throw new SaslError(
        "no-acceptable-qop",
        `DIGEST-MD5: the server offers qop ${challenge.qops.join(",")}; ` +
          `the caller accepts ${this.#acceptedQops.join(",")}`,
      );
    }
    let cipher: DigestCipher | undefined;
    if (qop === "auth-conf") {
      cipher = this.#ciphers.find((c) => challenge.ciphers.includes(c.name))!.name;
    }
    const { realm, realmSent } = this.#chooseRealm(challenge.realms);
    const session: ReauthEntry = {
      nonce: challenge.nonce,
      nc: 1,
      realm,
      realmSent,
      utf8: challenge.utf8,
      qop,
      cipher,
      peerMaxbuf: challenge.maxbuf,
    };
    this.#state = "await-rspauth";
    return this.#respond(session);
  }

  #chooseRealm(offered: readonly string[]): { realm: string; realmSent: boolean } {
    const option = this.#options.realm;
    if (typeof option === "function") {
      const realm = option(offered);
      if (typeof realm !== "string") {
        throw new SaslError("invalid-argument", "the realm callback must return a string");
      }
      return { realm, realmSent: realm.length > 0 || offered.length > 0 };
    }
    if (typeof option === "string") {
      if (offered.length > 0 && !offered.includes(option)) {
        throw new SaslError(
          "invalid-argument",
          `DIGEST-MD5: realm "${option}" is not among those the server offers (${
            offered.join(", ")
          })`,
        );
      }
      return { realm: option, realmSent: true };
    }
    if (offered.length > 0) return { realm: offered[0], realmSent: true };
    return { realm: "", realmSent: false };
  }

  #respond(session: ReauthEntry): Uint8Array {
    const o = this.#options;
    // Made before H(A1): a caller's cnonce() must not run while the user secret is in the
    // shared buffer (it could start another exchange).
    const cnonce = o.cnonce ? o.cnonce() : randomBase64Url(16);
    if (!isNonceText(cnonce)) {
      throw new SaslError(
        "invalid-argument",
        "DIGEST-MD5: cnonce must be non-empty printable text",
      );
    }
    const nc = session.nc === 1 ? "00000001" : session.nc.toString(16).padStart(8, "0");
    // RFC 2831 §2.1.2: serv-name is left out when it is the host itself.
    const servName = o.serviceName && o.serviceName.toLowerCase() !== o.host.toLowerCase()
      ? `/${o.serviceName}`
      : "";
    const digestUri = `${o.service}/${o.host}${servName}`;
    const authzid = o.authorizationId || undefined;
    const ha1 = clientHashA1(
      o.username,
      session.realm,
      o.password,
      !session.utf8 ? "latin1" : o.credentialEncoding === "utf-8" ? "utf8" : "latin1-or-utf8",
      session.nonce,
      cnonce,
      authzid,
    );
    if (!ha1) {
      throw new SaslError(
        "invalid-argument",
        "DIGEST-MD5: the server did not offer charset=utf-8, and a username, realm or password " +
          "has characters outside ISO-8859-1",
      );
    }
    this.#ha1 = ha1;
    const response = digestValue(
      this.#ha1,
      "AUTHENTICATE",
      digestUri,
      session.nonce,
      nc,
      cnonce,
      session.qop,
    );
    this.#digestUri = digestUri;
    this.#nc = nc;
    this.#cnonce = cnonce;
    this.#session = session;
    // The response as pieces, written once into one array. cnonce and the digest-uri's parts
    // are nonce text (checked above and in the constructor): quoting them needs no escape.
    const p: string[] = [session.utf8 ? "charset=utf-8,username=" : "username="];
    pushQuoted(p, o.username);
    if (session.realmSent) {
      p.push(",realm=");
      pushQuoted(p, session.realm);
    }
    p.push(",nonce=");
    pushQuoted(p, session.nonce);
    p.push(",nc=", nc, ',cnonce="', cnonce, '",digest-uri="', o.service, "/", o.host);
    if (servName) p.push(servName);
    // maxbuf only matters to a security layer; leaving out the default keeps the response
    // byte-identical to other clients'.
    if (session.qop !== "auth" || this.#maxbuf !== 65536) p.push('",maxbuf=', `${this.#maxbuf}`);
    else p.push('"');
    p.push(",response=", response, ",qop=", session.qop);
    if (session.cipher) p.push(",cipher=", session.cipher);
    // With charset=utf-8 the response is UTF-8; otherwise ISO-8859-1, which the checks above
    // guarantee every value fits. authzid is UTF-8 either way (RFC 2831 §2.1.2.1).
    const tail = authzid ? `,authzid=${quote(authzid)}` : "";
    const message = encodeResponse(p, session.utf8, tail);
    if (message.length > MAX_RESPONSE_LENGTH) {
      throw new SaslError(
        "message-too-long",
        `DIGEST-MD5: the response would be ${message.length} bytes, over ${MAX_RESPONSE_LENGTH}`,
      );
    }
    return message;
  }

  #verifyRspauth(data: Uint8Array): void {
    // The final message is a server message like the challenge, and far shorter
    // (`rspauth=` and 32 hex digits): the challenge's limit bounds it before any parsing.
    if (data.length > MAX_CHALLENGE_LENGTH) {
      throw new SaslError(
        "message-too-long",
        `DIGEST-MD5: rspauth message of ${data.length} bytes exceeds ${MAX_CHALLENGE_LENGTH}`,
      );
    }
    let slots;
    try {
      slots = scanDirectives(decodeLatin1(data), "malformed-challenge", RSPAUTH_NAMES);
    } catch (error) {
      throw new SaslError(
        "server-verification-failed",
        "DIGEST-MD5: rspauth message is malformed",
        {
          cause: error,
        },
      );
    }
    if (slots.counts[0] !== 1) {
      throw new SaslError(
        "server-verification-failed",
        "DIGEST-MD5: the server's final message has no single rspauth",
      );
    }
    const expected = this.#expectedRspauth();
    if (!sameHexInTime(slots.values[0]!, expected)) {
      throw new SaslError(
        "server-verification-failed",
        "DIGEST-MD5: rspauth is wrong: the server does not know the password",
      );
    }
    this.#state = "verified";
  }

  #expectedRspauth(): string {
    const { nonce, qop } = this.#session!;
    return digestValue(this.#ha1, "", this.#digestUri, nonce, this.#nc, this.#cnonce, qop);
  }

  // A cached session is reused only if this caller would have agreed to it: the same
  // protection, cipher and realm rules, so a cache never smuggles in a layer nobody applies.
  #reusable(entry: ReauthEntry): boolean {
    const realm = this.#options.realm;
    return this.#acceptedQops.includes(entry.qop) &&
      (entry.cipher === undefined || this.#suite(entry.cipher) !== undefined) &&
      (typeof realm !== "string" || realm === entry.realm);
  }

  #suite(name: DigestCipher | undefined): DigestCipherSuite | undefined {
    return this.#ciphers.find((c) => c.name === name);
  }

  #cacheKey(): string {
    const o = this.#options;
    return JSON.stringify([
      o.service,
      o.host,
      o.serviceName ?? "",
      o.username,
      o.authorizationId ?? "",
    ]);
  }

  #expect(state: ClientState): void {
    if (this.#state !== state) {
      throw new SaslError("invalid-state", `DIGEST-MD5: not allowed now (${this.#state})`);
    }
  }

  // Any failure ends the exchange: a client that has seen a lying server must not go on.
  #guard<T>(step: () => T): T {
    if (this.#state === "failed") {
      throw new SaslError("invalid-state", "DIGEST-MD5: the exchange already failed");
    }
    try {
      return step();
    } catch (error) {
      if (!(error instanceof SaslError && error.code === "invalid-state")) this.#state = "failed";
      throw error;
    }
  }
}

function startsWithRspauth(data: Uint8Array): boolean {
  return /^\s*rspauth\s*=/i.test(decodeLatin1(data.subarray(0, 16)));
}

const RSPAUTH_NAMES = ["rspauth"];

// Whether `value`, read case-insensitively, is the lower-case hex `expected`, in time that
// depends only on the lengths.
function sameHexInTime(value: string, expected: string): boolean {
  if (value.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    // A-Z to a-z; every other character is left as it is and cannot equal a hex digit.
    const lower = code >= 0x41 && code <= 0x5a ? code | 0x20 : code;
    diff |= lower ^ expected.charCodeAt(i);
  }
  return diff === 0;
}

// A quoted-string as pieces: the value itself between quotes when it needs no escape.
function pushQuoted(pieces: string[], value: string): void {
  if (value.indexOf('"') < 0 && value.indexOf("\\") < 0) pieces.push('"', value, '"');
  else pieces.push(quote(value));
}

// The response's bytes in one array: the pieces as UTF-8 or ISO-8859-1, then `tail` (authzid)
// as UTF-8.
function encodeResponse(pieces: string[], asUtf8: boolean, tail: string): Uint8Array {
  const text = asciiPieces(pieces, tail);
  return text ?? encodeText(pieces.join(""), asUtf8, tail);
}

function encodeText(text: string, asUtf8: boolean, tail: string): Uint8Array {
  if (asUtf8) return utf8(text + tail);
  const out = new Uint8Array(text.length + 3 * tail.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  const end = utf8Into(tail, out, text.length);
  return end === out.length ? out : out.slice(0, end);
}
