import { spawn } from 'node:child_process';
import { UserError } from '../errors.js';

// The programs an engine runs beside its driver (pg_dump and pg_restore for PostgreSQL backups).

/** A program usergen needs is not on PATH: one line naming it and how to install it. Another attempt cannot find it either. */
export class MissingProgram extends UserError {
  override name = 'MissingProgram';

  constructor(
    readonly program: string,
    why: string,
    install: string,
  ) {
    super(`${program} is not on PATH: ${why} (install it with: ${install})`);
  }
}

export interface ProgramOptions {
  /** Its whole environment. */
  env: NodeJS.ProcessEnv;
  /** What its standard output is for; it is thrown away without this. */
  onStdout?: (chunk: Buffer) => void;
  /** Named when the program cannot be found. */
  missing: { why: string; install: string };
  /** Applied to what a message quotes of its error output. */
  scrub?: (text: string) => string;
}

/**
 * Runs `program` to its end; rejects with MissingProgram when it is not on PATH, and with a
 * UserError quoting the last lines of its error output when it exits other than 0.
 */
export function runProgram(program: string, args: readonly string[], options: ProgramOptions): Promise<void> {
  const scrub = options.scrub ?? ((text: string) => text);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: options.env, stdio: ['ignore', options.onStdout ? 'pipe' : 'ignore', 'pipe'] });
    let stderr = '';
    let failure: Error | undefined;
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    if (options.onStdout) {
      const onStdout = options.onStdout;
      child.stdout!.on('data', (chunk: Buffer) => {
        if (failure) return;
        try {
          onStdout(chunk);
        } catch (error) {
          // Nothing more of its output is wanted: stop it rather than read the rest.
          failure = error as Error;
          child.kill();
        }
      });
    }
    child.on('error', (error: NodeJS.ErrnoException) => {
      failure ??= error.code === 'ENOENT' ? new MissingProgram(program, options.missing.why, options.missing.install) : error;
    });
    child.on('close', (code, signal) => {
      if (failure) return reject(failure);
      if (code === 0) return resolve();
      const said = scrub(lastError(program, stderr));
      reject(new UserError(`${program} failed (${signal ?? `exit ${code}`})${said === '' ? '' : `: ${said}`}`));
    });
  });
}

/**
 * The last error a PostgreSQL client program reported, on one line, with the server's DETAIL when
 * one follows (`cannot drop schema usergen because other objects depend on it (table usergen.notes
 * depends on schema usergen)`); its last line when it reported none.
 */
function lastError(program: string, stderr: string): string {
  const lines = stderr.trim().split('\n');
  let at = lines.length - 1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.startsWith(`${program}: error:`)) {
      at = i;
      break;
    }
  }
  const said = lines[at]!.replace(`${program}: error: `, '').replace(/\bERROR:\s+/, '');
  const detail = /^DETAIL:\s+(.*)$/.exec(lines[at + 1] ?? '')?.[1];
  return (detail === undefined ? said : `${said} (${detail})`).replace(/\s+/g, ' ').trim();
}
