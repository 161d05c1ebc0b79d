/**
 * The DIGEST-MD5 server (RFC 2831).
 *
 * @module
 */

import {
  asciiPieces,
  decodeLatin1,
  hasControlCharacter,
  isNonceText,
  latin1,
  randomBase64Url,
  randomBytes,
  utf8,
} from "../_bytes.ts";
import { SaslError } from "../error.ts";
import type {
  MechanismProperties,
  Qop,
  SaslOutcome,
  ServerMechanism,
  ServerStep,
} from "../mechanism.ts";
import { credentialBytes, digestValue, hashA1, userSecret, userSecretOf } from "./_compute.ts";
import {
  DEFAULT_MAXBUF,
  isPrintableAscii,
  MAX_CHALLENGE_LENGTH,
  MAX_RESPONSE_LENGTH,
  parseMaxbuf,
  reencodeValue,
  single,
} from "./_challenge.ts";
import { type DirectiveSlots, quote, scanDirectives } from "./_directives.ts";
import { DigestSecurityLayer } from "./_layer.ts";
import type { DigestCipherSuite } from "./ciphers.ts";
import { checkProtection, DIGEST_MD5_PROPERTIES } from "./_options.ts";

/**
 * How the server learns a user's secret: the password itself, or the stored
 * `H({ username ":" realm ":" password })` (16 bytes), so that no plaintext password needs to
 * be kept. `undefined` means no such user.
 */
export type DigestMd5Credentials = { readonly password: string } | { readonly secret: Uint8Array };

// Issued nonces and their last nonce-count live outside the class, so nothing is public API.
interface NonceRecord {
  lastNc: number;
  readonly issuedAt: number;
  username?: string;
}
const nonceRecords = new WeakMap<DigestMd5NonceStore, Map<string, NonceRecord>>();
const nonceLimits = new WeakMap<DigestMd5NonceStore, { maxEntries: number; lifetimeMs: number }>();

/**
 * Remembers the nonces a server issued and the highest nonce-count each one answered, so that
 * a client may re-authenticate with an incremented nonce-count (RFC 2831 §2.2) and a replayed
 * response is refused. Share one store between the {@linkcode DigestMd5Server} instances of one
 * service. Without a store, each server instance accepts exactly one response to its own nonce.
 * A subsequent authentication must carry a nonce-count above every one seen for that nonce
 * (RFC 2831 asks for exactly one more; a gap is accepted, a repeat never).
 *
 * @example
 * ```ts
 * import { DigestMd5NonceStore } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const store = new DigestMd5NonceStore({ lifetimeMs: 10 * 60_000 });
 * assert.equal(store.size, 0);
 * ```
 */
export class DigestMd5NonceStore {
  /**
   * Creates an empty store.
   *
   * @param options `maxEntries` (default 10000; the oldest nonce is dropped beyond it) and
   * `lifetimeMs` (default one hour; an older nonce gets a `stale=true` challenge).
   */
  constructor(options: { readonly maxEntries?: number; readonly lifetimeMs?: number } = {}) {
    const maxEntries = options.maxEntries ?? 10_000;
    const lifetimeMs = options.lifetimeMs ?? 3_600_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new SaslError("invalid-argument", "maxEntries must be a positive integer");
    }
    if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0) {
      throw new SaslError("invalid-argument", "lifetimeMs must be a positive number");
    }
    nonceRecords.set(this, new Map());
    nonceLimits.set(this, { maxEntries, lifetimeMs });
  }

  /** How many nonces are remembered. */
  get size(): number {
    return nonceRecords.get(this)!.size;
  }
}

function storeIssue(store: DigestMd5NonceStore, nonce: string): NonceRecord {
  const records = nonceRecords.get(store)!;
  if (records.has(nonce)) {
    // A repeated nonce would reset its nonce-count and let an old response be replayed.
    throw new SaslError("invalid-argument", "DIGEST-MD5: the nonce hook repeated a nonce");
  }
  const { maxEntries } = nonceLimits.get(store)!;
  while (records.size >= maxEntries && records.size > 0) {
    records.delete(records.keys().next().value!);
  }
  const record: NonceRecord = { lastNc: 0, issuedAt: Date.now() };
  records.set(nonce, record);
  return record;
}

