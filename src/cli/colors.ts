/**
 * Colours of the CLI's output, one palette per stream (stdout and stderr
 * may go to different places). `--color` / `--no-color` on the command line
 * win (the last one given); otherwise `NO_COLOR` (any non-empty value) turns
 * colour off, `FORCE_COLOR` (other than `0`) on, and a terminal that is not
 * `TERM=dumb` gets colour. picocolors' own choice is not used: it lets
 * `NO_COLOR` override an explicit `--color`, and colours every stream when
 * `CI` is set.
 */
import picocolors from 'picocolors';

const { createColors } = picocolors;

/** A palette (picocolors' functions, or identities when colour is off). */
export type Palette = ReturnType<typeof createColors>;

/** The colour choice for `stream` given the command line and the environment. */
export function colorWanted(
  stream: { isTTY?: boolean },
  argv: readonly string[] = process.argv,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  let flag: boolean | null = null;
  for (const a of argv.slice(2)) {
    if (a === '--') break;
    if (a === '--color') flag = true;
    else if (a === '--no-color') flag = false;
  }
  if (flag !== null) return flag;
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0';
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** Colours for standard output. */
export const pc: Palette = createColors(colorWanted(process.stdout));
/** Colours for standard error (messages, warnings, progress). */
export const pcErr: Palette = createColors(colorWanted(process.stderr));
