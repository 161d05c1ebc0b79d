/**
 * The SCRAM client (RFC 5802, RFC 7677): SCRAM-SHA-1, SCRAM-SHA-256 and SCRAM-SHA-512, each
 * with or without channel binding (-PLUS).
 *
 * @module
 */

import { concat, timingSafeEqual, utf8 } from "../_bytes.ts";
import { hmacSha, sha, SHA_LENGTH, type ShaName } from "../_sha.ts";
import { encodeBase64 } from "../base64.ts";
import { SaslError, type SaslErrorCode } from "../error.ts";
import type { ClientMechanism, MechanismProperties, SaslOutcome } from "../mechanism.ts";
import type { ScramCache, ScramCachedKeys } from "../registry.ts";
import { saslprepSync } from "../saslprep.ts";
import {
  checkChannelBinding,
  checkHash,
  DEFAULT_MAX_ITERATIONS,
  DEFAULT_MIN_ITERATIONS,
  makeNonce,
  type ScramChannelBinding,
  type ScramHash,
  scramName,
  scramProperties,
  ScramServerError,
} from "./_common.ts";
import { cacheKey, keysFromSaltedPassword, saltedPassword, wipe, xor } from "./_keys.ts";
import {
  type Attribute,
  base64Attribute,
  checkExtensions,
  escapeSaslname,
  expect,
  isPrintable,
  malformed,
  parseAttributes,
  parsePositNumber,
  SERVER_ERRORS,
  showPeerText,
} from "./_messages.ts";

export type { ScramCache, ScramCachedKeys };

/**
 * A bounded in-memory {@linkcode ScramCache}: the least recently used entry goes first.
 *
 * @example Reusing the derived keys across exchanges
 * ```ts
 * import { InMemoryScramCache, ScramClient } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * const cache = new InMemoryScramCache({ maxEntries: 16 });
 * const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil", cache });
 * assert.equal(cache.size, 0); // filled after the first server-first message
 * ```
 */
export class InMemoryScramCache implements ScramCache {
  readonly #entries = new Map<string, ScramCachedKeys>();
  readonly #maxEntries: number;

  /**
   * Creates an empty cache.
   *
   * @param options `maxEntries`, default 64.
   * @throws {SaslError} `invalid-argument` when `maxEntries` is not a positive integer.
   */
  constructor(options: { readonly maxEntries?: number } = {}) {
    const max = options.maxEntries ?? 64;
    if (!Number.isInteger(max) || max < 1) {
      throw new SaslError("invalid-argument", "maxEntries must be a positive integer");
    }
    this.#maxEntries = max;
  }

  /** How many entries the cache holds. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Looks up keys and marks them recently used.
   *
   * @param key The opaque key.
   * @returns Copies of the keys, or `undefined`.
   */
  get(key: string): ScramCachedKeys | undefined {
    const keys = this.#entries.get(key);
    if (keys === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, keys);
    return { clientKey: keys.clientKey.slice(), serverKey: keys.serverKey.slice() };
  }

  /**
   * Stores copies of keys, dropping (and wiping) the least recently used entry when full.
   *
   * @param key The opaque key.
   * @param keys ClientKey and ServerKey.
   */
  set(key: string, keys: ScramCachedKeys): void {
    const old = this.#entries.get(key);
    if (old !== undefined) {
      this.#entries.delete(key);
      wipe(old.clientKey, old.serverKey);
    }
    this.#entries.set(key, {
      clientKey: keys.clientKey.slice(),
      serverKey: keys.serverKey.slice(),
    });
    while (this.#entries.size > this.#maxEntries) {
      const [oldest, value] = this.#entries.entries().next().value!;
      this.#entries.delete(oldest);
      wipe(value.clientKey, value.serverKey);
    }
  }

  /** Wipes and drops every entry. */
  clear(): void {
    for (const keys of this.#entries.values()) wipe(keys.clientKey, keys.serverKey);
    this.#entries.clear();
  }
}

