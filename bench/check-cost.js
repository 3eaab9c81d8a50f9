// What the integrity checks cost on a large database: `quick_check` (run by every worker as it
// starts) and `integrity_check` (`usergen check`), medians of 3 runs each.
//   node bench/check-cost.js [users=1000000]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { checkDatabase } = await import(`${root}/dist/store/sqlite/check.js`);
const { largeDatabase } = await import('./large-database.js');

const users = Number(process.argv[2] ?? 1_000_000);
const file = await largeDatabase(users);
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`database: ${users} users, ${(fs.statSync(file).size / 1e6).toFixed(0)} MB`);
for (const kind of ['quick', 'full']) {
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const report = checkDatabase(file, kind);
    if (!report.ok) throw new Error(`${file} fails its ${kind} check: ${report.problems[0]}`);
    runs.push(report.duration_ms);
  }
  console.log(`${kind === 'quick' ? 'quick_check' : 'integrity_check'}: median ${median([...runs])} ms (runs ${runs.join(', ')} ms)`);
}
