import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../../errors.js';
import { writeSnapshotSync, type SnapshotReply, type SnapshotRequest } from './backup.js';

// Runs one snapshot off the main thread (see writeSnapshot) and replies with its outcome.
let reply: SnapshotReply;
try {
  reply = { info: writeSnapshotSync(workerData as SnapshotRequest) };
} catch (error) {
  reply = { message: (error as Error).message, userError: error instanceof UserError };
}
parentPort!.postMessage(reply);
