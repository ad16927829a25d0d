/**
 * Requested files that could not be written (`--trace` into a path whose
 * parent is a file, `--report` onto a directory, an unwritable
 * `--save-schedule` or `--trace-dir`): each is collected while the command
 * goes on, the summary is printed first, then one line per file naming the
 * path and the reason, and the command exits 2.
 */
import { displayPath, printError } from './format.ts';

/** A file that could not be written. */
export interface ArtefactFailure {
  /** What it is: `trace`, `report`, `schedule`, ... */
  readonly what: string;
  readonly path: string;
  readonly reason: string;
}

/** The reason a file system call failed, in words (the errno code for the curious). */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const words: Record<string, string> = {
    ENOTDIR: 'a part of the path is a file, not a directory',
    EEXIST: 'a part of the path is a file, not a directory',
    EISDIR: 'it is a directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    ENOSPC: 'no space left on the device',
    ENAMETOOLONG: 'the name is too long',
    ENOENT: 'a directory on the path does not exist',
  };
  if (code && words[code]) return `${words[code]} (${code})`;
  return e instanceof Error ? e.message : String(e);
}

/** Collects the files a command could not write. */
export class Artefacts {
  readonly failures: ArtefactFailure[] = [];

  /** Run `write` for the file `path` (a `what`); true when it was written, false (recorded) when it failed. */
  write(what: string, path: string, write: () => void): boolean {
    try {
      write();
      return true;
    } catch (e) {
      this.failures.push({ what, path, reason: fsReason(e) });
      return false;
    }
  }

  /** Print one error line per file that could not be written (after the summary). */
  report(): void {
    for (const f of this.failures) printError(`cannot write the ${f.what} to ${displayPath(f.path)}: ${f.reason}.`);
  }

  get ok(): boolean {
    return this.failures.length === 0;
  }
}