function storeLookup(
  store: DigestMd5NonceStore,
  nonce: string,
): { record?: NonceRecord; expired: boolean } {
  const records = nonceRecords.get(store)!;
  const record = records.get(nonce);
  if (!record) return { expired: false };
  if (Date.now() - record.issuedAt > nonceLimits.get(store)!.lifetimeMs) {
    records.delete(nonce);
    return { expired: true };
  }
  return { record, expired: false };
}

// What surrounds the nonce in a challenge: realms and "nonce=", the offer, the limits.
type ChallengeParts = readonly [head: string, offer: string, limits: string];

let lastChallenge: {
  readonly realms: readonly string[];
  readonly qops: readonly unknown[];
  readonly ciphers: readonly unknown[];
  readonly maxbuf: number;
  readonly parts: ChallengeParts;
} | undefined;

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Options of {@linkcode DigestMd5Server}. */
export interface DigestMd5ServerOptions {
  /** The registered service name this server answers for: `smtp`, `imap`… */
  readonly service: string;
  /** The host name clients must name in `digest-uri`; a list for a server with several names. */
  readonly host: string | readonly string[];
  /** The `serv-name` clients may name in `digest-uri`; by default only a host name is allowed. */
  readonly serviceName?: string;
  /** The realms to offer, in order. Default: the first host name. An empty list offers none. */
  readonly realms?: readonly string[];
  /**
   * The protection levels to offer. Default `["auth"]`: offer a layer only if the code around
   * the server applies it to the connection.
   */
  readonly qop?: readonly Qop[];
  /**
   * The ciphers to offer with `auth-conf`, in order: constants imported from
   * `@saslkit/sasl/digest-md5/ciphers` (`allCiphers` offers every one). Required when `qop`
   * lists `auth-conf`.
   */
  readonly ciphers?: readonly DigestCipherSuite[];
  /** The largest security-layer buffer this side accepts. Default 65536. */
  readonly maxbuf?: number;
  /** Looks up a user's secret for a realm. */
  readonly credentials: (username: string, realm: string) => DigestMd5Credentials | undefined;
  /**
   * Decides whether `authenticationId` may act as `authorizationId`. Default: only as itself.
   */
  readonly authorize?: (authenticationId: string, authorizationId: string) => boolean;
  /** Makes the nonce; for tests. Default: 18 random bytes, base64url. */
  readonly nonce?: () => string;
  /** Enables subsequent authentication and cross-session replay checks. */
  readonly nonceStore?: DigestMd5NonceStore;
}

type ServerState = "initial" | "await-response" | "done" | "failed";

/**
 * The DIGEST-MD5 server: issues the challenge, checks the response in constant time, and
 * returns `rspauth` with success.
 *
 * @example Checking a client against a stored password
 * ```ts
 * import { DigestMd5Client, DigestMd5Server } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const server = new DigestMd5Server({
 *   service: "imap",
 *   host: "elwood.innosoft.com",
 *   credentials: (user) => user === "chris" ? { password: "secret" } : undefined,
 * });
 * const client = new DigestMd5Client({
 *   username: "chris", password: "secret", service: "imap", host: "elwood.innosoft.com",
 * });
 * client.start();
 * const final = server.next(client.next(server.next(undefined).challenge!));
 * assert.ok(final.done && final.challenge); // success, with rspauth as additional data
 * client.next(final.challenge);
 * client.finish();
 * assert.equal(server.outcome().authenticationId, "chris");
 * ```
 */
