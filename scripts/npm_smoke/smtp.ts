// Type-checked against the installed @saslkit/smtp .d.ts files; see README.md.
import { authenticate, type AuthResult, SmtpAuthError } from "@saslkit/smtp";
import { parseEhloAuth } from "@saslkit/smtp/low-level";
import { startTestServer, type TestServer } from "@saslkit/smtp/test-server";

const mechanisms: string[] = parseEhloAuth(["250 AUTH PLAIN"] as const);
if (mechanisms[0] !== "PLAIN") throw new Error("PLAIN expected");

export async function run(): Promise<string> {
  const server: TestServer = await startTestServer();
  try {
    const result: AuthResult = await authenticate({
      host: "mail.example.com",
      port: server.port,
      security: "none",
      credentials: { username: "smtpuser", password: "secret" },
      digestMd5: { qop: ["auth-int"] },
    });
    await result.session.quit();
    return result.outcome.qop;
  } catch (error) {
    if (error instanceof SmtpAuthError) return error.attempts.map((a) => a.result).join();
    throw error;
  } finally {
    await server.close();
  }
}

export { mechanisms };
