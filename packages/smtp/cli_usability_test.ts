// The command line in a person's first hour: --version, near-miss suggestions, a password typed
// where the variable name goes, a required protection level, and `serve`.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CliIo, main } from "./cli.ts";
import { startTestServer } from "./test_server.ts";

async function run(args: string[], io: CliIo = {}) {
  let stdout = "";
  let stderr = "";
  const status = await main(args, {
    env: {},
    stdin: "",
    ...io,
    stdout: (text) => stdout += text,
    stderr: (text) => stderr += text,
  });
  return { status, stdout, stderr };
}

Deno.test("--version prints the version of package.json and deno.json", async () => {
  const { status, stdout } = await run(["--version"]);
  assert.equal(status, 0);
  const version = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"))
    .version;
  assert.equal(stdout, `saslkit-smtp ${version}\n`);
  const deno = JSON.parse(readFileSync(new URL("./deno.json", import.meta.url), "utf8"));
  assert.equal(deno.version, version);
});

Deno.test("near-miss options and commands get a suggestion; odd words are not echoed", async () => {
  const cases: [string[], RegExp][] = [
    [["sned", "--host", "h"], /unknown command "sned" \(did you mean send\?\)/],
    [["prob", "--host", "h"], /unknown command "prob" \(did you mean probe\?\)/],
    [["probe", "--hots", "h"], /unknown option --hots \(did you mean --host\?\)/],
    [["probe", "--host", "h", "-v"], /unknown option -v \(did you mean --verbose or --version\?\)/],
    [["probe", "--host", "h", "--jsno"], /did you mean --json\?/],
    [["probe", "--host", "h", "--require-qo", "auth"], /did you mean --require-qop\?/],
    [["probe", "--host", "h", "--frobnicate"], /unknown option --frobnicate$/m],
  ];
  for (const [args, message] of cases) {
    const { status, stderr } = await run(args);
    assert.equal(status, 2, args.join(" "));
    assert.match(stderr, message, args.join(" "));
  }
  // A positional that does not look like a command may be a password: not shown.
  const { status, stderr } = await run(["hunter2!x", "--host", "h"]);
  assert.equal(status, 2);
  assert.match(stderr, /unknown command \(not shown\): expected probe, send or serve/);
  assert.doesNotMatch(stderr, /hunter2/);
});

Deno.test("--password-env names the variable only when it looks like one", async () => {
  // The password typed where the name belongs: never echoed.
  for (const typed of ["hunter2", "Tr0ub4dor3", "correcthorsebatterystaple"]) {
    const { status, stderr } = await run(
      ["probe", "--host", "127.0.0.1", "--user", "u", "--password-env", typed],
    );
    assert.equal(status, 2);
    assert.match(stderr, /the environment variable named by --password-env is not set/);
    assert.match(stderr, /takes the NAME of a variable, e\.g\. SMTP_PASSWORD/);
    assert.ok(!stderr.includes(typed), `${typed} was echoed`);
  }
  // Not a valid name at all: refused without echo.
  const odd = await run(["probe", "--host", "h", "--user", "u", "--password-env", "p@ss word"]);
  assert.equal(odd.status, 2);
  assert.doesNotMatch(odd.stderr, /p@ss/);
  // A conventional name is named.
  const named = await run([
    "probe",
    "--host",
    "127.0.0.1",
    "--user",
    "u",
    "--password-env",
    "SMTP_PW",
  ]);
  assert.match(named.stderr, /the environment variable SMTP_PW is not set/);
  const empty = await run(
    ["probe", "--host", "127.0.0.1", "--user", "u", "--password-env", "SMTP_PW"],
    { env: { SMTP_PW: "" } },
  );
  assert.match(empty.stderr, /the environment variable SMTP_PW is empty/);
  // A lower-case variable that exists works: the rule is about what is echoed.
  const server = await startTestServer({ mechanisms: ["CRAM-MD5"] });
  try {
    const ok = await run(
      ["probe", "--host", `127.0.0.1:${server.port}`, "--user", "smtpuser", "--password-env", "pw"],
      { env: { pw: "secret" } },
    );
    assert.equal(ok.status, 0, ok.stderr);
  } finally {
    await server.close();
  }
});

