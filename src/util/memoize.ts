/**
 * `compute` cached by its string argument, for pure functions of values a server sees few of (its
 * configured keys, its clients' keys and scopes). Bounded: when `maxEntries` are held, the cache
 * starts over, so a flood of distinct values costs memory once, never without limit.
 */
export function memoized<T>(compute: (key: string) => T, maxEntries: number): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    let value = cache.get(key);
    if (value === undefined) {
      if (cache.size >= maxEntries) cache.clear();
      value = compute(key);
      cache.set(key, value);
    }
    return value;
  };
}
