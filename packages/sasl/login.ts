/**
 * The LOGIN mechanism (draft-murchison-sasl-login-00): the server prompts for a username and
 * then for a password, and the client answers each in the clear. Obsolete, but still the
 * mechanism some servers offer first; use it only inside TLS.
 *
 * @module
 */

import { decodeLatin1, decodeUtf8, utf8 } from "./_bytes.ts";
import { SaslError } from "./error.ts";
import { passwordCredentials, shown, text, verifyPassword } from "./_descriptor.ts";
import { defineMechanism, type MechanismDescriptor } from "./registry.ts";
import type {
  ClientMechanism,
  MechanismProperties,
  SaslOutcome,
  ServerMechanism,
  ServerStep,
} from "./mechanism.ts";

// The draft sets no limit; this one only keeps a hostile client from handing `verify` megabytes.
const MAX_FIELD_OCTETS = 1024;
// Nor on prompts (`Username:`, `Password:`); a longer one is refused before it is decoded.
const MAX_PROMPT_OCTETS = 1024;

/** Options of a {@linkcode LoginClient}. */
export interface LoginClientOptions {
  /** The username, sent as UTF-8 in answer to the first challenge. */
  readonly username: string;
  /** The password, sent as UTF-8 in answer to the second challenge. */
  readonly password: string;
  /**
   * Send the username as the initial response instead of waiting for the first prompt.
   * Many servers accept this; the draft does not define it. Default `false`.
   */
  readonly initialResponse?: boolean;
}

type LoginClientState =
  | "initial"
  | "awaiting-first"
  | "awaiting-second"
  | "sent"
  | "finished"
  | "failed";

/**
 * The client side of LOGIN.
 *
 * It answers the first challenge with the username and the second with the password, whatever
 * the prompts say (`Username:`, `User Name`, or anything else). A third challenge is an error.
 * The only use of the prompt text is leniency: after a username sent as the initial response, a
 * server that ignored it and prompts for a username (`Username:`, `User Name`) gets it again.
 *
 * @example Answering the two prompts
 * ```ts
 * import { LoginClient } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const client = new LoginClient({ username: "tim", password: "tanstaaftanstaaf" });
 * const text = new TextEncoder();
 * assert.equal(client.start(), undefined);
 * assert.deepEqual(client.next(text.encode("Username:")), text.encode("tim"));
 * assert.deepEqual(client.next(text.encode("Password:")), text.encode("tanstaaftanstaaf"));
 * assert.equal(client.finish().authenticationId, "tim");
 * ```
 */
export class LoginClient implements ClientMechanism {
  /** The registered mechanism name. */
  readonly name: "LOGIN" = "LOGIN";
  /** LOGIN sends the password in the clear; `clientFirst` follows `initialResponse`. */
  readonly properties: MechanismProperties;
  #state: LoginClientState = "initial";
  #usernameSentFirst = false;
  #username: Uint8Array;
  #password: Uint8Array;
  readonly #authenticationId: string;

  /**
   * Prepares the answers; nothing is sent until {@linkcode LoginClient.start}.
   *
   * @param options The credentials and whether to send an initial response.
   * @throws {SaslError} `invalid-argument` when the username or password is empty or
   * contains NUL.
   */
  constructor(options: LoginClientOptions) {
    if (options.username === "") {
      throw new SaslError("invalid-argument", "LOGIN username must not be empty");
    }
    if (options.password === "") {
      throw new SaslError("invalid-argument", "LOGIN password must not be empty");
    }
    if (options.username.includes("\0") || options.password.includes("\0")) {
      // Servers written in C stop at the NUL and would check a different credential.
      throw new SaslError("invalid-argument", "LOGIN username and password must not contain NUL");
    }
    this.#username = utf8(options.username);
    this.#password = utf8(options.password);
    this.#authenticationId = options.username;
    this.properties = Object.freeze({
      sendsCleartextPassword: true,
      verifiesServer: false,
      offersSecurityLayer: false,
      clientFirst: options.initialResponse === true,
      channelBinding: false,
      carriesAuthorizationId: false,
    });
  }

  /**
   * Begins the exchange.
   *
   * @returns The username when `initialResponse` is set, otherwise `undefined`.
   * @throws {SaslError} `invalid-state` when called twice.
   */
  start(): Uint8Array | undefined {
    if (this.#state !== "initial") {
      throw new SaslError("invalid-state", "start() may be called only once");
    }
    if (this.properties.clientFirst) {
      this.#state = "awaiting-second";
      this.#usernameSentFirst = true;
      return this.#username.slice();
    }
    this.#state = "awaiting-first";
    return undefined;
  }

