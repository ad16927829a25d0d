// Types of dist-stamp.mjs, for the tests that import it.

/** Where the build records the listing it compiled, relative to the repository root. */
export const STAMP: string;
/** `[path, size, mtimeMs]` for every build input under `rootUrl`, sorted by path. */
export function sourceListing(rootUrl: URL): [string, number, number][];
/** True when dist/ holds a build of exactly the current sources. */
export function distIsCurrent(rootUrl: URL): boolean;
