// SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (tls-server-end-point) against PostgreSQL 15: a private
// cluster (postgres/cluster.ts: initdb in a temporary folder, 127.0.0.1, a free port, TLS with a
// self-signed certificate openssl makes now, scram-sha-256 only) and a minimal startup exchange
// over its wire protocol (postgres/pg_wire.ts). PostgreSQL is the only real server here with
// tls-server-end-point; the binding data comes from the certificate's DER as node:tls hands it.
//
// One test with steps, so that the cluster is stopped whatever happens. The harness is proven
// with Cyrus's SCRAM client first, then saslkit's client takes its place.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { tlsServerEndPoint } from "../channel_binding.ts";
import { SaslError } from "../error.ts";
import type { ClientMechanism, SaslOutcome } from "../mechanism.ts";
import { MechanismRegistry } from "../registry.ts";
import {
  loadSaslprep,
  ScramClient,
  type ScramClientOptions,
  scramMechanisms,
} from "../scram/mod.ts";
import { type Peer, startPeer } from "./peer.ts";
import { type Cluster, pemToDer, startCluster } from "./postgres/cluster.ts";
import { authenticate, connectTls, type PgSaslClient } from "./postgres/pg_wire.ts";
import {
  announceUnavailable,
  CI,
  cyrusPeer,
  ensureScramPeers,
  hex,
  type PeerAvailability,
} from "./scram_peers.ts";

const HINT = "Run scripts/peers/scram_peers.sh as root (apt-get install postgresql-15 openssl).";
const USER = "chris";
const PASSWORD = "pencil and paper";
/** A second role whose password SASLprep changes: soft hyphen mapped out, U+2168 to "IX". */
const PREP_USER = "jos\u00e9";
const PREP_PASSWORD = "c\u00e4r\u00adot \u2168";
const PREP_PASSWORD_PREPARED = "c\u00e4rot IX";

const cyrus = cyrusPeer();
const decoder = new TextDecoder();
const text = (bytes: Uint8Array) => decoder.decode(bytes);

/** A Cyrus SCRAM client (the line-protocol peer) as the wire driver's client. */
function cyrusClient(peer: Peer, mechanism: string): PgSaslClient {
  return {
    async start(offered) {
      assert.ok(offered.includes(mechanism), `server offers ${offered}`);
      return { mechanism, initial: (await peer.expect("C")).data };
    },
    async next(challenge) {
      peer.send(challenge);
      return (await peer.expect("C")).data;
    },
    async finish(data) {
      peer.send(data);
      const message = await peer.read();
      if (message.kind === "C") await peer.expect("OK");
      else if (message.kind !== "OK") throw new Error(`Cyrus client: ${JSON.stringify(message)}`);
    },
  };
}

/**
 * A saslkit client mechanism as the wire driver's client, made when AuthenticationSASL has
 * named the server's mechanisms; `record.outcome` gets what finish() returned.
 */
function negotiatedClient(
  choose: (offered: readonly string[]) => ClientMechanism | Promise<ClientMechanism>,
  record: { outcome?: SaslOutcome } = {},
): PgSaslClient {
  let client: ClientMechanism | undefined;
  return {
    async start(offered) {
      client = await choose(offered);
      assert.ok(offered.includes(client.name), `server offers ${offered}`);
      return { mechanism: client.name, initial: client.start()! };
    },
    next: async (challenge) => await client!.next(challenge),
    finish(data) {
      record.outcome = client!.finish(data);
      return Promise.resolve();
    },
  };
}

/** One saslkit client, whatever the server offers. */
function saslkitClient(client: ClientMechanism, record?: { outcome?: SaslOutcome }): PgSaslClient {
  return negotiatedClient(() => client, record);
}

async function runSaslkit(
  cluster: Cluster,
  options: Omit<ScramClientOptions, "hash" | "username" | "password"> & {
    user?: string;
    password?: string;
    binding?: (der: Uint8Array) => Uint8Array;
  } = {},
) {
  const tls = await connectTls(cluster.host, cluster.port, cluster.certificate.pem);
  const { user = USER, password = PASSWORD, binding, ...rest } = options;
  const client = new ScramClient({
    hash: "SHA-256",
    username: user,
    password,
    ...(binding
      ? {
        channelBinding: { type: "tls-server-end-point", data: binding(tls.certificate) },
        serverOffersPlus: true,
      }
      : {}),
    ...rest,
  });
  const record: { outcome?: SaslOutcome } = {};
  const result = await authenticate(tls, user, "postgres", saslkitClient(client, record));
  return { result, client, outcome: record.outcome };
}

/** RFC 5929 §4.1 for the certificates made here (signed with SHA-256 or SHA-384). */
function endPointHash(der: Uint8Array, digest: string): Uint8Array {
  const hash = digest === "md5" || digest === "sha1" ? "sha256" : digest;
  return new Uint8Array(createHash(hash).update(der).digest());
}