export class DigestMd5Server implements ServerMechanism {
  /** Always `DIGEST-MD5`. */
  readonly name = "DIGEST-MD5";
  /** DIGEST-MD5 never sends the password, verifies the server and can offer a layer. */
  readonly properties: MechanismProperties = DIGEST_MD5_PROPERTIES;
  readonly #options: DigestMd5ServerOptions;
  readonly #hosts: readonly string[];
  readonly #realms: readonly string[];
  readonly #qops: readonly Qop[];
  readonly #ciphers: readonly DigestCipherSuite[];
  readonly #maxbuf: number;
  #state: ServerState = "initial";
  #nonce = "";
  #outcome?: SaslOutcome;
  // What surrounds the nonce in the challenge depends only on the configuration: made on the
  // first call (the constructor's size check) and kept for the challenge itself.
  #challengeParts?: ChallengeParts;

  /**
   * Creates a server for one exchange; it checks the options but issues nothing yet.
   *
   * @param options What to offer, and how to find users' secrets.
   * @throws {SaslError} `invalid-argument` for an unknown qop, `auth-conf` without ciphers,
   * ciphers given as names, or a bad maxbuf.
   */
  constructor(options: DigestMd5ServerOptions) {
    this.#hosts = typeof options.host === "string" ? [options.host] : [...options.host];
    if (!options.service || this.#hosts.length === 0 || this.#hosts.some((h) => !h)) {
      throw new SaslError("invalid-argument", "service and host are required");
    }
    if (options.realms !== undefined && !Array.isArray(options.realms)) {
      throw new SaslError("invalid-argument", "realms must be a list of realm names");
    }
    this.#realms = options.realms ? [...options.realms] : [this.#hosts[0]];
    for (const host of this.#hosts) {
      if (!isNonceText(host) || host.includes("/")) {
        throw new SaslError("invalid-argument", "host names must be printable ASCII without '/'");
      }
    }
    if (this.#realms.some((realm) => hasControlCharacter(realm))) {
      throw new SaslError("invalid-argument", "a realm must not contain control characters");
    }
    const { qops, ciphers, maxbuf } = checkProtection(options.qop, options.ciphers, options.maxbuf);
    this.#qops = qops;
    this.#ciphers = ciphers;
    this.#maxbuf = maxbuf;
    this.#options = options;
    // RFC 2831 §2.1.1: a challenge is at most 2048 bytes; too many or too long realms break it.
    if (this.#challengeLength(24) > MAX_CHALLENGE_LENGTH) {
      throw new SaslError("invalid-argument", "the realms make the challenge exceed 2048 bytes");
    }
  }

  /**
   * With no initial response, returns the digest-challenge; with the client's
   * digest-response, checks it and returns `done` with `rspauth` as the additional data.
   *
   * @throws {SaslError} `malformed-response`, `authentication-failed`, `authorization-failed`,
   * `replay`, or `invalid-state`.
   */
  next(response: Uint8Array | undefined): ServerStep {
    if (this.#state === "failed") {
      throw new SaslError("invalid-state", "DIGEST-MD5: the exchange already failed");
    }
    try {
      if (response !== undefined && response.length > MAX_RESPONSE_LENGTH) {
        throw new SaslError(
          "message-too-long",
          `DIGEST-MD5: response of ${response.length} bytes exceeds ${MAX_RESPONSE_LENGTH}`,
        );
      }
      if (this.#state === "initial") {
        if (response !== undefined && response.length > 0 && this.#options.nonceStore) {
          return this.#trySubsequent(response);
        }
        // RFC 2831 §2.2.2: a server without subsequent authentication answers an initial
        // response with a fresh challenge.
        return this.#challenge(false);
      }
      if (this.#state === "await-response") {
        if (response === undefined) {
          throw new SaslError("malformed-response", "DIGEST-MD5: a response is required");
        }
        const step = this.#verify(response, false);
        return step;
      }
      throw new SaslError("invalid-state", "DIGEST-MD5: the exchange is already complete");
    } catch (error) {
      if (!(error instanceof SaslError && error.code === "invalid-state")) this.#state = "failed";
      throw error;
    }
  }