/** Options of a {@linkcode ScramClient}. */
export interface ScramClientOptions {
  /** The hash: `SHA-1`, `SHA-256` or `SHA-512`. */
  readonly hash: ScramHash;
  /** The username (authentication identity); SASLprep'd and escaped before it is sent. */
  readonly username: string;
  /** The password; SASLprep'd, never sent. */
  readonly password: string;
  /** The identity to act as, sent as `a=` in the GS2 header; omit to act as oneself. */
  readonly authorizationId?: string;
  /**
   * Channel-binding data of the TLS connection. With `serverOffersPlus: true` the client is
   * the -PLUS variant and binds (`p=<type>`); without it the client tells the server it could
   * have bound (`y`), so that a server offering -PLUS detects a stripped mechanism list.
   */
  readonly channelBinding?: ScramChannelBinding;
  /**
   * Whether the server advertised the -PLUS variant of this mechanism. Together with
   * `channelBinding` it makes this client `SCRAM-…-PLUS`. Default `false`.
   */
  readonly serverOffersPlus?: boolean;
  /** Lowest iteration count accepted from the server; default 4096 (RFC 7677 §4). */
  readonly minIterations?: number;
  /** Highest iteration count accepted from the server; default 65536. */
  readonly maxIterations?: number;
  /** Where derived keys are kept between exchanges; default none. */
  readonly cache?: ScramCache;
  /** The client nonce, for tests only: printable ASCII without a comma. Default random. */
  readonly nonce?: string;
}

type ClientState =
  | "initial"
  | "awaiting-server-first"
  | "computing"
  | "awaiting-server-final"
  | "verified"
  | "finished"
  | "failed";

/**
 * The client side of SCRAM (RFC 5802, RFC 7677).
 *
 * {@linkcode ScramClient.next} returns a Promise: the key derivation is PBKDF2, and the only
 * native PBKDF2 in browsers is WebCrypto's, which is asynchronous (saslkit hashes with
 * `node:crypto` in Node and Bun, WebCrypto PBKDF2 and @noble/hashes in Deno, WebCrypto alone in
 * browsers, @noble/hashes where there is no WebCrypto).
 *
 * The username and password are prepared with SASLprep in the constructor, so a string it
 * rejects fails before anything is sent. Printable ASCII needs nothing for that; any other
 * string needs SASLprep's library (`@mongodb-js/saslprep`), which loads asynchronously: the
 * registry descriptors (`scramSha256Mechanism.createClient`…) load it themselves, and code
 * that calls this constructor directly with such strings awaits `loadSaslprep()` first
 * (without it the constructor throws `saslprep-unavailable`; see the second example). The
 * server must prove it knows the password: {@linkcode ScramClient.finish} throws until its
 * signature (`v=`) has been checked, in
 * constant time. The server nonce must extend the client's; the salt must be non-empty
 * base64; the iteration count must lie in `minIterations`…`maxIterations` (checked before any
 * PBKDF2 runs). Unknown mandatory extensions, attributes out of order, missing or repeated
 * fail with `malformed-challenge`; a server `e=` with `authentication-failed`,
 * `channel-binding-mismatch`, `channel-binding-downgrade` or `server-rejected`, as a
 * {@linkcode ScramServerError} that carries the value.
 *
 * @example The exchange of RFC 7677 §3 (SCRAM-SHA-256)
 * ```ts
 * import { ScramClient } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * const te = new TextEncoder();
 * const td = new TextDecoder();
 * const client = new ScramClient({
 *   hash: "SHA-256",
 *   username: "user",
 *   password: "pencil",
 *   nonce: "rOprNGfwEbeRWgbNEkqO", // tests only; the default is random
 * });
 * assert.equal(td.decode(client.start()), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
 * const final = await client.next(te.encode(
 *   "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
 * ));
 * assert.equal(
 *   td.decode(final),
 *   "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
 *     "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
 * );
 * const outcome = client.finish(te.encode("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
 * assert.equal(outcome.mechanism, "SCRAM-SHA-256");
 * ```
 *
 * @example Credentials that are not printable ASCII: load SASLprep's library first
 * ```ts
 * import { loadSaslprep, ScramClient } from "@saslkit/sasl/scram";
 * import assert from "node:assert/strict";
 *
 * await loadSaslprep(); // once per process; the constructor is synchronous
 * const client = new ScramClient({ hash: "SHA-256", username: "\u00AAlice", password: "p\u00E4ss" });
 * assert.match(new TextDecoder().decode(client.start()), /^n,,n=alice,r=/); // U+00AA is "a"
 * ```
 */
