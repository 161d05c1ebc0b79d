/**
 * xmpp.js with saslkit's mechanisms: SCRAM-SHA-256/-1 (with -PLUS where the TLS connection
 * gives `tls-unique`) and PLAIN, the server's signature verified before xmpp.js goes online.
 *
 * Against a server of your own:
 *
 * ```sh
 * XMPP_SERVICE=xmpp://127.0.0.1:5222 XMPP_DOMAIN=example.com XMPP_USER=alice \
 *   XMPP_PASSWORD=… [XMPP_CA_FILE=server-cert.pem] \
 *   deno run --allow-net=127.0.0.1 --allow-env --allow-read examples/xmpp.ts
 * ```
 *
 * (`packages/adapters/interop/xmpp_test.ts` runs it that way against the Prosody it starts.)
 * Without `XMPP_SERVICE` it only shows which mechanisms it would give xmpp.js, and how to run
 * it. xmpp.js comes from node_modules, as `npm ci` installed it.
 *
 * @module
 */

import process from "node:process";
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { client } from "@xmpp/client";
import { useSaslkit } from "@saslkit/adapters/xmpp";

const { XMPP_SERVICE, XMPP_DOMAIN, XMPP_USER, XMPP_PASSWORD, XMPP_CA_FILE } = process.env;

const xmpp = client({
  service: XMPP_SERVICE ?? "xmpp://127.0.0.1:5222",
  domain: XMPP_DOMAIN ?? "example.com",
  username: XMPP_USER ?? "alice",
  password: XMPP_PASSWORD,
});
const saslkit = useSaslkit(xmpp); // before start(): SCRAM (-PLUS first), then PLAIN
console.log(`mechanisms given to xmpp.js, in priority order: ${saslkit.names.join(" ")}`);

if (XMPP_SERVICE === undefined) {
  console.log("no XMPP_SERVICE set: not connecting. To log in to a server, run");
  console.log(
    "  XMPP_SERVICE=xmpp://HOST:5222 XMPP_DOMAIN=DOMAIN XMPP_USER=USER XMPP_PASSWORD=… " +
      "deno run --allow-net --allow-env --allow-read examples/xmpp.ts",
  );
  process.exit(0);
}

if (XMPP_CA_FILE !== undefined) {
  // xmpp.js's STARTTLS passes no CA option to node:tls; under Node, NODE_EXTRA_CA_CERTS does
  // it. Deno ignores that variable, so a private CA is added here.
  const ca = readFileSync(XMPP_CA_FILE, "utf8");
  const connect = tls.connect;
  // deno-lint-ignore no-explicit-any
  (tls as any).connect = (options: any, ...rest: unknown[]) =>
    // deno-lint-ignore no-explicit-any
    (connect as any)(options?.socket ? { ...options, ca } : options, ...rest);
}

xmpp.on("error", () => {}); // start() rejects with the same error
try {
  await xmpp.start();
  const outcome = saslkit.outcome!;
  console.log(
    `online as ${xmpp.jid} with ${outcome.mechanism}; ` +
      (outcome.mechanism.startsWith("SCRAM")
        ? "the server proved it knows the password (v= verified)"
        : "PLAIN over TLS (the server cannot prove anything with PLAIN)"),
  );
} catch (error) {
  const e = error as { name?: string; code?: string; message?: string };
  console.log(`not online: ${e.name} ${e.code ?? ""} ${e.message ?? ""}`);
  process.exitCode = 1;
} finally {
  await xmpp.stop().catch(() => {});
}
