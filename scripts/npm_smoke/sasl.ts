// Type-checked against the installed @saslkit/sasl .d.ts files; see README.md.
import {
  type ClientMechanism,
  decodeBase64,
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

export { buffers, digest, done, outcome, wrapped };
