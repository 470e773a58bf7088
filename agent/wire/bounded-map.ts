// The one "evict the oldest" map (issue 12: eleven were written by hand). Every memory structure has a cap and an
// eviction rule: this Map keeps insertion order, and adding a new key at the cap drops the oldest entry first,
// counting it and telling `onEvict` (e.g. to report an anomaly). `touch` makes a key the newest, for least-recently-
// used order. In wire/ because the analyzers, the engine and the collector all use it (wire/ imports nothing).

export class BoundedMap<K, V> extends Map<K, V> {
  /** Entries dropped to make room since creation. */
  evicted = 0;

  constructor(
    readonly cap: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    super();
    if (!(cap >= 1)) throw new RangeError(`BoundedMap cap must be at least 1, got ${cap}`);
  }

  /** Add or replace; a new key at the cap first drops the oldest entry. Replacing keeps the key's place. */
  override set(key: K, value: V): this {
    // Below the cap nothing is dropped: no need to ask whether the key is new.
    if (this.size >= this.cap && !this.has(key)) {
      while (this.size >= this.cap) {
        const oldest = this.entries().next();
        if (oldest.done) break;
        super.delete(oldest.value[0]);
        this.evicted++;
        this.onEvict?.(oldest.value[0], oldest.value[1]);
      }
    }
    return super.set(key, value);
  }

  /** Set the value and make the key the newest (a refresh moves it to the back of the eviction queue). */
  touch(key: K, value: V): this {
    super.delete(key);
    return this.set(key, value);
  }
}