const SEND = ["--user", "smtpuser", "--password-env", "PW", "--from", "a@example.com"];

Deno.test("send --require-qop: below it is a failed attempt; text states the protection", async () => {
  // A server that offers DIGEST-MD5 with qop=auth only (Postfix-like): nothing qualifies.
  let server = await startTestServer({ digestQop: ["auth"] });
  try {
    const base = ["send", "--host", `127.0.0.1:${server.port}`, "--no-starttls", ...SEND];
    const { status, stdout, stderr } = await run(
      [...base, "--to", "b@example.com", "--require-qop", "auth-int", "--allow-cleartext"],
      { env: { PW: "secret" }, stdin: "Subject: x\n\nx\n" },
    );
    assert.equal(status, 1);
    assert.match(stdout, /DIGEST-MD5: insufficient-protection: .*offers qop auth/);
    assert.match(stdout, /CRAM-MD5: insufficient-protection: CRAM-MD5 has no security layer/);
    assert.match(stderr, /no mechanism gave the protection asked for \(minQop auth-int\)/);
    assert.equal(server.messages.length, 0);
    const json = await run([
      ...base,
      "--to",
      "b@example.com",
      "--require-qop",
      "auth-conf",
      "--json",
    ], {
      env: { PW: "secret" },
      stdin: "x\n",
    });
    assert.equal(JSON.parse(json.stdout).error.code, "insufficient-protection");
    // --qop alone allows a layer and gets none here: no longer silent.
    const allowed = await run([...base, "--to", "b@example.com", "--qop", "auth-conf"], {
      env: { PW: "secret" },
      stdin: "x\n",
    });
    assert.equal(allowed.status, 0);
    assert.match(allowed.stdout, /^Protection: TLS none; SASL layer none$/m);
    assert.match(
      allowed.stderr,
      /note: --qop auth-conf allowed a security layer, but DIGEST-MD5 negotiated none/,
    );
  } finally {
    await server.close();
  }
  // The Sendmail-like default offers layers: --require-qop alone negotiates one.
  server = await startTestServer();
  try {
    const { status, stdout } = await run(
      [
        "send",
        "--host",
        `127.0.0.1:${server.port}`,
        "--no-starttls",
        ...SEND,
        "--to",
        "b@example.com",
        "--require-qop",
        "auth-conf",
      ],
      { env: { PW: "secret" }, stdin: "Subject: x\n\nx\n" },
    );
    assert.equal(status, 0, stdout);
    assert.match(stdout, /^Protection: TLS none; SASL layer auth-conf rc4$/m);
    assert.equal(server.messages[0].qop, "auth-conf");
  } finally {
    await server.close();
  }
  const usage = await run([
    "send",
    "--host",
    "h",
    ...SEND,
    "--to",
    "b@x.org",
    "--qop",
    "auth",
    "--require-qop",
    "auth-int",
  ]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--qop is weaker than --require-qop/);
});

Deno.test("probe --require-qop marks what falls short, and never counts it usable", async () => {
  const server = await startTestServer();
  try {
    const { status, stdout } = await run(
      [
        "probe",
        "--host",
        `127.0.0.1:${server.port}`,
        "--user",
        "smtpuser",
        "--password-env",
        "PW",
        "--require-qop",
        "auth-int",
      ],
      { env: { PW: "secret" } },
    );
    assert.equal(status, 0);
    assert.match(
      stdout,
      /^ {2}DIGEST-MD5: authenticated \(protection auth-int, server verified\); NOOP/m,
    );
    assert.match(
      stdout,
      /^ {2}CRAM-MD5: not accepted \(insufficient-protection\): CRAM-MD5 has no/m,
    );
    assert.match(stdout, /^Usable: DIGEST-MD5$/m);
  } finally {
    await server.close();
  }
});

// Runs `serve` in this process until the returned stop() is called.
async function serve(args: string[], env: Record<string, string> = {}) {
  const controller = new AbortController();
  let stdout = "";
  let stderr = "";
  let listening: (port: number) => void;
  const port = new Promise<number>((resolve) => (listening = resolve));
  const status = main(["serve", "--port", "0", ...args], {
    env,
    signal: controller.signal,
    stdout: (text) => {
      stdout += text;
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
      if (match) listening(Number(match[1]));
    },
    stderr: (text) => stderr += text,
  });
  const early = await Promise.race([port, status.then((code) => ({ code }))]);
  if (typeof early !== "number") throw new Error(`serve exited ${early.code}: ${stderr}`);
  return {
    port: early,
    output: () => stdout,
    stop: async () => {
      controller.abort();
      return await status;
    },
  };
}

