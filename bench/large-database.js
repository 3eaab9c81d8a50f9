// A database of many users for the benchmarks, built once and kept in the OS temp folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The path of a database holding `users` users (built on first use, about a minute for 1,000,000). */
export async function largeDatabase(users) {
  const file = path.join(os.tmpdir(), `usergen-bench-${users}.db`);
  if (!fs.existsSync(file)) await build(file, users);
  return file;
}

async function build(file, users) {
  const { openSqliteStore } = await import(`${root}/dist/store/sqlite/store.js`);
  const store = await openSqliteStore(file, { durability: 'normal' });
  const { insertUsers } = await import(`${root}/dist/tasks/users.js`);
  const hash = `pbkdf2_sha256$600000$${'s'.repeat(22)}$${'h'.repeat(43)}=`;
  for (let start = 0; start < users; start += 50_000) {
    await store.db.transaction().execute(async (trx) => {
      const rows = [];
      for (let i = start; i < Math.min(users, start + 50_000); i++) {
        const username = `user_${i.toString(36).padStart(10, '0')}`;
        rows.push({
          username,
          email: `${username}@example.com`,
          first_name: 'Bench',
          last_name: 'User',
          password: hash,
          is_superuser: 0,
          is_staff: 0,
          is_active: 1,
          last_login: null,
          date_joined: new Date().toISOString(),
          job_id: null,
        });
      }
      await insertUsers(trx, rows);
    });
  }
  await store.close();
}
