// Types for the parts of the untyped CommonJS package "des.js" (1.1.x) that des.ts uses.
// An ambient module declaration, so that tsc finds it through tsconfig "include" and Deno
// through the `@ts-types` directive on the import in des.ts.

declare module "des.js" {
  /** A des.js cipher: buffers input until whole 8-byte blocks are available. */
  interface DesJsCipher {
    /** Processes whole blocks; a decrypting cipher keeps the last block back until `final`. */
    update(data: ArrayLike<number>): number[];
    /** Processes `data` and the kept-back block; pads or unpads unless `padding` is false. */
    final(data?: ArrayLike<number>): number[];
  }

  interface DesJsOptions {
    type: "encrypt" | "decrypt";
    /** 8 bytes for DES, 24 for EDE. */
    key: ArrayLike<number>;
    /** 8 bytes; required by CBC. */
    iv?: ArrayLike<number>;
    /** PKCS#5 padding; on unless false. */
    padding?: boolean;
  }

  interface DesJsCipherClass {
    create(options: DesJsOptions): DesJsCipher;
  }

  const des: {
    DES: DesJsCipherClass;
    EDE: DesJsCipherClass;
    CBC: { instantiate(base: DesJsCipherClass): DesJsCipherClass };
  };
  export default des;
}
