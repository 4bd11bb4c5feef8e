// Options objects from JavaScript callers: a misspelt key (`queuesize`,
// `readonly`) is otherwise dropped without a word and its default used in its
// place, which a storage library must not do quietly. Each options interface
// has its keys as data (OptionKeys), held to the interface by the compiler,
// and the entry point refuses a key that is not among them, naming the one
// meant when the misspelling differs only in case or separators.

/** Every key of T, as data: `satisfies OptionKeys<T>` makes the compiler hold the table to T's keys, no more, no fewer. */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/** A key folded for comparison: case and `-`/`_` separators do not count. */
function fold(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/**
 * Refuses an own enumerable key of `given` that `keys` does not list.
 * @param where the call and the object, for the message, e.g. `createStack: da`
 * @throws TypeError naming the key, the key meant when only case or separators differ, and the known keys
 */
export function checkOptionKeys(given: object, keys: Readonly<Record<string, true>>, where: string): void {
  for (const key of Object.keys(given)) {
    if (Object.hasOwn(keys, key)) continue;
    const known = Object.keys(keys);
    const meant = known.find((k) => fold(k) === fold(key));
    throw new TypeError(`${where}: unknown option '${key}'${meant === undefined ? '' : ` (did you mean '${meant}'?)`}; known options: ${known.join(', ')}`);
  }
}