Deno.test("serve: the test server as a command; messages printed and written as .eml", async () => {
  const folder = mkdtempSync(join(tmpdir(), "saslkit-serve-"));
  try {
    const server = await serve([
      "--folder",
      join(folder, "received"),
      "--drop-after-auth",
      "digest-md5",
    ]);
    const banner = server.output();
    assert.match(banner, /user: smtpuser, password: secret/);
    assert.match(banner, /mechanisms: DIGEST-MD5 CRAM-MD5 LOGIN PLAIN/);
    assert.match(banner, /DIGEST-MD5 qop offered: auth, auth-int, auth-conf \(like Sendmail/);
    assert.match(banner, /DIGEST-MD5: 235, then the connection is dropped/);

    const sent = await run(
      [
        "send",
        "--host",
        `127.0.0.1:${server.port}`,
        "--no-starttls",
        "--user",
        "smtpuser",
        "--password-env",
        "PW",
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--subject",
        "Hello from the quick start",
      ],
      { env: { PW: "secret" }, stdin: "It works.\n" },
    );
    assert.equal(sent.status, 0, sent.stdout + sent.stderr);
    assert.match(sent.stdout, /DIGEST-MD5: dropped-after-auth/);
    assert.match(sent.stdout, /Authenticated as smtpuser with CRAM-MD5/);
    assert.match(
      server.output(),
      /Message 5AQK00000001 from <a@example\.com> to <b@example\.com> \(CRAM-MD5 as smtpuser, qop auth, no TLS; \d+ bytes\)\n {2}Subject: Hello from the quick start\n {2}saved to .*5AQK00000001\.eml/,
    );
    const files = readdirSync(join(folder, "received"));
    assert.deepEqual(files, ["5AQK00000001.eml"]);
    const eml = readFileSync(join(folder, "received", files[0]), "utf8");
    assert.match(eml, /^From: a@example\.com\r\n/);
    assert.match(eml, /\r\n\r\nIt works\.\r\n$/);
    assert.equal(await server.stop(), 0);
    assert.match(server.output(), /Stopped; 1 message\(s\) received\./);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

Deno.test("serve: users, mechanisms, qop and a rejected mechanism from the command line", async () => {
  const server = await serve(
    [
      "--user",
      "alice",
      "--password-env",
      "ALICE_PW",
      "--mechanisms",
      "CRAM-MD5,DIGEST-MD5",
      "--digest-qop",
      "auth",
      "--reject-mechanism",
      "CRAM-MD5",
    ],
    { ALICE_PW: "wonderland" },
  );
  try {
    const banner = server.output();
    assert.match(banner, /user: alice \(password from the environment\)/);
    assert.doesNotMatch(banner, /wonderland/);
    assert.match(banner, /like Postfix: no layer/);
    const probe = await run(
      ["probe", "--host", `127.0.0.1:${server.port}`, "--user", "alice", "--password-env", "PW"],
      { env: { PW: "wonderland" } },
    );
    assert.match(probe.stdout, /CRAM-MD5: not authenticated \(unsupported\): .*504/);
    assert.match(probe.stdout, /DIGEST-MD5: authenticated \(protection none, server verified\)/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
  for (
    const [args, message] of [
      [["serve", "--host", "0.0.0.0"], /loopback only/],
      [["serve", "--qop", "auth"], /--qop is not for serve/],
      [["serve", "--user", "x"], /--user and --password-env go together/],
      [["serve", "--digest-qop", "max"], /--digest-qop takes/],
      [["probe", "--host", "h", "--folder", "x"], /--folder is for serve, not probe/],
    ] as [string[], RegExp][]
  ) {
    const { status, stderr } = await run(args);
    assert.equal(status, 2, args.join(" "));
    assert.match(stderr, message);
  }
  assert.equal(existsSync("x"), false);
});
