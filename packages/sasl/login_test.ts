import assert from "node:assert/strict";
import { LoginClient, type LoginClientOptions, LoginServer } from "./login.ts";
import { SaslError, type SaslErrorCode } from "./error.ts";

const text = new TextEncoder();
const decode = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

function assertSaslError(fn: () => unknown, code: SaslErrorCode, secret?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SaslError, `expected SaslError, got ${error}`);
    assert.equal(error.code, code);
    if (secret) assert.ok(!error.message.includes(secret), error.message);
    return true;
  });
}

const PASSWORD = "tanstaaftanstaaf";
const verify = (user: string, password: string) => user === "tim" && password === PASSWORD;

Deno.test("LOGIN client: answers two prompts whatever they say", () => {
  for (
    const [first, second] of [
      ["Username:", "Password:"], // Sendmail, Cyrus SASL
      ["User Name\0", "Password\0"],
      ["", ""],
      ["Password:", "Pass word:"], // the order is what counts, not the text
    ]
  ) {
    const client = new LoginClient({ username: "tim", password: PASSWORD });
    assert.equal(client.name, "LOGIN");
    assert.equal(client.start(), undefined);
    assert.equal(decode(client.next(text.encode(first))), "tim");
    assert.equal(decode(client.next(text.encode(second))), PASSWORD);
    assert.deepEqual(client.finish(), { mechanism: "LOGIN", authenticationId: "tim", qop: "auth" });
  }
});

Deno.test("LOGIN client: a second username prompt never receives the password", () => {
  const client = new LoginClient({ username: "tim", password: PASSWORD });
  client.start();
  client.next(text.encode("Username:"));
  assert.throws(
    () => client.next(text.encode("Username:")),
    (e: SaslError) => e.code === "malformed-challenge" && !e.message.includes(PASSWORD),
  );
  assert.throws(() => client.finish(), SaslError);
});

Deno.test("LOGIN client: properties", () => {
  const base = {
    sendsCleartextPassword: true,
    verifiesServer: false,
    offersSecurityLayer: false,
    channelBinding: false,
    carriesAuthorizationId: false,
  };
  assert.deepEqual(new LoginClient({ username: "u", password: "p" }).properties, {
    ...base,
    clientFirst: false,
  });
  assert.deepEqual(
    new LoginClient({ username: "u", password: "p", initialResponse: true }).properties,
    { ...base, clientFirst: true },
  );
});

Deno.test("LOGIN client: initial response", () => {
  const client = new LoginClient({ username: "tim", password: PASSWORD, initialResponse: true });
  assert.equal(decode(client.start()), "tim");
  assert.equal(decode(client.next(text.encode("Password:"))), PASSWORD);
  assertSaslError(() => client.next(text.encode("Password:")), "invalid-state", PASSWORD);
});

Deno.test("LOGIN client: a server that ignored the initial response gets the username again", () => {
  for (const prompt of ["Username:", "User Name\0", "username"]) {
    const client = new LoginClient({ username: "tim", password: PASSWORD, initialResponse: true });
    assert.equal(decode(client.start()), "tim");
    assert.equal(decode(client.next(text.encode(prompt))), "tim");
    assert.equal(decode(client.next(text.encode("Password:"))), PASSWORD);
    assertSaslError(() => client.next(text.encode("Username:")), "invalid-state");
  }
});

Deno.test("LOGIN client: state machine", () => {
  const fresh = () => new LoginClient({ username: "tim", password: PASSWORD });
  assertSaslError(() => fresh().next(text.encode("Username:")), "invalid-state");
  assertSaslError(() => fresh().finish(), "invalid-state");

  const twice = fresh();
  twice.start();
  assertSaslError(() => twice.start(), "invalid-state");
  assertSaslError(() => twice.finish(), "invalid-state");
  twice.next(text.encode("Username:"));
  assertSaslError(() => twice.finish(), "invalid-state"); // the password is not sent yet

  const done = fresh();
  done.start();
  done.next(text.encode("Username:"));
  done.next(text.encode("Password:"));
  done.finish();
  assertSaslError(() => done.finish(), "invalid-state");
  assertSaslError(() => done.next(text.encode("Password:")), "invalid-state");

  const data = fresh();
  data.start();
  data.next(text.encode("Username:"));
  data.next(text.encode("Password:"));
  assertSaslError(() => data.finish(text.encode("x")), "malformed-challenge");
});

