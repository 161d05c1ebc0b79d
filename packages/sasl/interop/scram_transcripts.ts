/**
 * SCRAM transcripts recorded from real peers talking to each other (no saslkit in the loop):
 * Cyrus client ↔ Cyrus server, gsasl client ↔ gsasl server, Cyrus client ↔ PostgreSQL. The
 * offline test (`scram_transcripts_test.ts`) replays each one with saslkit on either side, with
 * the recorded nonces and salt, and expects every message byte for byte.
 *
 * Regenerate (needs the peers):
 *
 *   npx deno run -A packages/sasl/interop/scram_transcripts.ts
 *
 * @module
 */

import { tlsServerEndPoint } from "../channel_binding.ts";
import { runPeers, startPeer } from "./peer.ts";
import { startCluster } from "./postgres/cluster.ts";
import { authenticate, connectTls } from "./postgres/pg_wire.ts";
import { bindingData, cyrusPeer, gsaslPeer, hex } from "./scram_peers.ts";

/** One recorded exchange. */
export interface ScramTranscript {
  /** File name without `.json`. */
  readonly name: string;
  /** Who talked: `Cyrus SASL 2.1.28 client -> Cyrus SASL 2.1.28 server`… */
  readonly peers: string;
  readonly mechanism: string;
  readonly hash: "SHA-1" | "SHA-256" | "SHA-512";
  readonly username: string;
  readonly password: string;
  readonly authzid?: string;
  /** Channel binding both sides used (data in hex). */
  readonly channelBinding?: { readonly type: string; readonly data: string };
  /** client-first, server-first, client-final, server-final, as text. */
  readonly messages: readonly string[];
}

const DIR = new URL("../testdata/scram/", import.meta.url);
const USER = "chris";
const PASSWORD = "pencil and paper";

/** Loads every transcript in testdata/scram/. */
export function loadScramTranscripts(): ScramTranscript[] {
  const out: ScramTranscript[] = [];
  for (const entry of Deno.readDirSync(DIR)) {
    if (!entry.name.endsWith(".json")) continue;
    out.push(JSON.parse(Deno.readTextFileSync(new URL(entry.name, DIR))));
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const decoder = new TextDecoder();

async function peerPair(
  clientCommand: readonly string[],
  serverCommand: readonly string[],
  mechanism: string,
  options: { authzid?: string; cbType?: string },
): Promise<string[]> {
  const cb = options.cbType
    ? { cbType: options.cbType, cbData: hex(bindingData(options.cbType)) }
    : {};
  const base = {
    mechanism,
    username: USER,
    password: PASSWORD,
    service: "smtp",
    host: "mail.example.com",
    qop: "auth",
    ...cb,
  };
  const server = await startPeer(serverCommand, { ...base, role: "server" });
  const client = await startPeer(clientCommand, {
    ...base,
    role: "client",
    authzid: options.authzid,
  });
  try {
    const result = await runPeers(client, server, { initialResponse: true });
    // Drop the client's empty answer to the server-final message.
    return result.messages.filter((m) => m.data.length > 0).map((m) => decoder.decode(m.data));
  } finally {
    await client.close();
    await server.close();
  }
}

async function main(): Promise<void> {
  const cyrus = cyrusPeer();
  const gsasl = gsaslPeer();
  if (!cyrus.ok) throw new Error(cyrus.reason);
  if (!gsasl.ok) throw new Error(gsasl.reason);
  const transcripts: ScramTranscript[] = [];
  const hashOf = (m: string) => (m.match(/SHA-(1|256|512)/)![0]) as ScramTranscript["hash"];

  for (
    const { mechanism, cbType, authzid } of [
      { mechanism: "SCRAM-SHA-1", authzid: "admin" },
      { mechanism: "SCRAM-SHA-256" },
      { mechanism: "SCRAM-SHA-512", authzid: "admin" },
      { mechanism: "SCRAM-SHA-256-PLUS", cbType: "tls-unique" },
      { mechanism: "SCRAM-SHA-512-PLUS", cbType: "tls-unique", authzid: "admin" },
    ]
  ) {
    transcripts.push({
      name: `cyrus-${mechanism.toLowerCase()}${cbType ? `-${cbType}` : ""}`,
      peers: `${cyrus.version} client -> ${cyrus.version} server`,
      mechanism,
      hash: hashOf(mechanism),
      username: USER,
      password: PASSWORD,
      authzid,
      channelBinding: cbType ? { type: cbType, data: hex(bindingData(cbType)) } : undefined,
      messages: await peerPair(cyrus.command, cyrus.command, mechanism, { authzid, cbType }),
    });
  }

  for (
    const { mechanism, cbType } of [
      { mechanism: "SCRAM-SHA-1" },
      { mechanism: "SCRAM-SHA-256-PLUS", cbType: "tls-exporter" },
    ]
  ) {
    transcripts.push({
      name: `gsasl-${mechanism.toLowerCase()}${cbType ? `-${cbType}` : ""}`,
      peers: `${gsasl.version} client -> ${gsasl.version} server`,
      mechanism,
      hash: hashOf(mechanism),
      username: USER,
      password: PASSWORD,
      authzid: "admin",
      channelBinding: cbType ? { type: cbType, data: hex(bindingData(cbType)) } : undefined,
      messages: await peerPair(gsasl.command, gsasl.command, mechanism, {
        authzid: "admin",
        cbType,
      }),
    });
  }

  const started = await startCluster({ user: USER, password: PASSWORD });
  if (!started.ok) throw new Error(started.reason);
  const cluster = started.cluster;
  try {
    for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"]) {
      const tls = await connectTls(cluster.host, cluster.port, cluster.certificate.pem);
      // The certificate is RSA/SHA-256, so tls-server-end-point is its SHA-256.
      const endPoint = hex(tlsServerEndPoint(tls.certificate));
      const plus = mechanism.endsWith("-PLUS");
      const peer = await startPeer(cyrus.command, {
        role: "client",
        mechanism,
        username: USER,
        password: PASSWORD,
        service: "postgres",
        host: "127.0.0.1",
        qop: "auth",
        ...(plus ? { cbType: "tls-server-end-point", cbData: endPoint } : {}),
      });
      try {
        const result = await authenticate(tls, USER, "postgres", {
          async start() {
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
          },
        });
        if (!result.authenticated) throw new Error(JSON.stringify(result.error));
        transcripts.push({
          name: `postgres-${mechanism.toLowerCase()}`,
          peers: `${cyrus.version} client -> PostgreSQL ${result.parameters.server_version}`,
          mechanism,
          hash: "SHA-256",
          username: USER,
          password: PASSWORD,
          channelBinding: plus ? { type: "tls-server-end-point", data: endPoint } : undefined,
          messages: result.messages.map((m) => decoder.decode(m.data)),
        });
      } finally {
        await peer.close();
      }
    }
  } finally {
    await cluster.stop();
  }

  Deno.mkdirSync(DIR, { recursive: true });
  for (const t of transcripts) {
    if (t.messages.length !== 4) throw new Error(`${t.name}: ${t.messages.length} messages`);
    // Keys in a stable order; undefined members drop out.
    Deno.writeTextFileSync(new URL(`${t.name}.json`, DIR), JSON.stringify(t, null, 2) + "\n");
    console.log(`wrote testdata/scram/${t.name}.json`);
  }
}

if (import.meta.main) await main();