export class ScramClient implements ClientMechanism {
  /** The registered mechanism name, such as `SCRAM-SHA-256` or `SCRAM-SHA-256-PLUS`. */
  readonly name: string;
  /** SCRAM verifies the server and hides the password; -PLUS also binds the channel. */
  readonly properties: MechanismProperties;
  #state: ClientState = "initial";
  readonly #hash: ShaName;
  readonly #username: string;
  readonly #authorizationId: string | undefined;
  #password: Uint8Array;
  readonly #gs2Header: string;
  #cbindData: Uint8Array;
  readonly #clientNonce: string;
  readonly #clientFirstBare: string;
  readonly #minIterations: number;
  readonly #maxIterations: number;
  readonly #cache: ScramCache | undefined;
  #expectedServerSignature: Uint8Array | undefined;
  #serverFinal: Uint8Array | undefined;
  #serverError: ScramServerError | undefined;
  // The server's iteration count, reported in the outcome (a probe shows it).
  #iterations: number | undefined;

  /**
   * Prepares the credentials and the first message.
   *
   * @param options The hash, the credentials, and optionally channel binding, the accepted
   * iteration range and a cache.
   * @throws {SaslError} `invalid-argument` for an unknown hash, an empty username or
   * password, one that SASLprep rejects (the message never quotes it), bad channel-binding
   * data, or an iteration range that is not `1 <= min <= max`; `saslprep-unavailable` for a
   * string that is not printable ASCII before `loadSaslprep()` has loaded SASLprep's library.
   */
  constructor(options: ScramClientOptions) {
    this.#hash = checkHash(options.hash);
    const binding = options.channelBinding;
    if (binding !== undefined) checkChannelBinding(binding);
    const plus = binding !== undefined && options.serverOffersPlus === true;
    this.name = scramName(options.hash, plus);
    this.properties = scramProperties(plus);

    const username = prepared(options.username, "username");
    const password = prepared(options.password, "password");
    const authzid = options.authorizationId;
    if (authzid !== undefined && authzid !== "") {
      this.#authorizationId = prepared(authzid, "authorization id");
    }
    const min = options.minIterations ?? DEFAULT_MIN_ITERATIONS;
    const max = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 1 || max < min) {
      throw new SaslError(
        "invalid-argument",
        "SCRAM minIterations and maxIterations must be integers with 1 <= min <= max",
      );
    }
    this.#minIterations = min;
    this.#maxIterations = max;
    this.#cache = options.cache;
    this.#clientNonce = makeNonce(options.nonce, "client");

