// The client exchange of the mechanisms whose client sends one message and nothing else
// (PLAIN, EXTERNAL, ANONYMOUS): the message as the initial response, or once more after an
// empty challenge from a protocol that could not carry it; success without data. Internal.

import { SaslError } from "./error.ts";
import type { ServerStep } from "./mechanism.ts";

type State = "initial" | "sent" | "resent" | "finished" | "failed";

/**
 * One message, sent once (or once more after an empty challenge), and wiped once the exchange
 * ends: PLAIN's carries the password; the others' cost nothing to wipe.
 */
export class SingleMessageExchange {
  readonly #mechanism: string;
  #state: State = "initial";
  #message: Uint8Array;

  constructor(mechanism: string, message: Uint8Array) {
    this.#mechanism = mechanism;
    this.#message = message;
  }

  start(): Uint8Array {
    if (this.#state !== "initial") {
      throw new SaslError("invalid-state", "start() may be called only once");
    }
    this.#state = "sent";
    return this.#message.slice();
  }

  next(challenge: Uint8Array): Uint8Array {
    if (this.#state !== "sent") {
      // A state error leaves a live exchange usable; a bad peer message ends it.
      throw new SaslError(
        "invalid-state",
        this.#state === "initial"
          ? "next() called before start()"
          : `${this.#mechanism} expects at most one (empty) challenge`,
      );
    }
    if (challenge.length !== 0) {
      throw this.#fail(`${this.#mechanism} challenges must be empty`);
    }
    this.#state = "resent";
    return this.#message.slice();
  }

  /** Checks the success report; the caller builds the outcome. */
  finish(additionalData: Uint8Array | undefined): void {
    if (this.#state !== "sent" && this.#state !== "resent") {
      throw new SaslError("invalid-state", "finish() called before the message was sent");
    }
    if (additionalData !== undefined && additionalData.length !== 0) {
      throw this.#fail(`${this.#mechanism} success carries no additional data`);
    }
    this.#state = "finished";
    this.#wipe();
  }

  #fail(message: string): SaslError {
    this.#state = "failed";
    this.#wipe();
    return new SaslError("malformed-challenge", message);
  }

  #wipe(): void {
    this.#message.fill(0);
    this.#message = new Uint8Array(0);
  }
}

type ServerState = "initial" | "challenged" | "done" | "failed";

/**
 * The server side of the same exchange: an empty challenge when the client sent no initial
 * response, then one message, checked by `check` (which throws a SaslError to refuse it).
 */
export class SingleMessageServerExchange<T> {
  readonly #mechanism: string;
  readonly #check: (message: Uint8Array) => T;
  #state: ServerState = "initial";
  #result: T | undefined;

  constructor(mechanism: string, check: (message: Uint8Array) => T) {
    this.#mechanism = mechanism;
    this.#check = check;
  }

  next(response: Uint8Array | undefined): ServerStep {
    if (response === undefined) {
      if (this.#state !== "initial") {
        throw new SaslError("invalid-state", "no response given after the challenge");
      }
      this.#state = "challenged";
      return { challenge: new Uint8Array(0), done: false };
    }
    if (this.#state !== "initial" && this.#state !== "challenged") {
      throw new SaslError("invalid-state", `the ${this.#mechanism} exchange is over`);
    }
    try {
      this.#result = this.#check(response);
    } catch (error) {
      this.#state = "failed";
      throw error;
    }
    this.#state = "done";
    return { done: true };
  }

  /** What `check` returned, once the exchange is done; `undefined` before. */
  get result(): T | undefined {
    return this.#state === "done" ? this.#result : undefined;
  }

  /** What `check` returned. */
  done(): T {
    if (this.#state !== "done") {
      throw new SaslError("invalid-state", `the ${this.#mechanism} exchange is not done`);
    }
    return this.#result as T;
  }
}
