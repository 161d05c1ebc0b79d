/**
 * The `saslkit-smtp probe` command against the embedded test server, here told to drop the
 * connection after `235` for DIGEST-MD5 and to refuse CRAM-MD5 although it advertises it.
 *
 * Run: `deno run --allow-net=127.0.0.1 --allow-env examples/probe_test_server.ts`
 *
 * @module
 */

import { main } from "@saslkit/smtp/cli";
import { startTestServer } from "@saslkit/smtp/test-server";

const server = await startTestServer({
  behaviour: { dropAfterAuth: ["DIGEST-MD5"], rejectAdvertised: ["CRAM-MD5"] },
});
try {
  const status = await main(
    [
      "probe",
      "--host",
      server.hostname,
      "--port",
      String(server.port),
      "--servername",
      "mail.example.com",
      "--user",
      "smtpuser",
      "--password-env",
      "DEMO_PASSWORD",
      "--allow-cleartext",
    ],
    { env: { DEMO_PASSWORD: "secret" } },
  );
  console.log(`probe exit status: ${status}`);
} finally {
  await server.close();
}