  /**
   * What the exchange established.
   *
   * @throws {SaslError} `invalid-state` before success.
   */
  outcome(): SaslOutcome {
    if (!this.#outcome) throw new SaslError("invalid-state", "DIGEST-MD5: not authenticated");
    return this.#outcome;
  }

  #challenge(stale: boolean): ServerStep {
    const nonce = this.#options.nonce ? this.#options.nonce() : randomBase64Url(18);
    if (!isNonceText(nonce)) {
      throw new SaslError("invalid-argument", "DIGEST-MD5: nonce must be non-empty printable text");
    }
    this.#nonce = nonce;
    if (this.#options.nonceStore) storeIssue(this.#options.nonceStore, nonce);
    this.#state = "await-response";
    return { challenge: this.#challengeText(nonce, stale), done: false };
  }

  #challengeText(nonce: string, stale: boolean): Uint8Array {
    const [head, offer, limits] = this.#challengeParts ??= this.#makeChallengeParts();
    // The nonce is nonce text: quoting it needs no escape.
    const stalePart = stale ? ",stale=true," : ",";
    return asciiPieces([head, '"', nonce, '",', offer, stalePart, limits]) ??
      utf8(`${head}${quote(nonce)},${offer}${stale ? ",stale=true" : ""},${limits}`);
  }

  // The challenge's length in bytes with a nonce of `nonceLength` characters (nonce text).
  #challengeLength(nonceLength: number): number {
    const [head, offer, limits] = this.#challengeParts ??= this.#makeChallengeParts();
    return utf8Length(head) + nonceLength + 2 + 1 + offer.length + 1 + limits.length;
  }

  #makeChallengeParts(): ChallengeParts {
    // A service makes one server per exchange, all alike: the last configuration's parts are
    // reused when realms, qops, ciphers and maxbuf are the same.
    const last = lastChallenge;
    if (
      last !== undefined && last.maxbuf === this.#maxbuf && sameList(last.realms, this.#realms) &&
      sameList(last.qops, this.#qops) && sameList(last.ciphers, this.#ciphers)
    ) {
      return last.parts;
    }
    const parts = this.#realms.map((realm) => `realm=${quote(realm)}`);
    parts.push("nonce=");
    const offer = [`qop=${quote(this.#qops.join(","))}`];
    if (this.#qops.includes("auth-conf")) {
      offer.push(`cipher=${quote(this.#ciphers.map((c) => c.name).join(","))}`);
    }
    const limits = `maxbuf=${this.#maxbuf},charset=utf-8,algorithm=md5-sess`;
    const made: ChallengeParts = [parts.join(","), offer.join(","), limits];
    // Copies: the caller may change its arrays later.
    lastChallenge = {
      realms: this.#realms.slice(),
      qops: this.#qops.slice(),
      ciphers: this.#ciphers.slice(),
      maxbuf: this.#maxbuf,
      parts: made,
    };
    return made;
  }

  // A subsequent authentication (RFC 2831 §2.2.2): an initial response naming a nonce from the
  // store. Anything that does not verify gets a fresh challenge, with stale=true when the
  // nonce was known but has expired.
  #trySubsequent(response: Uint8Array): ServerStep {
    let nonce: string;
    try {
      const slots = scanDirectives(decodeLatin1(response), "malformed-response", RESPONSE_NAMES);
      nonce = single(slots, NONCE, "nonce", true, "malformed-response")!;
    } catch {
      return this.#challenge(false);
    }
    const { record, expired } = storeLookup(this.#options.nonceStore!, nonce);
    if (!record) return this.#challenge(expired);
    this.#nonce = nonce;
    try {
      return this.#verify(response, true);
    } catch (error) {
      if (!(error instanceof SaslError)) throw error;
      return this.#challenge(false);
    }
  }