Deno.test("LOGIN client: the returned password is a copy that finish() does not wipe", () => {
  const client = new LoginClient({ username: "tim", password: PASSWORD });
  client.start();
  client.next(text.encode("Username:"));
  const password = client.next(text.encode("Password:"));
  client.finish();
  assert.equal(decode(password), PASSWORD);
});

Deno.test("LOGIN client: invalid options", async (t) => {
  const cases: { name: string; options: LoginClientOptions }[] = [
    { name: "empty username", options: { username: "", password: "s3cr3t" } },
    { name: "empty password", options: { username: "u", password: "" } },
    { name: "NUL in username", options: { username: "u\0v", password: "s3cr3t" } },
    { name: "NUL in password", options: { username: "u", password: "s3cr\0t" } },
  ];
  for (const { name, options } of cases) {
    await t.step(name, () => {
      assertSaslError(() => new LoginClient(options), "invalid-argument", options.password);
    });
  }
});

Deno.test("LOGIN server: prompts Username: and Password:", () => {
  const server = new LoginServer({ verify });
  assert.equal(server.name, "LOGIN");
  const first = server.next(undefined);
  assert.equal(first.done, false);
  assert.equal(decode(first.challenge), "Username:");
  const second = server.next(text.encode("tim"));
  assert.equal(second.done, false);
  assert.equal(decode(second.challenge), "Password:");
  assert.deepEqual(server.next(text.encode(PASSWORD)), { done: true });
  assert.deepEqual(server.outcome(), { mechanism: "LOGIN", authenticationId: "tim", qop: "auth" });
});

Deno.test("LOGIN server: accepts the username as initial response", () => {
  const server = new LoginServer({ verify });
  assert.equal(decode(server.next(text.encode("tim")).challenge), "Password:");
  assert.equal(server.next(text.encode(PASSWORD)).done, true);
  assert.equal(server.outcome().authenticationId, "tim");
});

Deno.test("LOGIN server: state machine", () => {
  const server = new LoginServer({ verify });
  assertSaslError(() => server.outcome(), "invalid-state");
  server.next(undefined);
  assertSaslError(() => server.next(undefined), "invalid-state");
  assertSaslError(() => server.outcome(), "invalid-state");
  server.next(text.encode("tim"));
  assertSaslError(() => server.outcome(), "invalid-state");
  server.next(text.encode(PASSWORD));
  assertSaslError(() => server.next(text.encode(PASSWORD)), "invalid-state", PASSWORD);
  assertSaslError(() => server.next(undefined), "invalid-state");
  assert.equal(server.outcome().authenticationId, "tim"); // still done

  const failed = new LoginServer({ verify });
  failed.next(text.encode("tim"));
  assertSaslError(() => failed.next(text.encode("wrong")), "authentication-failed");
  assertSaslError(() => failed.next(text.encode(PASSWORD)), "invalid-state");
  assertSaslError(() => failed.outcome(), "invalid-state");
});

/**
 * Bad LOGIN client messages and the exact code the server must answer with: `input` is the
 * username and, for cases that get that far, the password.
 */
export const LOGIN_MALFORMED: readonly {
  name: string;
  input: { username: Uint8Array; password?: Uint8Array };
  code: SaslErrorCode;
}[] = [
  { name: "empty username", input: { username: new Uint8Array(0) }, code: "malformed-response" },
  {
    name: "empty password",
    input: { username: text.encode("tim"), password: new Uint8Array(0) },
    code: "malformed-response",
  },
  {
    name: "invalid UTF-8 username",
    input: { username: new Uint8Array([0x74, 0xc3, 0x28]) },
    code: "malformed-response",
  },
  {
    name: "invalid UTF-8 password",
    input: { username: text.encode("tim"), password: new Uint8Array([0xff, 0x61]) },
    code: "malformed-response",
  },
  {
    name: "NUL in username",
    input: { username: text.encode("tim\0admin") },
    code: "malformed-response",
  },
  {
    name: "NUL in password",
    input: { username: text.encode("tim"), password: text.encode(`${PASSWORD}\0x`) },
    code: "malformed-response",
  },
  {
    name: "1025-octet username",
    input: { username: text.encode("u".repeat(1025)) },
    code: "message-too-long",
  },
  {
    name: "1025-octet password",
    input: { username: text.encode("tim"), password: text.encode("p".repeat(1025)) },
    code: "message-too-long",
  },
  {
    name: "wrong password",
    input: { username: text.encode("tim"), password: text.encode("tanstaaf") },
    code: "authentication-failed",
  },
  {
    name: "unknown user",
    input: { username: text.encode("bob"), password: text.encode(PASSWORD) },
    code: "authentication-failed",
  },
];

