import fs from 'node:fs';
import os from 'node:os';
import BetterSqlite3 from 'better-sqlite3';

// What the figures were measured on, printed with them.

/** The filesystem that holds `folder` (every database file and data folder is made there). */
function filesystemOf(folder: string): string {
  try {
    const mounts = fs
      .readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .filter((fields) => fields.length > 2 && (folder === fields[1] || folder.startsWith(`${fields[1] === '/' ? '' : fields[1]}/`)));
    const mount = mounts.sort((a, b) => b[1]!.length - a[1]!.length)[0];
    return mount ? `${mount[2]} on ${mount[0]}` : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function describeMachine(): Record<string, string> {
  const sqlite = new BetterSqlite3(':memory:');
  const sqliteVersion = (sqlite.prepare('select sqlite_version() as version').get() as { version: string }).version;
  sqlite.close();
  const tmp = fs.realpathSync(os.tmpdir());
  return {
    cpu: `${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.availableParallelism()} cores`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    os: `${os.type()} ${os.release()}`,
    node: `Node ${process.version}`,
    sqlite: `SQLite ${sqliteVersion} (better-sqlite3)`,
    files: `files in ${tmp} (${filesystemOf(tmp)})`,
  };
}
