// SCRAM against Cyrus SASL 2.1.28's libscram (Debian's libsasl2-modules: what Postfix, Sendmail,
// Cyrus IMAP and OpenLDAP use), live through the C peer in cyrus/sasl_peer.c: saslkit's client
// against Cyrus's server and Cyrus's client against saslkit's server, for SCRAM-SHA-1, -256 and
// -512, plain and -PLUS. libscram takes the channel-binding name and bytes from the application
// (SASL_CHANNEL_BINDING), so -PLUS runs with tls-unique-style bytes both sides agree on.
//
// The peer needs cc, libsasl2-dev and the SCRAM and sasldb plugins (scripts/peers/sasl_dev.sh
// installs them as root); without them these tests fail under CI=true and are skipped, loudly,
// elsewhere.

import assert from "node:assert/strict";
import {
  deriveScramCredentials,
  ScramClient,
  type ScramCredentials,
  type ScramHash,
  ScramServer,
  ScramServerError,
} from "../scram/mod.ts";
import {
  PeerError,
  runClientWithPeerServer,
  runPeerClientWithServer,
  type ServerExchangeResult,
  startPeer,
} from "./peer.ts";
import { bindingData, cyrusPeer, hex, liveTests } from "./scram_peers.ts";

const live = liveTests(
  "cyrus scram",
  cyrusPeer(),
  "Run scripts/peers/sasl_dev.sh as root to install libsasl2-dev and libsasl2-modules.",
);

const USER = "chris";
const PASSWORD = "pencil and paper";
const AUTHZID = "admin";
const SERVICE = "smtp";
const HOST = "mail.example.com";
const CB_TYPE = "tls-unique";
const HASHES: readonly ScramHash[] = ["SHA-1", "SHA-256", "SHA-512"];

const decoder = new TextDecoder();
const text = (bytes: Uint8Array) => decoder.decode(bytes);

const stored = new Map<ScramHash, Promise<ScramCredentials>>();
function credentials(hash: ScramHash): Promise<ScramCredentials> {
  let entry = stored.get(hash);
  if (!entry) stored.set(hash, entry = deriveScramCredentials(PASSWORD, { hash }));
  return entry;
}

function mechanism(hash: ScramHash, plus: boolean): string {
  return `SCRAM-${hash}${plus ? "-PLUS" : ""}`;
}

/** The Cyrus peer's JSON config. */
function cyrusConfig(
  role: "client" | "server",
  hash: ScramHash,
  options: {
    plus?: boolean;
    seed?: number;
    authzid?: string;
    password?: string;
    offered?: string;
  } = {},
) {
  const cb = options.plus || options.offered
    ? { cbType: CB_TYPE, cbData: hex(bindingData(CB_TYPE, options.seed ?? 1)) }
    : {};
  return {
    role,
    mechanism: mechanism(hash, options.plus ?? false),
    username: USER,
    password: options.password ?? PASSWORD,
    authzid: options.authzid,
    service: SERVICE,
    host: HOST,
    qop: "auth",
    offered: options.offered,
    ...cb,
  };
}

async function saslkitServer(
  hash: ScramHash,
  options: { plus?: boolean; bindings?: boolean; seed?: number } = {},
): Promise<ScramServer> {
  const creds = await credentials(hash);
  return new ScramServer({
    hash,
    plus: options.plus ?? false,
    credentials: (username) => username === USER ? creds : undefined,
    channelBindings: options.bindings ?? options.plus
      ? { [CB_TYPE]: bindingData(CB_TYPE, options.seed ?? 1) }
      : undefined,
    authorize: (authcid, authzid) => authcid === USER && authzid === AUTHZID,
  });
}

function saslkitClient(
  hash: ScramHash,
  options: { plus?: boolean; seed?: number; authzid?: string; password?: string } = {},
): ScramClient {
  return new ScramClient({
    hash,
    username: USER,
    password: options.password ?? PASSWORD,
    authorizationId: options.authzid,
    channelBinding: options.plus
      ? { type: CB_TYPE, data: bindingData(CB_TYPE, options.seed ?? 1) }
      : undefined,
    serverOffersPlus: options.plus ?? false,
  });
}

/** The Cyrus client against saslkit's server; on a peer failure, what saslkit's server says. */
async function cyrusClientRun(
  command: readonly string[],
  config: ReturnType<typeof cyrusConfig>,
  server: ScramServer,
): Promise<ServerExchangeResult> {
  const peer = await startPeer(command, config);
  try {
    return await runPeerClientWithServer(peer, server, { initialResponse: true });
  } finally {
    await peer.close();
  }
}

// ------------------------------------------------------------------- every hash, both ways

