// The programs in examples/ run as they stand, and say what they claim.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const examples = fileURLToPath(new URL("../examples/", import.meta.url));

const EXPECTED: Record<string, RegExp[]> = {
  "demo.ts": [
    /sasl_decode error: .*1296124236/,
    /authenticated with DIGEST-MD5, qop=auth\n/,
    /server accepted the message over qop=auth-conf/,
    /fell back to CRAM-MD5 on connection 2; .* unencrypted connection: never/,
  ],
  "digest_md5_layer.ts": [/agreed: qop=auth-conf cipher=3des/, /server reads: "a001 LIST/],
  "nodemailer.ts": [
    /attempt: DIGEST-MD5 -> unsupported\n {4}attempt: CRAM-MD5 -> authenticated/,
    /server received 1 message via CRAM-MD5/,
    /attempt: DIGEST-MD5 -> dropped-after-auth/,
    /sent with CRAM-MD5 on connection 2; the server counted 1 message\(s\)/,
    /server received the message over qop=auth-conf; [1-9]\d* client lines crossed the wire/,
  ],
  "xmpp.ts": [
    /mechanisms given to xmpp.js, in priority order: SCRAM-SHA-512-PLUS .* PLAIN/,
    /no XMPP_SERVICE set: not connecting/,
  ],
  "probe_test_server.ts": [
    /DIGEST-MD5: authenticated .* did not survive/,
    /CRAM-MD5: not authenticated \(unsupported\)/,
    /probe exit status: 0/,
  ],
};

Deno.test("every example has expectations here", () => {
  const files = readdirSync(examples).filter((f) => f.endsWith(".ts")).sort();
  assert.deepEqual(files, Object.keys(EXPECTED).sort());
});

for (const [file, patterns] of Object.entries(EXPECTED)) {
  Deno.test(`examples/${file} runs and says what it claims`, async () => {
    const command = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net=127.0.0.1", "--allow-env", "--allow-read", examples + file],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    });
    const { code, stdout, stderr } = await command.output();
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    for (const pattern of patterns) assert.match(out, pattern);
    // Secrets never reach the output: the demo's and the examples' passwords.
    for (const secret of ["demo-secret", "secret\n", "response=0", "response=1"]) {
      assert.ok(!out.includes(secret), `${file} printed ${secret.trim()}`);
    }
  });
}
