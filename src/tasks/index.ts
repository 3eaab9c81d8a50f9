// Registers every built-in task.
export { backupTask } from './backup.js';
export { generateUsers } from './generate-users.js';
export { noopTask } from './noop.js';
