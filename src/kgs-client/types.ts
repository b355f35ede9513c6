// The contract of the KGS client library: what the URL service (and the one-machine mode, with an
// in-process pool) needs from "something that hands out codes".
export interface CodeSource {
  /** One unused code, from the local buffer; waits for a refill only when the buffer is empty. */
  takeCode(): Promise<string>;
  /** Claims a custom alias. Throws Conflict (`alias_taken` / `alias_reserved`) or InvalidRequest. */
  claimCode(code: string): Promise<string>;
  /** Gives codes back (a deleted link's code); they are reusable after the KGS cool-down. */
  returnCodes(codes: readonly string[]): Promise<number>;
  /** Codes in the local buffer now. */
  buffered(): number;
  /** Stops background refills and returns every buffered, unused code to the KGS. */
  close(): Promise<void>;
}