  // next() has already refused a response over MAX_RESPONSE_LENGTH.
  #verify(bytes: Uint8Array, subsequent: boolean): ServerStep {
    const code = "malformed-response";
    if (bytes.length === 0) throw new SaslError(code, "DIGEST-MD5: the response is empty");
    // One pass; then the checks in a fixed order, each on its own slot.
    const slots = scanDirectives(decodeLatin1(bytes), code, RESPONSE_NAMES);
    const charset = single(slots, CHARSET, "charset", false, code);
    if (charset !== undefined && charset.toLowerCase() !== "utf-8") {
      throw new SaslError(code, `DIGEST-MD5: unknown charset "${charset}"`);
    }
    const utf8Charset = charset !== undefined;
    const username = readText(slots, USERNAME, "username", true, utf8Charset)!;
    if (!username) throw new SaslError(code, "DIGEST-MD5: username is empty");
    const realm = readText(slots, REALM, "realm", false, utf8Charset) ?? "";
    const nonce = readText(slots, NONCE, "nonce", true, utf8Charset)!;
    const cnonce = readText(slots, CNONCE, "cnonce", true, utf8Charset)!;
    if (!cnonce) throw new SaslError(code, "DIGEST-MD5: cnonce is empty");
    const ncText = readText(slots, NC, "nc", true, utf8Charset)!;
    if (!isHex(ncText, 8)) {
      throw new SaslError(code, "DIGEST-MD5: nc is not 8 hexadecimal digits");
    }
    const nc = parseInt(ncText, 16);
    const qop = (readText(slots, QOP, "qop", false, utf8Charset) ?? "auth").toLowerCase();
    const digestUri = readText(slots, DIGEST_URI, "digest-uri", true, utf8Charset)!;
    const responseValue = readText(slots, RESPONSE, "response", true, utf8Charset)!;
    if (!isHex(responseValue, 32)) {
      throw new SaslError(code, "DIGEST-MD5: response is not 32 hexadecimal digits");
    }
    const maxbufText = readText(slots, MAXBUF, "maxbuf", false, utf8Charset);
    const peerMaxbuf = maxbufText === undefined ? DEFAULT_MAXBUF : parseMaxbuf(maxbufText, code);
    const cipherText = readText(slots, CIPHER, "cipher", false, utf8Charset)?.toLowerCase();
    // authzid is UTF-8 whatever the charset (RFC 2831 §2.1.2.1).
    const authzid = readText(slots, AUTHZID, "authzid", false, true) || undefined;

