// GNU SASL 2.2's ANONYMOUS and EXTERNAL clients (the `gsasl` command) against saslkit's
// servers, live. (gsasl's own servers for these two need application callbacks its command
// line does not provide, so only this direction runs.) Needs gsasl (apt install gsasl); without
// it the tests fail under CI=true and are skipped, loudly, elsewhere.

import assert from "node:assert/strict";
import { AnonymousServer, decodeBase64, ExternalServer, SaslError } from "../mod.ts";

const CI = Deno.env.get("CI") === "true";

function gsaslUnavailable(): string | undefined {
  try {
    const out = new Deno.Command("gsasl", { args: ["--version"] }).outputSync();
    return out.success ? undefined : "gsasl --version failed";
  } catch {
    return "gsasl is not installed";
  }
}

const unavailable = gsaslUnavailable();
if (unavailable !== undefined) {
  const bar = "!".repeat(78);
  console.error(
    `\n${bar}\n!! GNU SASL ANONYMOUS/EXTERNAL interop tests ` +
      `${CI ? "FAIL (CI=true)" : "SKIPPED"}: ${unavailable}\n${bar}\n`,
  );
}

/** The client's one message, as gsasl prints it (base64 on the line after the mechanism). */
async function gsaslClientMessage(args: readonly string[]): Promise<Uint8Array> {
  const child = new Deno.Command("gsasl", {
    args: ["--client", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("\n"));
  await writer.close();
  const { stdout, stderr } = await child.output();
  const lines = new TextDecoder().decode(stdout).split("\n");
  assert.ok(lines.length >= 2, `gsasl printed: ${new TextDecoder().decode(stderr)}`);
  return decodeBase64(lines[1]);
}

function liveTest(name: string, fn: () => Promise<void>): void {
  if (unavailable === undefined) Deno.test(`gsasl live: ${name}`, fn);
  else if (CI) {
    Deno.test(`gsasl live: ${name}`, () => {
      throw new Error(`gsasl cannot run: ${unavailable}`);
    });
  } else Deno.test({ name: `gsasl live: ${name}`, ignore: true, fn: () => {} });
}

liveTest("ANONYMOUS: gsasl's traces reach saslkit's server", async () => {
  for (const trace of ["sirhc", "chris@example.com", "Jürgen 例え"]) {
    const message = await gsaslClientMessage(["-m", "ANONYMOUS", "-n", trace]);
    const server = new AnonymousServer();
    assert.equal(server.next(message).done, true, trace);
    assert.equal(server.trace, trace);
    assert.equal(server.outcome().authenticationId, "anonymous");
  }
  // gsasl does not check the trace's form; saslkit's server does (RFC 4505 §2).
  const bad = await gsaslClientMessage(["-m", "ANONYMOUS", "-n", "two@at@signs"]);
  assert.throws(
    () => new AnonymousServer().next(bad),
    (error: unknown) => error instanceof SaslError && error.code === "malformed-response",
  );
});

liveTest("EXTERNAL: gsasl's authzid, or none, reaches saslkit's server", async () => {
  const none = await gsaslClientMessage(["-m", "EXTERNAL"]);
  assert.deepEqual(none, new Uint8Array(0));
  const self = new ExternalServer({ externalIdentity: "CN=alice" });
  assert.equal(self.next(none).done, true);
  assert.equal(self.outcome().authenticationId, "CN=alice");

  const asBob = await gsaslClientMessage(["-m", "EXTERNAL", "-z", "u:bøb"]);
  const server = new ExternalServer({
    externalIdentity: "CN=alice",
    authorize: (id, as) => id === "CN=alice" && as === "u:bøb",
  });
  assert.equal(server.next(asBob).done, true);
  assert.equal(server.outcome().authorizationId, "u:bøb");
});
