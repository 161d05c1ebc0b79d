import assert from "node:assert/strict";
import { authenticate, SmtpAuthError } from "./policy.ts";
import type { TranscriptEntry } from "./transcript.ts";
import { startTestServer, type TestServer, type TestServerOptions } from "./test_server.ts";
import { connectTcp } from "./transport.ts";

// OAUTHBEARER and XOAUTH2 through the policy, against the embedded server: the error challenge
// is acknowledged, the 535 that follows is read with the mechanism's serverError, and a token
// provider is asked once more for a fresh token.

async function withServer(
  options: TestServerOptions,
  run: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startTestServer({ users: {}, requireAuth: true, ...options });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

const via = (server: TestServer) => () => connectTcp({ host: server.hostname, port: server.port });
const results = (attempts: readonly { mechanism: string; result: string }[]) =>
  attempts.map((a) => `${a.mechanism}:${a.result}`);

for (const mechanism of ["OAUTHBEARER", "XOAUTH2"]) {
  Deno.test(`${mechanism}: a stale token, then a fresh one from the provider`, async () => {
    await withServer(
      { mechanisms: [mechanism], tokens: { "ya29.fresh": "user@example.com" } },
      async (server) => {
        const asked: boolean[] = [];
        const lines: TranscriptEntry[] = [];
        const { session, attempts } = await authenticate({
          host: "mail.example.com",
          port: server.port,
          connect: via(server),
          security: "none",
          allowCleartext: true,
          credentials: {
            kind: "oauth",
            username: "user@example.com",
            token: ({ refresh }) => (asked.push(refresh), refresh ? "ya29.fresh" : "ya29.stale"),
          },
          mechanisms: [mechanism],
          transcript: (entry) => lines.push(entry),
          timeoutMs: 5000,
        });
        assert.deepEqual(asked, [false, true]);
        assert.deepEqual(results(attempts), [
          `${mechanism}:bad-credentials`,
          `${mechanism}:authenticated`,
        ]);
        await session.sendMail({ from: "user@example.com", to: ["b@example.com"], data: "hi" });
        await session.quit();
        assert.equal(server.messages[0].authenticatedAs, "user@example.com");
        assert.equal(server.messages[0].mechanism, mechanism);
        // Neither token reaches the client's transcript or the server's.
        const text = [
          ...lines.map((l) => l.text),
          ...server.transcript.map((l) => l.line),
        ].join("\n");
        assert.ok(!text.includes("ya29.stale") && !text.includes("ya29.fresh"), text);
        assert.match(text, /Bearer \*\*\*/);
      },
    );
  });
}

Deno.test("OAUTHBEARER: a string token cannot be refreshed: one attempt, 535", async () => {
  await withServer(
    { mechanisms: ["OAUTHBEARER"], tokens: { good: "u@example.com" } },
    async (server) => {
      const error = await authenticate({
        host: "mail.example.com",
        port: server.port,
        connect: via(server),
        security: "none",
        allowCleartext: true,
        credentials: { kind: "oauth", username: "u@example.com", token: "expired" },
        mechanisms: ["OAUTHBEARER"],
        timeoutMs: 5000,
      }).catch((e) => e);
      assert.ok(error instanceof SmtpAuthError);
      assert.deepEqual(results(error.attempts), ["OAUTHBEARER:bad-credentials"]);
      assert.equal(error.attempts[0].reply?.code, 535);
      assert.equal(server.connections, 1);
    },
  );
});