    // Names go to the caller's lookup and into messages: no control characters.
    if (hasControlCharacter(username)) {
      throw new SaslError(code, "DIGEST-MD5: username contains a control character");
    }
    if (hasControlCharacter(realm)) {
      throw new SaslError(code, "DIGEST-MD5: realm contains a control character");
    }
    if (authzid !== undefined && hasControlCharacter(authzid)) {
      throw new SaslError(code, "DIGEST-MD5: authzid contains a control character");
    }
    if (!isPrintableAscii(cnonce) || !isPrintableAscii(digestUri)) {
      throw new SaslError(code, "DIGEST-MD5: cnonce and digest-uri must be printable ASCII");
    }
    if (!(this.#qops as readonly string[]).includes(qop)) {
      throw new SaslError("no-acceptable-qop", `DIGEST-MD5: qop "${qop}" was not offered`);
    }
    let cipher: DigestCipherSuite | undefined;
    if (qop === "auth-conf") {
      if (!cipherText) throw new SaslError(code, "DIGEST-MD5: auth-conf without a cipher");
      cipher = this.#ciphers.find((c) => c.name === cipherText);
      if (!cipher) {
        throw new SaslError(
          "no-acceptable-cipher",
          `DIGEST-MD5: cipher "${cipherText}" was not offered`,
        );
      }
    }
    if (qop !== "auth" && peerMaxbuf - 4 - 16 - (qop === "auth-conf" ? 9 : 0) < 1) {
      throw new SaslError(code, `DIGEST-MD5: maxbuf ${peerMaxbuf} leaves no room for a layer`);
    }
    if (this.#realms.length > 0 && !this.#realms.includes(realm)) {
      throw new SaslError("authentication-failed", "DIGEST-MD5: the realm was not offered");
    }
    this.#checkDigestUri(digestUri);
    if (nonce !== this.#nonce) {
      throw new SaslError("authentication-failed", "DIGEST-MD5: the nonce is not the one issued");
    }
    const store = this.#options.nonceStore;
    let record = store ? storeLookup(store, nonce).record : undefined;
    if (subsequent) {
      // RFC 2831 §2.2.2 expects the count to go up by one; any larger value is accepted, since
      // a client may have lost a reply, and what replay protection needs is "never again".
      if (!record || nc <= record.lastNc || record.username !== username) {
        throw new SaslError("replay", "DIGEST-MD5: nonce-count did not increase");
      }
    } else if (nc !== 1) {
      throw new SaslError("replay", `DIGEST-MD5: the first nonce-count must be 00000001`);
    } else if (record && record.lastNc !== 0) {
      throw new SaslError("replay", "DIGEST-MD5: the nonce was already used");
    }

    const credentials = this.#options.credentials(username, realm);
    // An unknown user costs the same hashing as a known one, so timing does not tell them apart.
    const secrets = credentials
      ? candidateSecrets(credentials, username, realm)
      : [userSecret(utf8(username), utf8(realm), randomBytes(16))];
    let ha1: Uint8Array | undefined;
    const expected = responseValue.toLowerCase();
    for (const secret of secrets) {
      const candidate = hashA1(secret, nonce, cnonce, authzid);
      const value = digestValue(candidate, "AUTHENTICATE", digestUri, nonce, ncText, cnonce, qop);
      // Every candidate is compared, so the time taken does not tell which one matched.
      if (timingSafeEqualText(value, expected) && !ha1) ha1 = candidate;
    }
    if (!ha1) {
      throw new SaslError("authentication-failed", "DIGEST-MD5: wrong username or password");
    }
    if (authzid !== undefined && authzid !== username) {
      const allowed = this.#options.authorize?.(username, authzid) ?? false;
      if (!allowed) {
        throw new SaslError(
          "authorization-failed",
          `DIGEST-MD5: "${username}" may not act as "${authzid}"`,
        );
      }
    }
    if (store) {
      // A first authentication whose record was evicted meanwhile gets it back, so that the
      // nonce can serve subsequent authentication and is never answered again with nc=1.
      record ??= storeLookup(store, nonce).record ?? storeIssue(store, nonce);
      record.lastNc = nc;
      record.username = username;
    }
    const securityLayer = qop === "auth" ? undefined : new DigestSecurityLayer({
      ha1,
      side: "server",
      qop: qop as "auth-int" | "auth-conf",
      cipher,
      ownMaxbuf: this.#maxbuf,
      peerMaxbuf,
    });
    this.#outcome = {
      mechanism: this.name,
      authenticationId: username,
      authorizationId: authzid,
      qop: qop as Qop,
      cipher: cipher?.name,
      securityLayer,
    };
    this.#state = "done";
    const rspauth = digestValue(ha1, "", digestUri, nonce, ncText, cnonce, qop);
    return { challenge: utf8(`rspauth=${rspauth}`), done: true };
  }

  #checkDigestUri(digestUri: string): void {
    const parts = digestUri.split("/");
    const fail = (why: string): never => {
      throw new SaslError("authentication-failed", `DIGEST-MD5: digest-uri ${why}`);
    };
    if (parts.length < 2 || parts.length > 3) fail("is not serv-type/host[/serv-name]");
    const [service, host, serviceName] = parts;
    if (service.toLowerCase() !== this.#options.service.toLowerCase()) {
      fail("names another service");
    }
    const lowerHost = host.toLowerCase();
    if (!this.#hosts.some((h) => h.toLowerCase() === lowerHost)) fail("names another host");
    if (serviceName !== undefined) {
      const allowed = [this.#options.serviceName, ...this.#hosts]
        .filter((n): n is string => !!n)
        .map((n) => n.toLowerCase());
      if (!allowed.includes(serviceName.toLowerCase())) fail("names another serv-name");
    }
  }
}