for (const hash of HASHES) {
  for (const plus of [false, true]) {
    const name = mechanism(hash, plus) + (plus ? ` ${CB_TYPE}` : "");
    // The -PLUS cases also ask for an authorization identity.
    const authzid = plus ? AUTHZID : undefined;

    live(`saslkit client -> Cyrus server: ${name}`, async (command) => {
      const peer = await startPeer(command, cyrusConfig("server", hash, { plus }));
      try {
        const client = saslkitClient(hash, { plus, authzid });
        assert.equal(client.name, mechanism(hash, plus));
        const result = await runClientWithPeerServer(client, peer);
        assert.equal(result.client.mechanism, mechanism(hash, plus));
        assert.equal(result.client.authenticationId, USER);
        assert.equal(result.peer.user, USER);
        assert.equal(result.peer.authzid, authzid);
        assert.equal(result.peer.plugin, mechanism(hash, false));
        const first = text(result.messages[0].data);
        assert.ok(
          first.startsWith(plus ? `p=${CB_TYPE},a=${AUTHZID},n=${USER},` : `n,,n=${USER},`),
        );
        // client-first, server-first, client-final, server-final (v=)
        assert.equal(result.messages.length, 4);
        assert.match(text(result.messages[3].data), /^v=/);
      } finally {
        await peer.close();
      }
    });

    live(`Cyrus client -> saslkit server: ${name}`, async (command) => {
      const server = await saslkitServer(hash, { plus });
      const result = await cyrusClientRun(
        command,
        cyrusConfig("client", hash, { plus, authzid }),
        server,
      );
      assert.equal(result.server.mechanism, mechanism(hash, plus));
      assert.equal(result.server.authenticationId, USER);
      assert.equal(result.server.authorizationId, authzid);
      assert.equal(result.peer.user, USER);
      const first = text(result.messages[0].data);
      assert.ok(first.startsWith(plus ? `p=${CB_TYPE},a=${AUTHZID},n=${USER},` : `n,,n=${USER},`));
    });
  }
}

// ------------------------------------------------------------------------------- failures

/** What Cyrus 2.1.28's client says to any `e=` (it does not parse server-error). */
function cyrusSawServerError(error: unknown): boolean {
  return error instanceof PeerError &&
    error.peerMessage ===
      "sasl_client_step: SASL(-5): bad protocol / cancel: ServerSignature expected in SCRAM-SHA-256 input";
}

live(
  "Cyrus client binds other tls-unique bytes: saslkit server fails channel-binding-mismatch",
  async (command) => {
    const server = await saslkitServer("SHA-256", { plus: true, seed: 2 });
    await assert.rejects(
      cyrusClientRun(command, cyrusConfig("client", "SHA-256", { plus: true }), server),
      cyrusSawServerError,
    );
    assert.throws(
      () => server.outcome(),
      (error) =>
        error instanceof ScramServerError && error.code === "channel-binding-mismatch" &&
        error.serverError === "channel-bindings-dont-match",
    );
  },
);

live("saslkit client binds other tls-unique bytes: Cyrus server refuses", async (command) => {
  const peer = await startPeer(command, cyrusConfig("server", "SHA-256", { plus: true, seed: 2 }));
  try {
    await assert.rejects(
      runClientWithPeerServer(saslkitClient("SHA-256", { plus: true }), peer),
      (error) =>
        error instanceof PeerError &&
        error.peerMessage ===
          "sasl_server_step: SASL(-5): bad protocol / cancel: Channel bindings mismatch in SCRAM-SHA-256",
    );
  } finally {
    await peer.close();
  }
});

live(
  "Cyrus client with a wrong password: saslkit server fails authentication-failed",
  async (command) => {
    const server = await saslkitServer("SHA-256");
    await assert.rejects(
      cyrusClientRun(
        command,
        cyrusConfig("client", "SHA-256", { password: "pencil and pen" }),
        server,
      ),
      cyrusSawServerError,
    );
    assert.throws(
      () => server.outcome(),
      (error) =>
        error instanceof ScramServerError && error.code === "authentication-failed" &&
        error.serverError === "invalid-proof",
    );
  },
);

live("saslkit client with a wrong password: Cyrus server refuses", async (command) => {
  const peer = await startPeer(command, cyrusConfig("server", "SHA-256"));
  try {
    await assert.rejects(
      runClientWithPeerServer(saslkitClient("SHA-256", { password: "pencil and pen" }), peer),
      (error) =>
        error instanceof PeerError &&
        error.peerMessage ===
          "sasl_server_step: SASL(-13): authentication failure: StoredKey mismatch",
    );
  } finally {
    await peer.close();
  }
});

live(
  "Cyrus client that could bind says y: saslkit server offering -PLUS fails channel-binding-downgrade",
  async (command) => {
    // Cyrus negotiates among the offered list; with binding data and no -PLUS offered it sends y.
    const server = await saslkitServer("SHA-256", { bindings: true });
    await assert.rejects(
      cyrusClientRun(
        command,
        cyrusConfig("client", "SHA-256", { offered: "SCRAM-SHA-256 SCRAM-SHA-1" }),
        server,
      ),
      cyrusSawServerError,
    );
    assert.throws(
      () => server.outcome(),
      (error) =>
        error instanceof ScramServerError && error.code === "channel-binding-downgrade" &&
        error.serverError === "server-does-support-channel-binding",
    );
  },
);

