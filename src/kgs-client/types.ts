// The contract of the KGS client library: what the URL service (and the one-machine mode, with an
// in-process pool) needs from "something that hands out codes".

/**
 * Sent with every KGS call: how long the client waits for the answer. The KGS waits on an empty pool
 * for less than that, so that it does not take codes for a caller that has given up.
 */
export const CALLER_TIMEOUT_HEADER = 'x-caller-timeout-ms';

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
