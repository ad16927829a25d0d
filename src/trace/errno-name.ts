import { Errno } from '../kernel/index.ts';

const NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(Errno)) if (!NAMES.has(value)) NAMES.set(value, name);

/** `-ENODEV` for -19 (errno values as the model returns them); the number itself when unknown. */
export function errnoName(v: number): string {
  const n = NAMES.get(Math.abs(v));
  return n ? `${v < 0 ? '-' : ''}${n} (${v})` : String(v);
}
