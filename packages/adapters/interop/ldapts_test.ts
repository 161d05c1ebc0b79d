// ldapts 8.2 with saslkit's mechanisms against Debian's OpenLDAP slapd 2.5 (Cyrus SASL) on
// 127.0.0.1: DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256 with the right and a wrong password, the
// mechanism list read from the root DSE, and EXTERNAL over ldaps:// with a client certificate.
// Each bind is checked with the "Who am I?" extended operation (RFC 4532).

import { deepEqual, equal, rejects } from "node:assert/strict";
import { connect as tcpConnect, createServer, type Server } from "node:net";
import { Client } from "ldapts";
import { SaslError } from "@saslkit/sasl";
import { saslBind } from "../ldapts/mod.ts";
import { requireSlapd, startSlapd } from "./slapd.ts";

async function whoami(client: Client): Promise<unknown> {
  const { value } = await client.exop("1.3.6.1.4.1.4203.1.11.3");
  return value;
}

/**
 * A loopback proxy in front of slapd that makes it lie: in the final BindResponse it changes
 * one character of the server's proof, `v=…` (SCRAM) or `rspauth=…` (DIGEST-MD5), right after
 * the serverSaslCreds header (tag 0x87, a one-octet length), so the lengths stay right.
 */
async function lyingProxy(target: string): Promise<{ url: string; server: Server }> {
  const port = Number(new URL(target).port);
  const server = createServer((client) => {
    const upstream = tcpConnect({ host: "127.0.0.1", port });
    client.pipe(upstream);
    upstream.on("data", (chunk: Uint8Array) => {
      const bytes = new Uint8Array(chunk);
      for (let i = 0; i + 10 < bytes.length; i++) {
        if (bytes[i] !== 0x87) continue;
        const text = new TextDecoder().decode(bytes.subarray(i + 2, i + 10));
        const at = text.startsWith("v=") ? i + 4 : text.startsWith("rspauth=") ? i + 10 : -1;
        // "0" or "1": a hex digit and a base64 character, and no other case of either, so a
        // case-insensitive rspauth compare sees the change too.
        if (at > 0 && at < bytes.length) bytes[at] = bytes[at] === 0x30 ? 0x31 : 0x30;
      }
      client.write(bytes);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    url: `ldap://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`,
    server,
  };
}

Deno.test({
  name: "ldapts + saslkit against slapd: DIGEST-MD5, SCRAM-SHA-1/-256, EXTERNAL",
  ...requireSlapd(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    await using server = await startSlapd();
    const credentials = { username: server.user.username, password: server.user.password };

    for (const mechanism of ["DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]) {
      await t.step(
        `${mechanism}: right password binds, wrong one is authentication-failed`,
        async () => {
          const client = new Client({ url: server.url });
          try {
            const result = await saslBind(client, {
              mechanisms: [mechanism],
              credentials,
              host: "localhost",
            });
            equal(result.mechanism, mechanism);
            equal(await whoami(client), `dn:${server.dn}`);
          } finally {
            await client.unbind().catch(() => {});
          }
          const wrong = new Client({ url: server.url });
          try {
            await rejects(
              saslBind(wrong, {
                mechanisms: [mechanism],
                credentials: { ...credentials, password: "wrong" },
              }),
              (error: SaslError) =>
                error instanceof SaslError && error.code === "authentication-failed",
            );
          } finally {
            await wrong.unbind().catch(() => {});
          }
        },
      );
    }

    await t.step(
      "a slapd whose proof is forged (v=, rspauth=) is never reported as bound",
      async () => {
        const proxy = await lyingProxy(server.url);
        try {
          for (const mechanism of ["DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"]) {
            const client = new Client({ url: proxy.url });
            try {
              await rejects(
                saslBind(client, { mechanisms: [mechanism], credentials, host: "localhost" }),
                (error: SaslError) => error.code === "server-verification-failed",
                mechanism,
              );
              // The adapter unbound the connection the server had authenticated.
              equal(client.isConnected, false, mechanism);
            } finally {
              await client.unbind().catch(() => {});
            }
          }
        } finally {
          proxy.server.close();
        }
      },
    );

    await t.step(
      "no list given: the root DSE's list in the registry's order (SCRAM-SHA-256 first)",
      async () => {
        const client = new Client({ url: server.url });
        try {
          const result = await saslBind(client, { credentials });
          deepEqual([result.mechanism, result.failed], ["SCRAM-SHA-256", []]);
          equal(await whoami(client), `dn:${server.dn}`);
        } finally {
          await client.unbind().catch(() => {});
        }
      },
    );

    await t.step(
      "EXTERNAL (the default registry's) over ldaps:// with a TLS client certificate",
      async () => {
        const client = new Client({
          url: server.tlsUrl,
          tlsOptions: { ca: server.tls.ca, cert: server.tls.cert, key: server.tls.key },
        });
        try {
          const result = await saslBind(client, {
            mechanisms: ["EXTERNAL"],
            credentials: { kind: "external" },
            secure: true,
          });
          equal(result.mechanism, "EXTERNAL");
          equal(await whoami(client), `dn:${server.dn}`);
        } finally {
          await client.unbind().catch(() => {});
        }
        // Without a client certificate there is no external identity: slapd refuses EXTERNAL.
        const anonymous = new Client({ url: server.tlsUrl, tlsOptions: { ca: server.tls.ca } });
        try {
          await rejects(
            saslBind(anonymous, {
              mechanisms: ["EXTERNAL"],
              credentials: { kind: "external" },
              secure: true,
            }),
            // slapd: result 7, authMethodNotSupported.
            (error: SaslError) =>
              error instanceof SaslError && error.code === "server-rejected" &&
              /LDAP result 7\b/.test(error.message),
          );
        } finally {
          await anonymous.unbind().catch(() => {});
        }
      },
    );
  },
});
