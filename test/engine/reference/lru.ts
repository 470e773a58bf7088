// LruMap as it was before issue 12's threshold rewrite: the order keeper of the reference ThresholdState.

interface Node<K, V> {
  key: K;
  value: V;
  older: Node<K, V> | null;
  newer: Node<K, V> | null;
}

/** One entry of an LruMap, kept by a caller to make it the most recently used without a lookup (touch). */
export interface LruEntry<V> {
  readonly value: V;
}

export class LruMap<K, V> {
  private readonly nodes = new Map<K, Node<K, V>>();
  /** Least recently used. */
  private oldest: Node<K, V> | null = null;
  /** Most recently used. */
  private newest: Node<K, V> | null = null;

  get size(): number {
    return this.nodes.size;
  }

  /** The value, without changing the order. */
  peek(key: K): V | undefined {
    return this.nodes.get(key)?.value;
  }

  /** The value, made the most recently used. */
  use(key: K): V | undefined {
    const n = this.nodes.get(key);
    if (n === undefined) return undefined;
    if (n !== this.newest) {
      this.unlink(n);
      this.link(n);
    }
    return n.value;
  }

  /** The entry of `key`, without changing the order. */
  entry(key: K): LruEntry<V> | undefined {
    return this.nodes.get(key);
  }

  /** use() for an entry the caller knows is still in this map (not deleted or evicted since entry() gave it). */
  touch(e: LruEntry<V>): void {
    const n = e as Node<K, V>;
    if (n !== this.newest) {
      this.unlink(n);
      this.link(n);
    }
  }

  /** Adds (or replaces) `key` as the most recently used entry. */
  set(key: K, value: V): void {
    const n = this.nodes.get(key);
    if (n !== undefined) {
      n.value = value;
      if (n !== this.newest) {
        this.unlink(n);
        this.link(n);
      }
      return;
    }
    const node: Node<K, V> = { key, value, older: null, newer: null };
    this.nodes.set(key, node);
    this.link(node);
  }

  /** set() for a key the caller has just found absent (use or peek gave undefined): no second lookup. */
  insert(key: K, value: V): void {
    const node: Node<K, V> = { key, value, older: null, newer: null };
    this.nodes.set(key, node);
    this.link(node);
  }

  delete(key: K): boolean {
    const n = this.nodes.get(key);
    if (n === undefined) return false;
    this.nodes.delete(key);
    this.unlink(n);
    return true;
  }

  /** Removes the least recently used entry; returns whether there was one. */
  evictOldest(): boolean {
    const n = this.oldest;
    if (n === null) return false;
    this.nodes.delete(n.key);
    this.unlink(n);
    return true;
  }

  /** Values from least to most recently used. */
  *values(): IterableIterator<V> {
    for (let n = this.oldest; n !== null; n = n.newer) yield n.value;
  }

  private link(n: Node<K, V>): void {
    n.older = this.newest;
    n.newer = null;
    if (this.newest) this.newest.newer = n;
    else this.oldest = n;
    this.newest = n;
  }

  private unlink(n: Node<K, V>): void {
    if (n.older) n.older.newer = n.newer;
    else this.oldest = n.newer;
    if (n.newer) n.newer.older = n.older;
    else this.newest = n.older;
    n.older = n.newer = null;
  }
}
