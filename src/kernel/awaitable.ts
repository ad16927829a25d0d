/** A value or a promise of it: driver callbacks in the model may be sync or async. */
export type Awaitable<T> = T | Promise<T>;