  /**
   * Answers a prompt: the first with the username, the second with the password.
   *
   * @param challenge The server's prompt; its text is not checked.
   * @returns The username or the password in UTF-8.
   * @throws {SaslError} `invalid-state` before `start()`, or on a challenge after the password;
   * `message-too-long` for a prompt over 1024 octets, before its text is read.
   */
  next(challenge: Uint8Array): Uint8Array {
    if (
      (this.#state === "awaiting-first" || this.#state === "awaiting-second") &&
      challenge.length > MAX_PROMPT_OCTETS
    ) {
      this.#state = "failed";
      this.#wipe();
      throw new SaslError("message-too-long", `LOGIN prompt exceeds ${MAX_PROMPT_OCTETS} octets`);
    }
    switch (this.#state) {
      case "awaiting-first":
        this.#state = "awaiting-second";
        return this.#username.slice();
      case "awaiting-second":
        if (asksForUsername(challenge)) {
          if (this.#usernameSentFirst) {
            // The server ignored the initial response; answer its prompt once more.
            this.#usernameSentFirst = false;
            return this.#username.slice();
          }
          // A second username prompt would receive the password as a username, into a log.
          this.#state = "failed";
          this.#wipe();
          throw new SaslError(
            "malformed-challenge",
            "LOGIN: the server asked for the username twice",
          );
        }
        this.#state = "sent";
        return this.#password.slice();
      case "initial":
        throw new SaslError("invalid-state", "next() called before start()");
      case "sent":
        this.#state = "failed";
        this.#wipe();
        throw new SaslError("invalid-state", "LOGIN expects no challenge after the password");
      default:
        throw new SaslError("invalid-state", "the LOGIN exchange is over");
    }
  }

  /**
   * Accepts the server's success report.
   *
   * @param additionalData Must be absent or empty; LOGIN has no success data.
   * @returns The outcome, with qop `auth`.
   * @throws {SaslError} `invalid-state` before the password was sent or after `finish()`,
   * `malformed-challenge` when success carries data.
   */
  finish(additionalData?: Uint8Array): SaslOutcome {
    if (this.#state !== "sent") {
      throw new SaslError("invalid-state", "finish() called before the password was sent");
    }
    if (additionalData !== undefined && additionalData.length !== 0) {
      this.#state = "failed";
      this.#wipe();
      throw new SaslError("malformed-challenge", "LOGIN success carries no additional data");
    }
    this.#state = "finished";
    this.#wipe();
    return { mechanism: "LOGIN", authenticationId: this.#authenticationId, qop: "auth" };
  }

  #wipe(): void {
    this.#password.fill(0);
    this.#password = new Uint8Array(0);
    this.#username = new Uint8Array(0);
  }
}

function asksForUsername(challenge: Uint8Array): boolean {
  return /^\s*user ?name/i.test(decodeLatin1(challenge));
}

/** Options of a {@linkcode LoginServer}. */
export interface LoginServerOptions {
  /**
   * Checks a password.
   *
   * @param username The username the client sent.
   * @param password The password the client sent.
   * @returns Whether the password is right for that user.
   */
  readonly verify: (username: string, password: string) => boolean;
}

type LoginServerState = "initial" | "awaiting-username" | "awaiting-password" | "done" | "failed";

const USERNAME_PROMPT = "Username:";
const PASSWORD_PROMPT = "Password:";

/**
 * The server side of LOGIN: prompts `Username:` and `Password:`, as Sendmail and Cyrus SASL do,
 * and accepts the username as an initial response.
 *
 * @example Prompting for the username and the password
 * ```ts
 * import { LoginServer } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const server = new LoginServer({
 *   verify: (user, password) => user === "tim" && password === "tanstaaftanstaaf",
 * });
 * const text = new TextEncoder();
 * const first = server.next(undefined);
 * assert.equal(new TextDecoder().decode(first.challenge), "Username:");
 * server.next(text.encode("tim")); // prompts "Password:"
 * assert.equal(server.next(text.encode("tanstaaftanstaaf")).done, true);
 * assert.equal(server.outcome().authenticationId, "tim");
 * ```
 */
export class LoginServer implements ServerMechanism {
  /** The registered mechanism name. */
  readonly name: "LOGIN" = "LOGIN";
  #state: LoginServerState = "initial";
  #username = "";
  readonly #verify: (username: string, password: string) => boolean;

