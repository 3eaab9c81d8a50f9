import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

// `--tasks <module>`, repeatable: the JavaScript modules whose tasks a command may run.

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The modules' absolute paths; a UsageError names one that is not there. */
export function taskModules(modules: readonly string[]): string[] {
  return modules.map((module) => {
    const resolved = path.resolve(module);
    if (!fs.existsSync(resolved)) throw new UsageError(`--tasks: no such file: ${module}`);
    return resolved;
  });
}