    const flag = plus ? `p=${binding.type}` : binding !== undefined ? "y" : "n";
    const authzPart = this.#authorizationId === undefined
      ? ""
      : `a=${escapeSaslname(this.#authorizationId)}`;
    this.#gs2Header = `${flag},${authzPart},`;
    this.#cbindData = plus ? binding.data.slice() : new Uint8Array(0);
    this.#username = username;
    this.#password = utf8(password);
    this.#clientFirstBare = `n=${escapeSaslname(username)},r=${this.#clientNonce}`;
  }

  /**
   * Begins the exchange with the client-first message (SCRAM is client-first).
   *
   * @returns `gs2-header client-first-message-bare`, such as `n,,n=user,r=…`.
   * @throws {SaslError} `invalid-state` when called twice.
   */
  start(): Uint8Array {
    if (this.#state !== "initial") {
      throw new SaslError("invalid-state", "start() may be called only once");
    }
    this.#state = "awaiting-server-first";
    return utf8(this.#gs2Header + this.#clientFirstBare);
  }

  /**
   * Answers the server-first message with the client-final message (after PBKDF2), or checks
   * the server-final message when the protocol sends it as a challenge (then answers with an
   * empty response). Returns a Promise because WebCrypto, the only native PBKDF2 in
   * browsers, is asynchronous.
   *
   * @param challenge The server-first or server-final message.
   * @returns The client-final message, or an empty response after the server-final one.
   * @throws {SaslError} `malformed-challenge`, `message-too-long`,
   * `iteration-count-rejected`, `server-verification-failed`, the mapped code of a server
   * `e=` (as {@linkcode ScramServerError}), or `invalid-state` out of order (including a call
   * while the previous one is still running).
   */
  async next(challenge: Uint8Array): Promise<Uint8Array> {
    if (this.#state === "awaiting-server-first") {
      this.#state = "computing";
      try {
        const final = await this.#clientFinal(challenge);
        this.#state = "awaiting-server-final";
        return final;
      } catch (error) {
        throw this.#failed(error);
      }
    }
    if (this.#state === "awaiting-server-final") {
      try {
        this.#verify(challenge);
      } catch (error) {
        throw this.#failed(error);
      }
      this.#state = "verified";
      return new Uint8Array(0);
    }
    throw new SaslError(
      "invalid-state",
      this.#state === "initial"
        ? "next() called before start()"
        : this.#state === "computing"
        ? "next() called while the previous challenge is still being answered"
        : "the SCRAM exchange expects no further challenge",
    );
  }

  /**
   * Accepts the server's success report. Its additional data, when the protocol carries the
   * server-final message there, is verified here; without it the server-final message must
   * have come through {@linkcode ScramClient.next}.
   *
   * @param additionalData The server-final message, when success carries it.
   * @returns The outcome: qop `auth`, the username, and the authorization id if one was sent.
   * @throws {SaslError} `server-not-verified` when the server has not sent its signature,
   * `server-verification-failed` when it is wrong, a mapped `e=` code, `malformed-challenge`,
   * or `invalid-state` out of order.
   */
  finish(additionalData?: Uint8Array): SaslOutcome {
    const data = additionalData !== undefined && additionalData.length > 0
      ? additionalData
      : undefined;
    if (this.#state === "awaiting-server-final") {
      if (data === undefined) {
        throw this.#failed(
          new SaslError("server-not-verified", "success reported before the server signature"),
        );
      }
      try {
        this.#verify(data);
      } catch (error) {
        throw this.#failed(error);
      }
    } else if (this.#state === "verified") {
      if (data !== undefined && !timingSafeEqual(data, this.#serverFinal!)) {
        throw this.#failed(
          malformed("malformed-challenge", "success data differs from the verified server-final"),
        );
      }
    } else if (this.#state === "awaiting-server-first" || this.#state === "computing") {
      // Success before the proof was even sent: the server skipped authentication.
      throw this.#failed(
        new SaslError("server-not-verified", "success reported before the exchange completed"),
      );
    } else {
      throw new SaslError(
        "invalid-state",
        this.#state === "initial" ? "finish() called before start()" : "the exchange is over",
      );
    }
    this.#state = "finished";
    this.#wipe();
    const iterations = this.#iterations!;
    return this.#authorizationId === undefined
      ? { mechanism: this.name, authenticationId: this.#username, qop: "auth", iterations }
      : {
        mechanism: this.name,
        authenticationId: this.#username,
        authorizationId: this.#authorizationId,
        qop: "auth",
        iterations,
      };
  }

  async #clientFinal(challenge: Uint8Array): Promise<Uint8Array> {
    const what = "server-first message";
    const attributes = parseAttributes(challenge, "malformed-challenge", what);
    rejectServerError(attributes);
    if (attributes[0].name === "m") {
      throw malformed("malformed-challenge", "SCRAM server requires an unsupported extension");
    }
    const nonce = expect(attributes, 0, "r", "malformed-challenge", what);
    const saltText = expect(attributes, 1, "s", "malformed-challenge", what);
    const iterationText = expect(attributes, 2, "i", "malformed-challenge", what);
    checkExtensions(attributes, 3, "rsi", "malformed-challenge", what);
    if (!isPrintable(nonce)) {
      throw malformed("malformed-challenge", "SCRAM server nonce is not printable ASCII");
    }
    if (!nonce.startsWith(this.#clientNonce) || nonce.length === this.#clientNonce.length) {
      throw malformed(
        "malformed-challenge",
        "SCRAM server nonce does not extend the client nonce",
      );
    }
    const salt = base64Attribute(saltText, "s", "malformed-challenge", what);
    if (salt.length === 0) throw malformed("malformed-challenge", "SCRAM salt is empty");
    const iterations = parsePositNumber(iterationText);
    this.#iterations = iterations;
    if (iterations === undefined) {
      throw malformed("malformed-challenge", "SCRAM iteration count is not a positive number");
    }
    if (iterations < this.#minIterations || iterations > this.#maxIterations) {
      throw new SaslError(
        "iteration-count-rejected",
        `SCRAM iteration count ${
          Number.isFinite(iterations) ? iterations : iterationText.slice(0, 20) + "…"
        } is outside the accepted ${this.#minIterations}..${this.#maxIterations}`,
      );
    }

    const { clientKey, serverKey, storedKey } = await this.#keys(salt, iterations);
    // The password is not needed again: only the expected server signature is kept.
    wipe(this.#password);
    this.#password = new Uint8Array(0);
    const channelBinding = encodeBase64(concat(utf8(this.#gs2Header), this.#cbindData));
    const withoutProof = `c=${channelBinding},r=${nonce}`;
    const authMessage = concat(
      utf8(`${this.#clientFirstBare},`),
      challenge,
      utf8(`,${withoutProof}`),
    );
    const clientSignature = await hmacSha(this.#hash, storedKey, authMessage);
    const proof = xor(clientKey, clientSignature);
    this.#expectedServerSignature = await hmacSha(this.#hash, serverKey, authMessage);
    const final = utf8(`${withoutProof},p=${encodeBase64(proof)}`);
    wipe(clientKey, serverKey, storedKey, clientSignature, proof);
    return final;
  }

  async #keys(
    salt: Uint8Array,
    iterations: number,
  ): Promise<{ clientKey: Uint8Array; serverKey: Uint8Array; storedKey: Uint8Array }> {
    const cache = this.#cache;
    const length = SHA_LENGTH[this.#hash];
    let key: string | undefined;
    if (cache !== undefined) {
      key = await cacheKey(this.#hash, this.#password, salt, iterations);
      let hit: ScramCachedKeys | undefined;
      try {
        hit = await cache.get(key);
      } catch {
        hit = undefined;
      }
      if (
        hit?.clientKey instanceof Uint8Array && hit.clientKey.length === length &&
        hit.serverKey instanceof Uint8Array && hit.serverKey.length === length
      ) {
        const clientKey = hit.clientKey.slice();
        const storedKey = await sha(this.#hash, clientKey);
        return { clientKey, serverKey: hit.serverKey.slice(), storedKey };
      }
    }
    const salted = await saltedPassword(this.#hash, this.#password, salt, iterations);
    const keys = await keysFromSaltedPassword(this.#hash, salted);
    wipe(salted);
    if (cache !== undefined && key !== undefined) {
      await cache.set(key, {
        clientKey: keys.clientKey.slice(),
        serverKey: keys.serverKey.slice(),
      });
    }
    return keys;
  }

  #verify(message: Uint8Array): void {
    const what = "server-final message";
    const attributes = parseAttributes(message, "malformed-challenge", what);
    rejectServerError(attributes);
    const signatureText = expect(attributes, 0, "v", "malformed-challenge", what);
    checkExtensions(attributes, 1, "ve", "malformed-challenge", what);
    const signature = base64Attribute(signatureText, "v", "malformed-challenge", what);
    if (!timingSafeEqual(signature, this.#expectedServerSignature!)) {
      throw new SaslError(
        "server-verification-failed",
        "the SCRAM server signature is wrong: the server does not know the password",
      );
    }
    this.#serverFinal = message.slice();
  }

  /**
   * The error the server reported with `e=` (RFC 5802 §7), once {@linkcode ScramClient.next}
   * or {@linkcode ScramClient.finish} has thrown it; `undefined` otherwise. Its `serverError`
   * is the value, such as `invalid-proof`.
   */
  get serverError(): ScramServerError | undefined {
    return this.#serverError;
  }

  #failed(error: unknown): unknown {
    if (error instanceof ScramServerError) this.#serverError = error;
    this.#state = "failed";
    this.#wipe();
    return error;
  }

  #wipe(): void {
    wipe(this.#password, this.#cbindData, this.#expectedServerSignature);
    this.#password = new Uint8Array(0);
    this.#cbindData = new Uint8Array(0);
    this.#expectedServerSignature = undefined;
  }
}

function prepared(value: string, what: string): string {
  const result = saslprepSync(value, { allowUnassigned: true, what });
  if (result === "") {
    throw new SaslError("invalid-argument", `the SCRAM ${what} is empty after SASLprep`);
  }
  return result;
}

/** A server `e=` attribute, first in the message, becomes its mapped error. */
function rejectServerError(attributes: readonly Attribute[]): void {
  const first = attributes[0];
  if (first.name !== "e") return;
  const value = first.value;
  const code: SaslErrorCode = Object.hasOwn(SERVER_ERRORS, value)
    ? SERVER_ERRORS[value]
    : "server-rejected";
  throw new ScramServerError(code, value, `the SCRAM server failed: e=${showPeerText(value)}`);
}
