// The contract of the KGS client library: what the URL service (and the one-machine mode, with an
// in-process pool) needs from "something that hands out codes".

/** Carried from an incoming request to the KGS, so one request id shows in both services' logs. */
export interface RequestContext {
  requestId?: string;
}

export interface CodeSource {
  /** One unused code, from the local buffer; waits for a refill only when the buffer is empty. */
  takeCode(context?: RequestContext): Promise<string>;
  /** Claims a custom alias. Throws Conflict (`alias_taken` / `alias_reserved`) or InvalidRequest. */
  claimCode(code: string, context?: RequestContext): Promise<string>;
  /**
   * Gives codes back: a deleted link's code is reusable after the KGS cool-down; `unused` codes (no
   * link ever had them: a creation that failed) at once.
   */
  returnCodes(codes: readonly string[], context?: RequestContext, options?: { unused?: boolean }): Promise<number>;
  /** Codes in the local buffer now. */
  buffered(): number;
  /** Stops background refills and returns every buffered, unused code to the KGS. */
  close(): Promise<void>;
}