Deno.test("LOGIN server: malformed responses", async (t) => {
  for (const { name, input, code } of LOGIN_MALFORMED) {
    for (const initial of [false, true]) {
      await t.step(`${name}${initial ? " (initial response)" : ""}`, () => {
        const server = new LoginServer({ verify });
        if (!initial) server.next(undefined);
        const run = () => {
          server.next(input.username);
          server.next(input.password!);
        };
        assertSaslError(run, code, PASSWORD);
        assertSaslError(() => server.outcome(), "invalid-state");
      });
    }
  }
});

/**
 * Server challenge sequences a LOGIN client must reject, and the exact code: `input` says
 * whether the username went as initial response and lists the challenges in order.
 */
export const LOGIN_CLIENT_MALFORMED: readonly {
  name: string;
  input: { initialResponse: boolean; challenges: readonly string[] };
  code: SaslErrorCode;
}[] = [
  {
    name: "third challenge",
    input: { initialResponse: false, challenges: ["Username:", "Password:", "Password:"] },
    code: "invalid-state",
  },
  {
    name: "third challenge, empty prompts",
    input: { initialResponse: false, challenges: ["", "", ""] },
    code: "invalid-state",
  },
  {
    name: "second challenge after initial response",
    input: { initialResponse: true, challenges: ["Password:", "Password:"] },
    code: "invalid-state",
  },
  {
    name: "third challenge after initial response re-prompted",
    input: { initialResponse: true, challenges: ["Username:", "Password:", "Username:"] },
    code: "invalid-state",
  },
];

Deno.test("LOGIN client: malformed challenge sequences", async (t) => {
  for (const { name, input, code } of LOGIN_CLIENT_MALFORMED) {
    await t.step(name, () => {
      const client = new LoginClient({
        username: "tim",
        password: PASSWORD,
        initialResponse: input.initialResponse,
      });
      client.start();
      const last = input.challenges.length - 1;
      input.challenges.slice(0, last).forEach((prompt) => client.next(text.encode(prompt)));
      assertSaslError(() => client.next(text.encode(input.challenges[last])), code, PASSWORD);
      assertSaslError(() => client.finish(), "invalid-state");
    });
  }
});

Deno.test("LOGIN: client and server round trips", () => {
  for (const initialResponse of [false, true]) {
    for (const [username, password] of [["tim", PASSWORD], ["Ünïcødé user", "пароль 🔑"]]) {
      let seen: [string, string] | undefined;
      const server = new LoginServer({
        verify: (user, pass) => {
          seen = [user, pass];
          return true;
        },
      });
      const client = new LoginClient({ username, password, initialResponse });
      let step = server.next(client.start());
      while (!step.done) step = server.next(client.next(step.challenge!));
      assert.deepEqual(seen, [username, password]);
      assert.deepEqual(server.outcome(), client.finish());
    }
  }
});

Deno.test("LOGIN client: a prompt over 1024 octets is refused before its text is read", () => {
  const huge = (head: string) => {
    const prompt = new Uint8Array(1 << 20).fill(0x20);
    prompt.set(text.encode(head));
    return prompt;
  };
  // After an initial response, "Username:" would get the username again: the size comes first.
  let client = new LoginClient({ username: "tim", password: PASSWORD, initialResponse: true });
  client.start();
  assertSaslError(() => client.next(huge("Username:")), "message-too-long", PASSWORD);
  assertSaslError(() => client.next(text.encode("Password:")), "invalid-state");
  // The first prompt, whose text is never looked at, is bounded too.
  client = new LoginClient({ username: "tim", password: PASSWORD });
  client.start();
  assertSaslError(() => client.next(huge("Username:")), "message-too-long", PASSWORD);
  assertSaslError(() => client.finish(), "invalid-state");
  // 1024 octets are still a prompt.
  client = new LoginClient({ username: "tim", password: PASSWORD });
  client.start();
  assert.equal(decode(client.next(new Uint8Array(1024).fill(0x41))), "tim");
  assert.equal(decode(client.next(new Uint8Array(1024).fill(0x42))), PASSWORD);
  client.finish();
});