  /**
   * Creates a server for one exchange.
   *
   * @param options The password check.
   */
  constructor(options: LoginServerOptions) {
    this.#verify = options.verify;
  }

  /**
   * Takes the client's next message.
   *
   * @param response The username (as initial response or after `Username:`), the password
   * (after `Password:`), or `undefined` when the client sent no initial response.
   * @returns The next prompt, or `done`.
   * @throws {SaslError} `malformed-response`, `message-too-long`, `authentication-failed`, or
   * `invalid-state` when called out of order.
   */
  next(response: Uint8Array | undefined): ServerStep {
    if (response === undefined) {
      if (this.#state !== "initial") {
        throw new SaslError("invalid-state", "no response given after a prompt");
      }
      this.#state = "awaiting-username";
      return { challenge: utf8(USERNAME_PROMPT), done: false };
    }
    try {
      switch (this.#state) {
        case "initial":
        case "awaiting-username":
          this.#username = readField("username", response);
          this.#state = "awaiting-password";
          return { challenge: utf8(PASSWORD_PROMPT), done: false };
        case "awaiting-password": {
          const password = readField("password", response);
          if (!this.#verify(this.#username, password)) {
            throw new SaslError("authentication-failed", "wrong username or password");
          }
          this.#state = "done";
          return { done: true };
        }
        default:
          throw new SaslError("invalid-state", "the LOGIN exchange is over");
      }
    } catch (error) {
      if (!(error instanceof SaslError && error.code === "invalid-state")) this.#state = "failed";
      throw error;
    }
  }

  /**
   * What the exchange established.
   *
   * @returns The username and qop `auth`.
   * @throws {SaslError} `invalid-state` before the exchange is done.
   */
  outcome(): SaslOutcome {
    if (this.#state !== "done") {
      throw new SaslError("invalid-state", "the LOGIN exchange is not done");
    }
    return { mechanism: "LOGIN", authenticationId: this.#username, qop: "auth" };
  }
}

function readField(what: string, bytes: Uint8Array): string {
  if (bytes.length === 0) {
    throw new SaslError("malformed-response", `LOGIN ${what} is empty`);
  }
  if (bytes.length > MAX_FIELD_OCTETS) {
    throw new SaslError("message-too-long", `LOGIN ${what} exceeds ${MAX_FIELD_OCTETS} octets`);
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    throw new SaslError("malformed-response", `LOGIN ${what} is not valid UTF-8`);
  }
  if (text.includes("\0")) {
    throw new SaslError("malformed-response", `LOGIN ${what} contains NUL`);
  }
  return text;
}

const USERNAME_PROMPT_TEXT = /^\s*user ?name/i;

/**
 * LOGIN in the mechanism registry: password credentials without an authorization identity; a
 * transcript shows the answer to a username prompt (or a username sent as the initial
 * response) and hides every other answer.
 *
 * @example
 * ```ts
 * import { loginMechanism } from "@saslkit/sasl";
 * import assert from "node:assert/strict";
 *
 * const enc = new TextEncoder();
 * assert.equal(loginMechanism.redact(enc.encode("tim"), { lastChallenge: enc.encode("Username:") }), "tim");
 * assert.equal(loginMechanism.redact(enc.encode("tanstaaf"), { lastChallenge: enc.encode("Password:") }), "***");
 * ```
 */
export const loginMechanism: MechanismDescriptor = /* @__PURE__ */ defineMechanism({
  name: "LOGIN",
  properties: Object.freeze({
    sendsCleartextPassword: true,
    verifiesServer: false,
    offersSecurityLayer: false,
    clientFirst: false,
    channelBinding: false,
    carriesAuthorizationId: false,
  }),
  credentialKind: "password",
  createClient(credentials) {
    const { username, password, authorizationId } = passwordCredentials("LOGIN", credentials);
    if (authorizationId) {
      throw new SaslError("invalid-argument", "LOGIN cannot carry an authorization identity");
    }
    return new LoginClient({ username, password });
  },
  createServer(store) {
    return new LoginServer({ verify: verifyPassword(store, "LOGIN") });
  },
  redact(message, step) {
    const prompt = step.lastChallenge === undefined ? undefined : text(step.lastChallenge);
    const isUsername = prompt === undefined || USERNAME_PROMPT_TEXT.test(prompt);
    return shown(message, (answer) => isUsername ? answer : "***");
  },
});
