/**
 * The shape of a server reply, on its own so that the error type and the reply parser can both
 * name it without importing each other.
 *
 * @module
 */

/** One complete, possibly multi-line, server reply. */
export interface SmtpReply {
  /** The three-digit reply code. */
  readonly code: number;
  /** The enhanced status code (`5.7.8`) of the first line, when the server sends them. */
  readonly enhancedCode?: string;
  /** The text of each line, without the code, separator or enhanced code. */
  readonly lines: readonly string[];
}
