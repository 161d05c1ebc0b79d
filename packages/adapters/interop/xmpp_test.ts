// xmpp.js 0.14 with saslkit's mechanisms against Debian's Prosody 0.12 on 127.0.0.1:
// every mechanism Prosody offers on its SHA-1 and SHA-256 hosts, a wrong password for each, and
// a Prosody that lies (a wrong `v=`, or no server-final at all) for each SCRAM variant.
//
// Under Deno the client trusts the test certificate through a wrapper around node:tls's
// connect (xmpp.js's STARTTLS passes no CA option; Deno ignores NODE_EXTRA_CA_CERTS). Deno's
// node:tls gives no real tls-unique (getFinished answers 32 octets that Prosody refuses), so the
// adapter offers no -PLUS there; the -PLUS runs go through Node, with the adapter bundled by
// `deno bundle` and the certificate in NODE_EXTRA_CA_CERTS.

import { deepEqual as assertEquals, equal, match } from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { client } from "@xmpp/client";
import { useSaslkit, type XmppSaslkitOptions } from "../xmpp/mod.ts";
import { requireProsody, startProsody } from "./prosody.ts";

interface Result {
  online: boolean;
  mechanism?: string;
  code?: string;
  name?: string;
  protocol?: string;
}

// Only for the STARTTLS of xmpp.js to Prosody's hosts (sha1.test, sha256.test).
let trusted = "";
const connect = tls.connect;
// deno-lint-ignore no-explicit-any
(tls as any).connect = (options: any, ...rest: unknown[]) =>
  // deno-lint-ignore no-explicit-any
  (connect as any)(
    trusted && options?.socket && String(options.host).endsWith(".test")
      ? { ...options, ca: trusted }
      : options,
    ...rest,
  );

async function login(
  port: number,
  domain: string,
  username: string,
  password: string,
  options: XmppSaslkitOptions = {},
): Promise<Result> {
  const xmpp = client({
    service: `xmpp://127.0.0.1:${port}`,
    domain,
    username,
    password,
    // No case here waits for a timeout; 500 ms once timed out the first login against a Prosody
    // that had just started listening (a fresh-clone CI run on 2 cores).
    timeout: 10_000,
  });
  xmpp.on("error", () => {});
  let online = false;
  xmpp.on("online", () => (online = true));
  const saslkit = useSaslkit(xmpp, options);
  try {
    await xmpp.start();
    return { online, mechanism: saslkit.outcome?.mechanism };
  } catch (error) {
    const e = error as { code?: string; name?: string };
    return { online, code: e.code, name: e.name };
  } finally {
    await xmpp.stop().catch(() => {});
  }
}

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../testdata/xmpp_node_fixture.mjs", import.meta.url));

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, {
      cwd: ROOT,
      env: { ...Deno.env.toObject(), ...env },
      timeout: 60_000,
    }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

Deno.test({
  name: "xmpp.js + saslkit against Prosody: every mechanism, wrong passwords, a lying server",
  ...requireProsody(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    await using server = await startProsody();
    trusted = server.certificate;
    const { sha1, sha256 } = server.domains;
    const { username, password } = server.user;
    const { wrongSignature, noSignature } = server.liars;
    const hosts = [[sha1, "SCRAM-SHA-1"], [sha256, "SCRAM-SHA-256"]] as const;

    await t.step(
      "Deno: the default order picks SCRAM (no -PLUS: no tls-unique in Deno)",
      async () => {
        for (const [domain, scram] of hosts) {
          assertEquals(await login(server.port, domain, username, password), {
            online: true,
            mechanism: scram,
          });
        }
      },
    );

    await t.step("Deno: each mechanism Prosody offers, right and wrong password", async () => {
      for (const [domain, scram] of hosts) {
        for (const mechanism of [scram, "PLAIN"]) {
          const options = { mechanisms: [mechanism], channelBinding: "disable" } as const;
          assertEquals(
            await login(server.port, domain, username, password, options),
            { online: true, mechanism },
            `${mechanism} on ${domain}`,
          );
          assertEquals(
            await login(server.port, domain, username, "wrong", options),
            { online: false, code: "authentication-failed", name: "SaslError" },
            `${mechanism} on ${domain}, wrong password`,
          );
        }
      }
    });

    await t.step(
      "Deno: a server whose signature is wrong or missing is never reported online",
      async () => {
        for (const [domain] of hosts) {
          assertEquals(await login(server.port, domain, wrongSignature, password), {
            online: false,
            code: "server-verification-failed",
            name: "SaslError",
          });
          assertEquals(await login(server.port, domain, noSignature, password), {
            online: false,
            code: "server-not-verified",
            name: "SaslError",
          });
        }
      },
    );

    await t.step("examples/xmpp.ts logs in to Prosody and says how", async () => {
      const dir = await mkdtemp(join(tmpdir(), "saslkit-xmpp-example-"));
      try {
        const ca = join(dir, "ca.pem");
        await writeFile(ca, server.certificate);
        const out = await run(Deno.execPath(), [
          "run",
          "--allow-net=127.0.0.1",
          "--allow-env",
          "--allow-read",
          "examples/xmpp.ts",
        ], {
          XMPP_SERVICE: `xmpp://127.0.0.1:${server.port}`,
          XMPP_DOMAIN: sha256,
          XMPP_USER: username,
          XMPP_PASSWORD: password,
          XMPP_CA_FILE: ca,
        });
        match(out, /online as alice@sha256\.test\/\S+ with SCRAM-SHA-256; the server proved it/);
        equal(out.includes(password), false);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    await t.step("Node: -PLUS with tls-unique over TLS 1.2, right, wrong and lying", async () => {
      const dir = await mkdtemp(join(tmpdir(), "saslkit-xmpp-"));
      try {
        const bundle = join(dir, "xmpp.mjs");
        const ca = join(dir, "ca.pem");
        await writeFile(ca, server.certificate);
        await run(Deno.execPath(), [
          "bundle",
          "--quiet",
          "--platform",
          "node",
          "packages/adapters/xmpp/mod.ts",
          "-o",
          bundle,
        ]);
        const cases: Record<string, unknown>[] = [];
        const expected: Partial<Result>[] = [];
        for (const [domain, scram] of hosts) {
          const plus = `${scram}-PLUS`;
          const disabled = { mechanisms: [scram], channelBinding: "disable" };
          cases.push(
            { domain, username, password },
            { domain, username, password: "wrong" },
            { domain, username: wrongSignature, password },
            { domain, username: noSignature, password },
            // The base variant next to an offered -PLUS binds nothing ("n"); Prosody agrees.
            { domain, username, password, ...disabled },
          );
          expected.push(
            { online: true, mechanism: plus, protocol: "TLSv1.2" },
            { online: false, code: "authentication-failed", name: "SaslError" },
            { online: false, code: "server-verification-failed", name: "SaslError" },
            { online: false, code: "server-not-verified", name: "SaslError" },
            { online: true, mechanism: scram, protocol: "TLSv1.2" },
          );
        }
        const out = await run("node", [
          FIXTURE,
          bundle,
          JSON.stringify(cases.map((c) => ({ port: server.port, ...c }))),
        ], { NODE_EXTRA_CA_CERTS: ca });
        const results = (JSON.parse(out) as Result[]).map((r) =>
          r.online ? r : { online: r.online, code: r.code, name: r.name }
        );
        assertEquals(results, expected);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
});
