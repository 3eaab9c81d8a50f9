import { afterEach } from 'vitest';
import { killLeakedProcesses } from './helpers.js';

// A test that leaves a CLI process running fails, and the process is killed.
afterEach(async () => {
  const leaked = await killLeakedProcesses();
  if (leaked.length > 0) throw new Error(`test left ${leaked.length} process(es) running: ${leaked.join('; ')}`);
});