live(
  "saslkit client that could bind says y: Cyrus server with binding data refuses",
  async (command) => {
    const peer = await startPeer(command, {
      ...cyrusConfig("server", "SHA-256"),
      cbType: CB_TYPE,
      cbData: hex(bindingData(CB_TYPE)),
    });
    try {
      const client = new ScramClient({
        hash: "SHA-256",
        username: USER,
        password: PASSWORD,
        channelBinding: { type: CB_TYPE, data: bindingData(CB_TYPE) },
      });
      assert.equal(client.name, "SCRAM-SHA-256");
      await assert.rejects(
        runClientWithPeerServer(client, peer),
        (error) =>
          error instanceof PeerError &&
          error.peerMessage ===
            "sasl_server_step: SASL(-13): authentication failure: client incorrectly assumed server had no channel binding",
      );
    } finally {
      await peer.close();
    }
  },
);

// ------------------------------------------- other binding names, names that need escaping

// libscram takes the binding's name from the application, so every type runs the same way.
for (const cbType of ["tls-exporter", "tls-server-end-point"] as const) {
  const data = bindingData(cbType);
  live(`saslkit client -> Cyrus server: SCRAM-SHA-256-PLUS ${cbType}`, async (command) => {
    const peer = await startPeer(command, {
      ...cyrusConfig("server", "SHA-256", { plus: true }),
      cbType,
      cbData: hex(data),
    });
    try {
      const client = new ScramClient({
        hash: "SHA-256",
        username: USER,
        password: PASSWORD,
        channelBinding: { type: cbType, data },
        serverOffersPlus: true,
      });
      const result = await runClientWithPeerServer(client, peer);
      assert.equal(result.client.mechanism, "SCRAM-SHA-256-PLUS");
      assert.ok(text(result.messages[0].data).startsWith(`p=${cbType},,n=${USER},`));
    } finally {
      await peer.close();
    }
  });

  live(`Cyrus client -> saslkit server: SCRAM-SHA-256-PLUS ${cbType}`, async (command) => {
    const creds = await credentials("SHA-256");
    const server = new ScramServer({
      hash: "SHA-256",
      plus: true,
      credentials: (username) => username === USER ? creds : undefined,
      channelBindings: { [cbType]: data },
    });
    const result = await cyrusClientRun(
      command,
      { ...cyrusConfig("client", "SHA-256", { plus: true }), cbType, cbData: hex(data) },
      server,
    );
    assert.equal(result.server.mechanism, "SCRAM-SHA-256-PLUS");
    assert.ok(text(result.messages[0].data).startsWith(`p=${cbType},,n=${USER},`));
  });
}

// RFC 5802 §5.1: "," and "=" in a saslname travel as "=2C" and "=3D".
const ODD_USER = "ch,ris=x";
const ODD_AUTHZID = "ad=min,1";
const ODD_HEADER = "n,a=ad=3Dmin=2C1,n=ch=2Cris=3Dx,r=";

live(
  "saslkit client -> Cyrus server: username and authzid with , and = are escaped",
  async (command) => {
    const peer = await startPeer(command, {
      ...cyrusConfig("server", "SHA-256"),
      username: ODD_USER,
    });
    try {
      const client = new ScramClient({
        hash: "SHA-256",
        username: ODD_USER,
        password: PASSWORD,
        authorizationId: ODD_AUTHZID,
      });
      const result = await runClientWithPeerServer(client, peer);
      assert.ok(
        text(result.messages[0].data).startsWith(ODD_HEADER),
        text(result.messages[0].data),
      );
      assert.equal(result.peer.user, ODD_USER);
      assert.equal(result.peer.authzid, ODD_AUTHZID);
    } finally {
      await peer.close();
    }
  },
);

live(
  "Cyrus client -> saslkit server: username and authzid with , and = are unescaped",
  async (command) => {
    const creds = await credentials("SHA-256");
    const looked: string[] = [];
    const server = new ScramServer({
      hash: "SHA-256",
      credentials: (username) => {
        looked.push(username);
        return username === ODD_USER ? creds : undefined;
      },
      authorize: (authcid, authzid) => authcid === ODD_USER && authzid === ODD_AUTHZID,
    });
    const result = await cyrusClientRun(
      command,
      { ...cyrusConfig("client", "SHA-256", { authzid: ODD_AUTHZID }), username: ODD_USER },
      server,
    );
    assert.ok(text(result.messages[0].data).startsWith(ODD_HEADER), text(result.messages[0].data));
    assert.deepEqual(looked, [ODD_USER]);
    assert.equal(result.server.authenticationId, ODD_USER);
    assert.equal(result.server.authorizationId, ODD_AUTHZID);
  },
);
