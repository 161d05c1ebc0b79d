// Types for the parts of the untyped CommonJS package "alt-sasl-digest-md5" (1.0.x) that the
// bench drives: the anchor of the client-step case.
declare module "alt-sasl-digest-md5" {
  /** Credentials as the library reads them. */
  interface Credentials {
    username: string;
    password: string;
    serviceType: string;
    host: string;
    serviceName?: string;
    realm?: string;
    authzid?: string;
  }
  /** The client mechanism: challenge() reads the digest-challenge, response() answers it. */
  class Mechanism {
    constructor(options?: { genNonce?: () => string });
    challenge(challenge: string): this;
    response(credentials: Credentials): string;
  }
  export default Mechanism;
}
