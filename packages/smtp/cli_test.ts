import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeBase64 } from "@saslkit/sasl";
import { type CliIo, main } from "./cli.ts";
import { messageFromInput } from "./_cli/send.ts";
import { startTestServer, type TestServer, type TestServerOptions } from "./test_server.ts";
import { makeTestCertificates } from "./testdata/tls.ts";

const PASSWORD = "s3cret-Pässword";
const ENV = { SMTP_PASSWORD: PASSWORD };
const encoder = new TextEncoder();

// Every form in which the password could leak: as is, and as PLAIN and LOGIN put it on the wire.
const SECRETS = [
  PASSWORD,
  encodeBase64(encoder.encode(`\0smtpuser\0${PASSWORD}`)),
  encodeBase64(encoder.encode(PASSWORD)),
];

function assertNoSecret(text: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), "the password leaked");
  // DIGEST-MD5's response and CRAM-MD5's digest are 32 hex digits.
  assert.doesNotMatch(text, /response=[0-9a-f]{32}/);
  assert.doesNotMatch(text, /smtpuser [0-9a-f]{32}/);
}

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(args: string[], io: CliIo = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const status = await main(args, {
    env: ENV,
    stdin: "",
    ...io,
    stdout: (text) => stdout += text,
    stderr: (text) => stderr += text,
  });
  assertNoSecret(stdout + stderr);
  return { status, stdout, stderr };
}

async function withServer(
  options: TestServerOptions,
  test: (server: TestServer, base: string[]) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({ users: { smtpuser: PASSWORD }, ...options });
  try {
    await test(server, [
      "--host",
      server.hostname,
      "--port",
      String(server.port),
      "--timeout",
      "5000",
    ]);
  } finally {
    await server.close();
  }
}

const AUTH = ["--user", "smtpuser", "--password-env", "SMTP_PASSWORD"];

Deno.test("probe without --user shows the banner and EHLO on one connection", async () => {
  await withServer({ authEqualsForm: true }, async (server, base) => {
    const { status, stdout } = await run(["probe", ...base]);
    assert.equal(status, 0);
    assert.match(stdout, /^Banner: 220 mail\.example\.com ESMTP$/m);
    assert.match(stdout, /^TLS: none \(the server does not offer STARTTLS\)$/m);
    assert.match(stdout, /^ {2}AUTH: DIGEST-MD5 CRAM-MD5 LOGIN PLAIN$/m);
    assert.match(stdout, /PIPELINING/);
    assert.equal(server.connections, 1);
  });
});

Deno.test("probe tries each mechanism alone and tells a dropped connection and a 504", async () => {
  const options: TestServerOptions = {
    behaviour: { dropAfterAuth: ["CRAM-MD5"], rejectAdvertised: ["LOGIN"] },
  };
  await withServer(options, async (server, base) => {
    const { status, stdout } = await run(["probe", ...base, ...AUTH, "--allow-cleartext"]);
    assert.equal(status, 0);
    assert.match(
      stdout,
      /^ {2}DIGEST-MD5: authenticated \(protection none, server verified\); NOOP afterwards: ok$/m,
    );
    assert.match(
      stdout,
      /^ {2}CRAM-MD5: authenticated \(protection none, server not verified\), but the connection did not survive/m,
    );
    assert.match(stdout, /^ {2}LOGIN: not authenticated \(unsupported\): .*504 5\.5\.4/m);
    assert.match(stdout, /^ {4}replies: 504 5\.5\.4 /m);
    assert.match(stdout, /^ {2}PLAIN: authenticated/m);
    assert.match(stdout, /^Usable: DIGEST-MD5, PLAIN$/m);
    // One connection for EHLO, then one per mechanism.
    assert.equal(server.connections, 5);
  });
});

