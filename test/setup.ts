import { afterEach } from 'vitest';
import { Worker } from '../src/queue/worker.js';
import { killLeakedProcesses } from './helpers.js';

// A test that leaves a CLI process running fails, and the process is killed; so does one that
// leaves a worker of its own process running (Worker.running counts those of this copy of src/).
afterEach(async () => {
  const leaked = await killLeakedProcesses();
  if (leaked.length > 0) throw new Error(`test left ${leaked.length} process(es) running: ${leaked.join('; ')}`);
  if (Worker.running > 0)
    throw new Error(`test left ${Worker.running} worker(s) of its own process running: stop them (worker.stop(), or abort the run's signal)`);
});
