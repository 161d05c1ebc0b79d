// The quick starts of the root README and of this package's README run as written: the `serve`
// block is started, the `send` block run with bash, and the message must land in the folder.
// Only the port (2525, which may be taken) and the folder (put in a temporary directory) are
// substituted; the package README's `npx saslkit-smtp` is this checkout's CLI, as its README says.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHECKOUT_CLI = "npx deno run -A packages/smtp/cli.ts";

function quickStartBlocks(readme: string): string[] {
  const text = readFileSync(join(ROOT, readme), "utf8");
  const start = text.indexOf("\n## Quick start\n");
  assert.ok(start >= 0, `${readme} has no Quick start section`);
  const end = text.indexOf("\n## ", start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function collect(child: ChildProcess): () => string {
  let output = "";
  child.stdout?.on("data", (chunk) => output += chunk);
  child.stderr?.on("data", (chunk) => output += chunk);
  return () => output;
}

async function runQuickStart(readme: string, cli: string): Promise<void> {
  const blocks = quickStartBlocks(readme);
  assert.equal(blocks.length, 2, `${readme}: a serve block and a send block`);
  const [serveBlock, sendBlock] = blocks;
  assert.match(serveBlock, / serve --port 2525 --folder received/);
  assert.match(sendBlock, / send --host 127\.0\.0\.1:2525 /);
  const dir = mkdtempSync(join(tmpdir(), "saslkit-quick-start-"));
  const port = String(await freePort());
  const adapt = (block: string) =>
    block.replaceAll(cli, CHECKOUT_CLI).replaceAll("2525", port)
      .replaceAll(" received", ` ${join(dir, "received")}`);
  // A process group of its own, so that npx and the deno it starts are stopped together.
  const server = spawn("bash", ["-c", adapt(serveBlock)], { cwd: ROOT, detached: true });
  const serverOutput = collect(server);
  try {
    const deadline = Date.now() + 30_000;
    while (!/listening on 127\.0\.0\.1:/.test(serverOutput())) {
      assert.ok(server.exitCode === null, `serve exited: ${serverOutput()}`);
      assert.ok(Date.now() < deadline, `serve did not start: ${serverOutput()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const send = spawn("bash", ["-e", "-c", adapt(sendBlock)], { cwd: ROOT });
    const sendOutput = collect(send);
    const code = await new Promise((resolve) => send.on("close", resolve));
    assert.equal(code, 0, sendOutput());
    assert.match(sendOutput(), /Authenticated as smtpuser with DIGEST-MD5/);
    assert.match(sendOutput(), /^5AQK00000001\.eml$/m); // the `ls` of the block
    assert.doesNotMatch(sendOutput() + serverOutput(), /response=[0-9a-f]{32}/);
    assert.deepEqual(readdirSync(join(dir, "received")), ["5AQK00000001.eml"]);
    const eml = readFileSync(join(dir, "received", "5AQK00000001.eml"), "utf8");
    assert.match(eml, /^Subject: Hello from saslkit\r$/m);
    assert.match(eml, /\r\n\r\nIt works\.\r\n$/);
  } finally {
    if (server.exitCode === null) {
      const closed = new Promise((resolve) => server.on("close", resolve));
      process.kill(-server.pid!, "SIGTERM");
      await closed;
    }
    rmSync(dir, { recursive: true, force: true });
  }
  assert.match(serverOutput(), /Message 5AQK00000001 from <a@example\.com>/);
  assert.ok(!existsSync(join(ROOT, "received")), "nothing written into the checkout");
}

Deno.test("the root README's quick start runs as written", async () => {
  await runQuickStart("README.md", CHECKOUT_CLI);
});

Deno.test("the @saslkit/smtp README's quick start runs as written", async () => {
  await runQuickStart("packages/smtp/README.md", "npx saslkit-smtp");
});
