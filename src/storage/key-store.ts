// Port: where the KGS keeps its pool. The Redis adapter serves the KGS; the SQL adapter (table
// key_pool) serves `curt serve` without Redis. Every method is atomic on its own: that is what makes
// codes unique across any number of KGS replicas.
export interface PoolSizes {
  available: number;
  used: number;
  /** Returned codes waiting out their reuse cool-down (they still count as used). */
  coolingDown: number;
}

export interface KeyStore {
  /** Moves up to `count` codes from available to used; also reports how many remain available. */
  take(count: number): Promise<{ codes: string[]; remaining: number }>;
  /** Adds the candidates that are in neither set to available; returns how many were added. */
  offer(candidates: readonly string[]): Promise<number>;
  /**
   * Takes back codes that are now in used. `recycle` codes go back to available, `release` codes (aliases)
   * just leave used so they can be claimed again; both after `releaseAtMs` (null = at once).
   * Returns how many of them were in used and not already returned.
   */
  giveBack(recycle: readonly string[], release: readonly string[], releaseAtMs: number | null): Promise<number>;
  /** Marks `code` used if it is not; false when it already is (taken, or cooling down). */
  claim(code: string): Promise<boolean>;
  /**
   * When `code`'s reuse cool-down ends (epoch ms), or null when it is not cooling down. Asked after a
   * failed claim, to tell "taken" from "free again at …"; not atomic with it, which only affects
   * the wording if the cool-down ends in between.
   */
  coolingUntil(code: string): Promise<number | null>;
  /** Finishes the cool-down of codes whose time has come; returns how many. */
  releaseDue(nowMs: number): Promise<number>;
  sizes(): Promise<PoolSizes>;
  /** A lock with expiry shared by all replicas; resolves to its release function, or null if held. */
  tryLock(name: string, ttlMs: number): Promise<(() => Promise<void>) | null>;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
}