// The secrets to try. A stored secret is used as given. From a password, the per-string
// ISO-8859-1 rule of Cyrus SASL and the JDK comes first; then the RFC's literal reading (all
// three strings narrowed only when all fit) and plain UTF-8, as other clients compute them.
function candidateSecrets(
  credentials: DigestMd5Credentials,
  username: string,
  realm: string,
): Uint8Array[] {
  if ("secret" in credentials) {
    if (credentials.secret.length !== 16) {
      throw new SaslError("invalid-argument", "a stored DIGEST-MD5 secret is 16 bytes");
    }
    return [credentials.secret];
  }
  const { password } = credentials;
  // ASCII credentials are the same bytes under every reading: one secret, one hash.
  if (isAscii(username) && isAscii(realm) && isAscii(password)) {
    return [userSecretOf(username, realm, password, "utf8")!];
  }
  const perString = [username, realm, password].map((s) => credentialBytes(s, true)!);
  const narrow = [username, realm, password].map((s) => latin1(s));
  const allNarrow = narrow.every((b) => b !== undefined)
    ? narrow as Uint8Array[]
    : [username, realm, password].map((s) => utf8(s));
  const allUtf8 = [username, realm, password].map((s) => utf8(s));
  const out: Uint8Array[] = [];
  const seen: Uint8Array[][] = [];
  // Readings that give the same bytes are hashed once.
  for (const triple of [perString, allNarrow, allUtf8]) {
    if (seen.some((t) => t.every((bytes, i) => sameBytes(bytes, triple[i])))) continue;
    seen.push(triple);
    out.push(userSecret(triple[0], triple[1], triple[2]));
  }
  return out;
}

// The names a response's checks read, by their index in the scan's slots.
const RESPONSE_NAMES = [
  "charset",
  "username",
  "realm",
  "nonce",
  "cnonce",
  "nc",
  "qop",
  "digest-uri",
  "response",
  "maxbuf",
  "cipher",
  "authzid",
];
const CHARSET = 0;
const USERNAME = 1;
const REALM = 2;
const NONCE = 3;
const CNONCE = 4;
const NC = 5;
const QOP = 6;
const DIGEST_URI = 7;
const RESPONSE = 8;
const MAXBUF = 9;
const CIPHER = 10;
const AUTHZID = 11;

// A response value at most once (and exactly once when required), as text. Without
// charset=utf-8 the RFC says ISO-8859-1, but Cyrus SASL's client sends raw UTF-8 and never says
// so. Bytes that are valid UTF-8 are read as UTF-8, as Cyrus's server does; anything else is
// ISO-8859-1. With `asUtf8` the value must be UTF-8.
function readText(
  slots: DirectiveSlots,
  index: number,
  name: string,
  required: boolean,
  asUtf8: boolean,
): string | undefined {
  const value = single(slots, index, name, required, "malformed-response");
  // ASCII reads the same under both charsets.
  if (value === undefined || slots.ascii) return value;
  if (asUtf8) return reencodeValue(value, true, "malformed-response");
  try {
    return reencodeValue(value, true, "malformed-response");
  } catch {
    return value;
  }
}

// The number of UTF-8 bytes of text.
function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 4;
        i++;
      } else length += 3;
    } else length += 3;
  }
  return length;
}

// Whether text is exactly `length` hexadecimal digits, either case.
function isHex(text: string, length: number): boolean {
  if (text.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    const letter = c | 0x20; // A-F to a-f
    if (!((c >= 0x30 && c <= 0x39) || (letter >= 0x61 && letter <= 0x66))) return false;
  }
  return true;
}

// Compares two strings of equal length in time that depends only on the length.
function timingSafeEqualText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