async function runCyrus(
  cluster: Cluster,
  mechanism: string,
  password: string,
  cbData?: (der: Uint8Array) => Uint8Array,
) {
  if (!cyrus.ok) throw new Error(`the Cyrus peer is needed for the harness: ${cyrus.reason}`);
  const tls = await connectTls(cluster.host, cluster.port, cluster.certificate.pem);
  const peer = await startPeer(cyrus.command, {
    role: "client",
    mechanism,
    username: USER,
    password,
    service: "postgres",
    host: cluster.host,
    qop: "auth",
    ...(cbData ? { cbType: "tls-server-end-point", cbData: hex(cbData(tls.certificate)) } : {}),
  });
  try {
    return await authenticate(tls, USER, "postgres", cyrusClient(peer, mechanism));
  } finally {
    await peer.close();
  }
}

function postgresAvailable(): PeerAvailability {
  const install = ensureScramPeers();
  return install ? { ok: false, reason: install } : { ok: true, command: [], version: "" };
}

const availability = postgresAvailable();
if (!availability.ok) announceUnavailable("PostgreSQL", availability.reason, HINT);

Deno.test({
  name: "postgres live: SCRAM over the wire protocol",
  ignore: !availability.ok && !CI,
  async fn(t) {
    if (!availability.ok) throw new Error(`PostgreSQL cannot start: ${availability.reason}`);
    const started = await startCluster({ user: USER, password: PASSWORD });
    if (!started.ok) throw new Error(`PostgreSQL cannot start: ${started.reason}`);
    const cluster = started.cluster;
    try {
      cluster.psql(
        `CREATE ROLE "${PREP_USER}" LOGIN PASSWORD '${PREP_PASSWORD}'`,
      );

      // ------------------------------------------------------ the harness, with Cyrus's client
      await t.step({
        name: "harness: Cyrus client, SCRAM-SHA-256",
        ignore: !cyrus.ok && !CI,
        fn: async () => {
          const result = await runCyrus(cluster, "SCRAM-SHA-256", PASSWORD);
          assert.deepEqual(result.offered, ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]);
          assert.equal(result.error, undefined);
          assert.equal(result.authenticated, true);
          assert.match(result.parameters.server_version, /^15\./);
          assert.equal(text(result.messages[0].data).slice(0, 3), "n,,");
        },
      });

      await t.step({
        name: "harness: Cyrus client, SCRAM-SHA-256-PLUS tls-server-end-point",
        ignore: !cyrus.ok && !CI,
        fn: async () => {
          const digest = cluster.certificate.digest;
          const result = await runCyrus(
            cluster,
            "SCRAM-SHA-256-PLUS",
            PASSWORD,
            (der) => endPointHash(der, digest),
          );
          assert.equal(result.error, undefined);
          assert.equal(result.authenticated, true);
          assert.ok(text(result.messages[0].data).startsWith("p=tls-server-end-point,,"));
        },
      });

      await t.step({
        name: "harness: PostgreSQL refuses Cyrus's wrong end-point hash",
        ignore: !cyrus.ok && !CI,
        fn: async () => {
          const result = await runCyrus(cluster, "SCRAM-SHA-256-PLUS", PASSWORD, (der) => {
            const hash = endPointHash(der, "sha256");
            hash[0] ^= 1;
            return hash;
          });
          assert.equal(result.authenticated, false);
          assert.deepEqual(result.error, {
            severity: "FATAL",
            code: "28000",
            message: "SCRAM channel binding check failed",
          });
        },
      });

      // ------------------------------------------------------------------ saslkit's client
      await t.step("saslkit client, SCRAM-SHA-256", async () => {
        const { result, outcome } = await runSaslkit(cluster);
        assert.equal(result.error, undefined);
        assert.equal(result.authenticated, true);
        assert.equal(result.mechanism, "SCRAM-SHA-256");
        assert.equal(outcome?.mechanism, "SCRAM-SHA-256");
        assert.equal(outcome?.authenticationId, USER);
        assert.ok(text(result.messages[0].data).startsWith(`n,,n=${USER},r=`));
        assert.match(text(result.messages.at(-1)!.data), /^v=/);
      });

      await t.step(
        "saslkit client, SCRAM-SHA-256-PLUS tls-server-end-point (RSA, SHA-256)",
        async () => {
          const { result } = await runSaslkit(cluster, { binding: tlsServerEndPoint });
          assert.equal(result.error, undefined);
          assert.equal(result.authenticated, true);
          assert.equal(result.mechanism, "SCRAM-SHA-256-PLUS");
          assert.ok(text(result.messages[0].data).startsWith("p=tls-server-end-point,,"));
        },
      );

      await t.step("saslkit client with a wrong password: 28P01", async () => {
        const { result, outcome } = await runSaslkit(cluster, { password: "pencil and pen" });
        assert.equal(result.authenticated, false);
        assert.deepEqual(result.error, {
          severity: "FATAL",
          code: "28P01",
          message: `password authentication failed for user "${USER}"`,
        });
        assert.equal(result.messages.length, 3); // no server-final: the client never finished
        assert.equal(outcome, undefined);
      });

      await t.step("saslkit client binding another certificate: 28000", async () => {
        const { result } = await runSaslkit(cluster, {
          binding: (der) => {
            const hash = tlsServerEndPoint(der);
            hash[hash.length - 1] ^= 0x80;
            return hash;
          },
        });
        assert.equal(result.authenticated, false);
        assert.deepEqual(result.error, {
          severity: "FATAL",
          code: "28000",
          message: "SCRAM channel binding check failed",
        });
      });

      await t.step("saslkit client that could bind but says y: PostgreSQL refuses", async () => {
        const tls = await connectTls(cluster.host, cluster.port, cluster.certificate.pem);
        const client = new ScramClient({
          hash: "SHA-256",
          username: USER,
          password: PASSWORD,
          channelBinding: {
            type: "tls-server-end-point",
            data: tlsServerEndPoint(tls.certificate),
          },
        });
        assert.equal(client.name, "SCRAM-SHA-256");
        const result = await authenticate(tls, USER, "postgres", saslkitClient(client));
        assert.ok(text(result.messages[0].data).startsWith("y,,"));
        assert.equal(result.authenticated, false);
        // Refused at the client-first message: no server-first was sent.
        assert.equal(result.messages.length, 1);
        assert.deepEqual(result.error, {
          severity: "FATAL",
          code: "28000",
          message: "SCRAM channel binding negotiation error",
        });
      });

      await t.step(
        "registry: SCRAM-SHA-256-PLUS negotiated from PostgreSQL's list, descriptor client logs in",
        async () => {
          const registry = new MechanismRegistry(scramMechanisms);
          const credentials = { username: USER, password: PASSWORD };
          for (const strip of [false, true]) {
            const tls = await connectTls(cluster.host, cluster.port, cluster.certificate.pem);
            const channelBindings = { "tls-server-end-point": tlsServerEndPoint(tls.certificate) };
            let chosen = "";
            const client = negotiatedClient((offered) => {
              // strip: what a man in the middle who removed -PLUS from the list would leave.
              const seen = strip ? offered.filter((m) => !m.endsWith("-PLUS")) : offered;
              const { order } = registry.negotiate({
                offered: seen,
                credentials,
                secure: true,
                channelBindingTypes: ["tls-server-end-point"],
              });
              chosen = order[0].name;
              return order[0].createClient(credentials, {
                service: "postgresql",
                host: cluster.host,
                secure: true,
                channelBindings,
                offered: seen,
              });
            });
            const result = await authenticate(tls, USER, "postgres", client);
            if (!strip) {
              assert.equal(chosen, "SCRAM-SHA-256-PLUS");
              assert.equal(result.error, undefined);
              assert.equal(result.authenticated, true);
            } else {
              // The client could bind and says so (y); PostgreSQL offered -PLUS and refuses.
              assert.equal(chosen, "SCRAM-SHA-256");
              assert.ok(text(result.messages[0].data).startsWith("y,,"));
              assert.equal(result.error?.message, "SCRAM channel binding negotiation error");
            }
          }
        },
      );

      await t.step("SASLprep: PostgreSQL and saslkit prepare the password alike", async () => {
        await loadSaslprep(); // the ScramClient constructor below gets non-ASCII passwords
        for (const password of [PREP_PASSWORD, PREP_PASSWORD_PREPARED]) {
          const { result } = await runSaslkit(cluster, { user: PREP_USER, password });
          assert.equal(result.error, undefined, JSON.stringify(password));
          assert.equal(result.authenticated, true);
        }
        const { result } = await runSaslkit(cluster, { user: PREP_USER, password: "cärot" });
        assert.equal(result.error?.code, "28P01");
      });

      await t.step("SASLprep: a prohibited password fails in saslkit before any I/O", () => {
        assert.throws(
          () => new ScramClient({ hash: "SHA-256", username: USER, password: "bell" }),
          (error) => error instanceof SaslError && error.code === "invalid-argument",
        );
      });

      await t.step(
        "saslkit client, SCRAM-SHA-256-PLUS after a switch to an ECDSA P-384 / SHA-384 certificate",
        async () => {
          const made = await cluster.rotateCertificate("ec:secp384r1", "sha384");
          const der = pemToDer(made.pem);
          assert.deepEqual(tlsServerEndPoint(der), endPointHash(der, "sha384"));
          assert.equal(tlsServerEndPoint(der).length, 48);
          const { result } = await runSaslkit(cluster, { binding: tlsServerEndPoint });
          assert.equal(result.error, undefined);
          assert.equal(result.authenticated, true);
          // And the SHA-256 of the same DER, the wrong hash for this certificate, is refused.
          const wrong = await runSaslkit(cluster, { binding: (d) => endPointHash(d, "sha256") });
          assert.equal(wrong.result.error?.message, "SCRAM channel binding check failed");
        },
      );

      await t.step("harness: the served certificate is the one made for this run", async () => {
        const tls = await connectTls(cluster.host, cluster.port, cluster.certificate.pem);
        tls.socket.destroy();
        assert.deepEqual(tls.certificate, pemToDer(cluster.certificate.pem));
      });
    } finally {
      await cluster.stop();
    }
  },
});