Deno.test("probe --json: one document, every result, no password", async () => {
  const options: TestServerOptions = {
    behaviour: { dropAfterAuth: ["CRAM-MD5"], rejectAdvertised: ["LOGIN"] },
  };
  await withServer(options, async (_server, base) => {
    const { status, stdout, stderr } = await run([
      "probe",
      ...base,
      ...AUTH,
      "--allow-cleartext",
      "--json",
    ]);
    assert.equal(status, 0);
    assert.equal(stderr, "");
    const report = JSON.parse(stdout);
    assert.equal(report.banner, "220 mail.example.com ESMTP");
    assert.equal(report.tls, "none");
    assert.deepEqual(report.ehlo.auth, ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"]);
    assert.equal(report.ehlo.startTls, false);
    assert.equal(report.ehlo.enhancedStatusCodes, true);
    assert.equal(report.user, "smtpuser");
    assert.equal(report.error, null);
    assert.equal(report.transcript, undefined);
    const byName = Object.fromEntries(
      report.results.map((r: { mechanism: string }) => [r.mechanism, r]),
    );
    assert.deepEqual(byName["DIGEST-MD5"], {
      mechanism: "DIGEST-MD5",
      advertised: true,
      authenticated: true,
      replies: [
        { code: 334, enhancedCode: null, text: null },
        { code: 334, enhancedCode: null, text: null },
        byName["DIGEST-MD5"].replies[2],
      ],
      qop: "auth",
      cipher: null,
      serverVerified: true,
      iterations: null,
      survivedNextCommand: true,
      connection: 2,
      result: "authenticated",
      error: null,
    });
    assert.equal(byName["DIGEST-MD5"].replies[2].code, 235);
    assert.equal(byName["DIGEST-MD5"].replies[2].enhancedCode, "2.0.0");
    assert.equal(byName["CRAM-MD5"].authenticated, true);
    assert.equal(byName["CRAM-MD5"].survivedNextCommand, false);
    assert.equal(byName["CRAM-MD5"].result, "dropped-after-auth");
    assert.equal(byName["LOGIN"].authenticated, false);
    assert.equal(byName["LOGIN"].result, "unsupported");
    assert.equal(byName["LOGIN"].survivedNextCommand, null);
    assert.deepEqual(byName["LOGIN"].replies.map((r: { code: number }) => r.code), [504]);
    assert.equal(byName["LOGIN"].replies[0].enhancedCode, "5.5.4");
    assert.equal(byName["PLAIN"].result, "authenticated");
  });
});

Deno.test("probe over plain TCP does not send PLAIN or LOGIN without --allow-cleartext", async () => {
  await withServer({}, async (server, base) => {
    const { status, stdout } = await run(["probe", ...base, ...AUTH, "--json"]);
    assert.equal(status, 0);
    const results = JSON.parse(stdout).results;
    assert.deepEqual(
      results.map((r: { mechanism: string; result: string }) => `${r.mechanism}:${r.result}`),
      [
        "DIGEST-MD5:authenticated",
        "CRAM-MD5:authenticated",
        "LOGIN:needs-tls",
        "PLAIN:needs-tls",
      ],
    );
    assert.equal(results[2].connection, null);
    assert.equal(server.connections, 3);
  });
});

Deno.test("probe --qop auth-conf reports the cipher and a working layer", async () => {
  await withServer({}, async (_server, base) => {
    const { status, stdout } = await run([
      "probe",
      ...base,
      ...AUTH,
      "--mechanisms",
      "digest-md5",
      "--qop",
      "auth-conf",
      "--cipher",
      "3des,rc4",
      "--json",
    ]);
    assert.equal(status, 0);
    const [result] = JSON.parse(stdout).results;
    assert.equal(result.qop, "auth-conf");
    assert.equal(result.cipher, "3des");
    assert.equal(result.survivedNextCommand, true);
  });
});

Deno.test("probe: unknown and unadvertised mechanisms, and an authzid CRAM-MD5 cannot carry", async () => {
  await withServer({ mechanisms: ["DIGEST-MD5", "X-FOO"] }, async (server, base) => {
    const { status, stdout } = await run([
      "probe",
      ...base,
      ...AUTH,
      "--mechanisms",
      "X-FOO,GSSAPI,CRAM-MD5",
      "--authzid",
      "other",
      "--json",
    ]);
    assert.equal(status, 1);
    const results = JSON.parse(stdout).results;
    assert.deepEqual(
      results.map((r: { mechanism: string; result: string; advertised: boolean }) =>
        `${r.mechanism}:${r.result}:${r.advertised}`
      ),
      [
        "X-FOO:unknown:true",
        "GSSAPI:unknown:false",
        "CRAM-MD5:no-authorization-id:false",
      ],
    );
    assert.match(results[2].error, /authorization identity/);
    assert.equal(server.connections, 1);
  });
});

Deno.test("probe with a wrong password exits 1 with 535 for each mechanism", async () => {
  await withServer({ mechanisms: ["DIGEST-MD5", "CRAM-MD5"] }, async (_server, base) => {
    const { status, stdout, stderr } = await run(["probe", ...base, ...AUTH], {
      env: { SMTP_PASSWORD: "wrong" },
    });
    assert.equal(status, 1);
    assert.match(stdout, /^ {2}DIGEST-MD5: not authenticated \(bad-credentials\): .*535 5\.7\.8/m);
    assert.match(stdout, /^ {2}CRAM-MD5: not authenticated \(bad-credentials\)/m);
    assert.match(stderr, /no mechanism authenticated/);
  });
});

Deno.test("probe: a bad rspauth, a drop during AUTH and a 454 are each told apart", async () => {
  const options: TestServerOptions = {
    behaviour: { wrongRspauth: true, dropDuringAuth: ["CRAM-MD5"], tempFail: { PLAIN: 1 } },
  };
  await withServer(options, async (_server, base) => {
    const { status, stdout } = await run([
      "probe",
      ...base,
      ...AUTH,
      "--mechanisms",
      "DIGEST-MD5,CRAM-MD5,PLAIN,LOGIN",
      "--allow-cleartext",
      "--json",
    ]);
    assert.equal(status, 0);
    const results = JSON.parse(stdout).results;
    assert.deepEqual(
      results.map((r: { mechanism: string; result: string }) => `${r.mechanism}:${r.result}`),
      [
        "DIGEST-MD5:client-error",
        "CRAM-MD5:connection-lost",
        "PLAIN:temporary",
        "LOGIN:authenticated",
      ],
    );
    assert.equal(results[0].authenticated, false);
    assert.match(results[0].error, /cancelled by the client/);
    assert.deepEqual(results[2].replies, [
      { code: 454, enhancedCode: "4.7.0", text: "Temporary authentication failure" },
    ]);
  });
});

Deno.test("probe: a server that drops every connection after 235 is a failure", async () => {
  const options: TestServerOptions = {
    mechanisms: ["DIGEST-MD5"],
    behaviour: { dropAfterAuth: ["DIGEST-MD5"] },
  };
  await withServer(options, async (_server, base) => {
    const { status } = await run(["probe", ...base, ...AUTH]);
    assert.equal(status, 1);
  });
});

Deno.test("probe: an unreachable server exits 1", async () => {
  const server = await startTestServer();
  const port = server.port;
  await server.close();
  const { status, stdout, stderr } = await run(
    ["probe", "--host", "127.0.0.1", "--port", String(port), "--json"],
  );
  assert.equal(status, 1);
  assert.equal(stderr, "");
  assert.equal(JSON.parse(stdout).error.code, "connection-failed");
});

Deno.test("send delivers standard input and says which mechanism worked", async () => {
  await withServer({}, async (server, base) => {
    const { status, stdout } = await run(
      [
        "send",
        ...base,
        ...AUTH,
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--to",
        "c@example.com",
        "--subject",
        "Grüße",
      ],
      { stdin: encoder.encode("Hello,\n.dot line\n") },
    );
    assert.equal(status, 0);
    assert.match(stdout, /^ {2}DIGEST-MD5: authenticated \(protection none\)$/m);
    assert.match(stdout, /^Authenticated as smtpuser with DIGEST-MD5$/m);
    // The protection in force is always stated, even when there is none.
    assert.match(stdout, /^Protection: TLS none; SASL layer none$/m);
    assert.match(stdout, /^Accepted: 250 2\.0\.0 5AQK00000001 .*\(queue id 5AQK00000001\)$/m);
    assert.equal(server.messages.length, 1);
    const message = server.messages[0];
    assert.equal(message.from, "a@example.com");
    assert.deepEqual(message.to, ["b@example.com", "c@example.com"]);
    assert.equal(message.mechanism, "DIGEST-MD5");
    assert.match(message.data, /^Subject: =\?UTF-8\?B\?R3LDvMOfZQ==\?=\r\n/m);
    assert.match(message.data, /^To: b@example\.com, c@example\.com\r\n/m);
    assert.match(message.data, /\r\n\r\nHello,\r\n\.dot line\r\n$/);
  });
});

Deno.test("send --qop auth-conf delivers over a layered connection", async () => {
  await withServer({}, async (server, base) => {
    const { status, stdout } = await run(
      [
        "send",
        ...base,
        ...AUTH,
        "--qop",
        "auth-conf",
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--json",
      ],
      { stdin: "Subject: layered\n\nsecret-ish\n" },
    );
    assert.equal(status, 0);
    const report = JSON.parse(stdout);
    assert.equal(report.mechanism, "DIGEST-MD5");
    assert.equal(report.qop, "auth-conf");
    assert.equal(typeof report.cipher, "string");
    assert.equal(report.accepted, true);
    assert.equal(report.reply.code, 250);
    assert.deepEqual(report.attempts.map((a: { result: string }) => a.result), ["authenticated"]);
    assert.equal(server.messages[0].qop, "auth-conf");
    assert.equal(server.messages[0].data, "Subject: layered\r\n\r\nsecret-ish\r\n");
    assert.ok(server.transcript.some((line) => line.layered && line.line.startsWith("MAIL FROM")));
  });
});

Deno.test("send falls back past a mechanism that drops the connection", async () => {
  await withServer({ behaviour: { dropAfterAuth: ["DIGEST-MD5"] } }, async (server, base) => {
    const { status, stdout } = await run(
      ["send", ...base, ...AUTH, "--from", "a@example.com", "--to", "b@example.com", "--json"],
      { stdin: "Subject: x\n\ny\n" },
    );
    assert.equal(status, 0);
    const report = JSON.parse(stdout);
    assert.equal(report.mechanism, "CRAM-MD5");
    assert.deepEqual(
      report.attempts.map((a: { mechanism: string; result: string }) =>
        `${a.mechanism}:${a.result}`
      ),
      ["DIGEST-MD5:dropped-after-auth", "CRAM-MD5:authenticated"],
    );
    assert.equal(server.messages[0].mechanism, "CRAM-MD5");
  });
});

Deno.test("send with a wrong password exits 1 and lists the attempts", async () => {
  await withServer({}, async (server, base) => {
    const { status, stdout } = await run(
      ["send", ...base, ...AUTH, "--from", "a@example.com", "--to", "b@example.com", "--json"],
      { env: { SMTP_PASSWORD: "wrong" }, stdin: "x\n" },
    );
    assert.equal(status, 1);
    const report = JSON.parse(stdout);
    assert.equal(report.accepted, false);
    assert.equal(report.mechanism, null);
    assert.equal(report.error.code, "auth-rejected");
    assert.equal(report.attempts[0].result, "bad-credentials");
    assert.equal(report.attempts[0].reply.code, 535);
    assert.equal(server.messages.length, 0);
  });
});

Deno.test("send refused by the server exits 1 with the reply", async () => {
  await withServer({}, async (_server, base) => {
    const { status, stderr } = await run(
      ["send", ...base, "--from", "a@example.com", "--to", "b@example.com"],
      { stdin: "x\n" },
    );
    assert.equal(status, 1);
    assert.match(stderr, /MAIL FROM refused: 530 5\.7\.0/);
  });
});

Deno.test("--verbose prints the decoded transcript with secrets as ***", async () => {
  await withServer({}, async (_server, base) => {
    const { status, stderr } = await run([
      "probe",
      ...base,
      ...AUTH,
      "--allow-cleartext",
      "--verbose",
    ]);
    assert.equal(status, 0);
    assert.match(stderr, /^--- connection 2: DIGEST-MD5 ---$/m);
    assert.match(stderr, /^C: AUTH DIGEST-MD5$/m);
    assert.match(stderr, /^S: 334 realm="example\.com",nonce="/m);
    assert.match(stderr, /^C: .*username="smtpuser",.*response=\*\*\*/m);
    assert.match(stderr, /^C: smtpuser \*\*\*$/m);
    assert.match(stderr, /^C: AUTH PLAIN \\x00smtpuser\\x00\*\*\*$/m);
  });
  await withServer({}, async (_server, base) => {
    const { status, stdout, stderr } = await run(
      [
        "send",
        ...base,
        ...AUTH,
        "--qop",
        "auth-int",
        "--from",
        "a@example.com",
        "--to",
        "b@example.com",
        "--verbose",
        "--json",
      ],
      { stdin: "x\n" },
    );
    assert.equal(status, 0);
    assert.equal(stderr, "");
    const { transcript } = JSON.parse(stdout);
    const lines = transcript.map((e: { direction: string; text: string }) =>
      `${e.direction}: ${e.text}`
    );
    assert.ok(lines.includes("C: AUTH DIGEST-MD5"));
    assert.ok(lines.some((l: string) => /response=\*\*\*/.test(l)));
    assert.ok(
      transcript.some((e: { text: string; layered: boolean }) =>
        e.layered && e.text === "MAIL FROM:<a@example.com>"
      ),
    );
    assert.equal(transcript[0].connection, 1);
  });
});

Deno.test("usage errors exit 2 and never echo a value", async () => {
  const cases: [string[], RegExp][] = [
    [[], /missing command/],
    [["frobnicate", "--host", "h"], /unknown command/],
    [["probe"], /missing --host/],
    [["probe", "--host", "h", "--bogus"], /unknown option --bogus/],
    [["probe", "--host", "h", ...AUTH, "--qop", "max"], /--qop must be/],
    [["probe", "--host", "h", "--port", "70000"], /--port/],
    [["probe", "--host", "h", "--tls", "--starttls"], /choose one/],
    [["probe", "--host", "h", "--user", "u"], /--password-env/],
    [["probe", "--host", "h", "--mechanisms", "PLAIN"], /needs --user/],
    [["probe", "--host", "h", "--to", "x@y"], /for send/],
    [["send", "--host", "h", "--to", "x@y"], /--from/],
    [["send", "--host", "h", "--from", "x@y"], /--to/],
    [["probe", "--host", "h", ...AUTH, "--cipher", "rc4"], /--qop auth-conf/],
    [["probe", "--host", "h", ...AUTH, "--qop", "auth-conf", "--cipher", "aes"], /--cipher/],
    [
      ["probe", "--host", "h", "--password", "hunter2"],
      /--password is not accepted.*--password-env/,
    ],
    [["probe", "--host", "h", "--password=hunter2"], /--password is not accepted/],
    [["probe", "--host", "h", "-p", "hunter2"], /-p is not accepted/],
    [["probe", "--host", "h", "--pasword=hunter2"], /unknown option --pasword$/m],
    [["probe", "--host", "h", "--user", "u", "hunter2"], /unexpected argument \(#6\)/],
  ];
  for (const [args, message] of cases) {
    const { status, stdout, stderr } = await run(args);
    assert.equal(status, 2, args.join(" "));
    assert.equal(stdout, "");
    assert.match(stderr, message, args.join(" "));
    assert.match(stderr, /Usage: saslkit-smtp/);
    assert.doesNotMatch(stderr, /hunter2/);
  }
});

Deno.test("--help prints the usage on standard output", async () => {
  const { status, stdout } = await run(["--help"]);
  assert.equal(status, 0);
  assert.match(stdout, /saslkit-smtp probe --host HOST/);
  assert.match(stdout, /--password-env VAR/);
});

Deno.test("a missing or empty --password-env variable exits 2", async () => {
  let result = await run(["probe", "--host", "127.0.0.1", ...AUTH], { env: {} });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /SMTP_PASSWORD is not set/);
  result = await run(["probe", "--host", "127.0.0.1", ...AUTH], { env: { SMTP_PASSWORD: "" } });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /SMTP_PASSWORD is empty/);
});

Deno.test("STARTTLS by default, with --ca and --servername; --starttls requires it", async () => {
  const { ca, key, cert } = makeTestCertificates();
  const dir = mkdtempSync(join(tmpdir(), "saslkit-cli-"));
  try {
    const caFile = join(dir, "ca.pem");
    writeFileSync(caFile, ca);
    await withServer({ tls: { key, cert } }, async (server, base) => {
      const trust = ["--ca", caFile, "--servername", "mail.example.com"];
      let result = await run(["probe", ...base, ...trust, ...AUTH, "--json"]);
      assert.equal(result.status, 0);
      let report = JSON.parse(result.stdout);
      assert.equal(report.tls, "starttls");
      assert.equal(report.certificateChecked, true);
      assert.equal(report.ehloBeforeStartTls.startTls, true);
      // Over TLS, PLAIN and LOGIN are tried without --allow-cleartext.
      assert.ok(report.results.every((r: { result: string }) => r.result === "authenticated"));

      // Without the CA the certificate is refused; --insecure skips the check, loudly.
      result = await run(["probe", ...base, "--servername", "mail.example.com"]);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /is not trusted .*trust it with --ca FILE/);
      result = await run([
        "probe",
        ...base,
        "--servername",
        "mail.example.com",
        "--insecure",
        "--json",
      ]);
      assert.equal(result.status, 0);
      assert.match(result.stderr, /WARNING: --insecure/);
      report = JSON.parse(result.stdout);
      assert.equal(report.certificateChecked, false);

      result = await run(
        ["send", ...base, ...trust, ...AUTH, "--from", "a@example.com", "--to", "b@example.com"],
        { stdin: "Subject: tls\n\nx\n" },
      );
      assert.equal(result.status, 0);
      assert.match(result.stdout, /^Protection: TLS TLSv1\.[23] \(STARTTLS\); SASL layer none$/m);
      assert.equal(server.messages[0].tls, true);
    });
    await withServer({}, async (_server, base) => {
      const result = await run(["probe", ...base, "--starttls", "--json"]);
      assert.equal(result.status, 1);
      assert.equal(JSON.parse(result.stdout).error.code, "tls");
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("--subject builds headers with buildMessage; long non-ASCII subjects folded", () => {
  const plain = messageFromInput({ to: ["b@x.org"] }, "Subject: s\n\nbody\n");
  assert.equal(plain, "Subject: s\n\nbody\n");
  const message = messageFromInput(
    { from: "a@example.org", to: ["b@x.org"], subject: "é".repeat(40) },
    "body\n",
    new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
  );
  assert.match(message, /^Date: Wed, 02 Jan 2030 03:04:05 \+0000\r$/m);
  assert.match(message, /^Message-ID: <[0-9a-f-]{36}@example\.org>\r$/m);
  assert.match(message, /^Content-Transfer-Encoding: 7bit\r$/m);
  const subject = /^Subject: (.*(?:\r\n .*)*)\r\n/m.exec(message)![1];
  const words = subject.split("\r\n ");
  assert.equal(words.length, 2);
  for (const word of words) assert.ok(word.length <= 75);
});

Deno.test("the CLI as a process: exit statuses 0, 1 and 2", async () => {
  const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));
  const spawn = async (args: string[], password: string) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, ...args],
      env: { SMTP_PASSWORD: password, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assertNoSecret(text);
    return { code: output.code, text };
  };
  await withServer({}, async (_server, base) => {
    const ok = await spawn(["probe", ...base, ...AUTH], PASSWORD);
    assert.equal(ok.code, 0, ok.text);
    assert.match(ok.text, /DIGEST-MD5: authenticated/);
    const bad = await spawn(["probe", ...base, ...AUTH], "wrong");
    assert.equal(bad.code, 1, bad.text);
    const usage = await spawn(["probe", ...base, "--bogus"], PASSWORD);
    assert.equal(usage.code, 2, usage.text);
    assert.match(usage.text, /unknown option --bogus/);
  });
});

Deno.test("probe shows what SCRAM proved: the server signature and its iteration count", async () => {
  await withServer({ mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-1"] }, async (_server, base) => {
    const { status, stdout } = await run(["probe", ...base, ...AUTH, "--json"]);
    assert.equal(status, 0);
    const results = JSON.parse(stdout).results;
    for (const result of results) {
      assert.equal(result.result, "authenticated", result.mechanism);
      assert.equal(result.serverVerified, true);
      assert.equal(result.iterations, 4096);
    }
    const text = await run(["probe", ...base, ...AUTH]);
    assert.match(
      text.stdout,
      /^ {2}SCRAM-SHA-256: authenticated \(protection none, server verified, 4096 iterations\)/m,
    );
  });
});
