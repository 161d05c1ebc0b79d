// Type-checked against the installed @saslkit/sasl .d.ts files; see README.md.
import {
  type ClientMechanism,
  decodeBase64,
  defaultRegistry,
  DigestMd5Client,
  DigestMd5Server,
  encodeBase64,
  frame,
  FrameDecoder,
  PlainClient,
  PlainServer,
  SaslError,
  type SaslErrorCode,
  type SaslOutcome,
  type ServerMechanism,
} from "@saslkit/sasl";
// The ciphers of auth-conf come from their own subpath, so that only those named are bundled.
import {
  allCiphers,
  type DigestCipherSuite,
  rc4,
  tripleDes,
} from "@saslkit/sasl/digest-md5/ciphers";
// Every subpath export's declarations resolve from the tarball.
import { AnonymousClient } from "@saslkit/sasl/anonymous";
import { CramMd5Client } from "@saslkit/sasl/cram-md5";
import { DigestMd5Client as SubpathDigestClient } from "@saslkit/sasl/digest-md5";
import { ExternalClient } from "@saslkit/sasl/external";
import { LoginClient } from "@saslkit/sasl/login";
import { OAuthBearerClient } from "@saslkit/sasl/oauthbearer";
import { PlainClient as SubpathPlainClient } from "@saslkit/sasl/plain";
import { saslprepSync } from "@saslkit/sasl/saslprep";
import { InMemoryScramCache, ScramClient } from "@saslkit/sasl/scram";
import { XOAuth2Client } from "@saslkit/sasl/xoauth2";

const encoded: string = encodeBase64(new Uint8Array([1, 2, 3]));
const decoded: Uint8Array = decodeBase64(encoded);
const framed: Uint8Array = frame(decoded);
const buffers: Uint8Array[] = new FrameDecoder(65536).push(framed);

const client: ClientMechanism = new PlainClient({ username: "tim", password: "secret" });
const server: ServerMechanism = new PlainServer({ verify: (user, password) => user === password });
const initial: Uint8Array | undefined = client.start();
const done: boolean = (await server.next(initial)).done;
const outcome: SaslOutcome = client.finish();

const digest: ClientMechanism = new DigestMd5Client({
  username: "chris",
  password: "secret",
  service: "smtp",
  host: "mail.example.com",
  qop: ["auth-int", "auth-conf"],
  ciphers: [tripleDes, rc4] satisfies DigestCipherSuite[],
  realm: (offered: readonly string[]) => offered[0] ?? "",
});
const digestServer: ServerMechanism = new DigestMd5Server({
  service: "smtp",
  host: "mail.example.com",
  qop: ["auth", "auth-conf"],
  ciphers: allCiphers,
  credentials: (username: string, realm: string) =>
    username === "chris" && realm !== "" ? { password: "secret" } : undefined,
});
const layer = digestServer.outcome().securityLayer;
const wrapped: Uint8Array | undefined = layer?.wrap(new Uint8Array(0));

try {
  decodeBase64("!");
} catch (error) {
  if (error instanceof SaslError) {
    const code: SaslErrorCode = error.code;
    if (code !== "invalid-base64") throw new Error(`unexpected code ${code}`);
  }
}

const subpathClients: ClientMechanism[] = [
  new AnonymousClient(),
  new CramMd5Client({ username: "tim", password: "secret" }),
  new SubpathDigestClient({ username: "u", password: "p", service: "smtp", host: "h" }),
  new ExternalClient(),
  new LoginClient({ username: "tim", password: "secret" }),
  new OAuthBearerClient({ token: "t" }),
  new SubpathPlainClient({ username: "tim", password: "secret" }),
  new ScramClient({ hash: "SHA-256", username: saslprepSync("user"), password: "pencil" }),
  new XOAuth2Client({ username: "u", token: "t" }),
];
const registryNames: readonly string[] = defaultRegistry.names;
try {
  new InMemoryScramCache({ maxEntries: 0 });
} catch (error) {
  // The SaslError of the main entry is the one SCRAM throws.
  if (!(error instanceof SaslError) || error.code !== "invalid-argument") throw error;
}

export { buffers, digest, done, outcome, registryNames, subpathClients, wrapped };
