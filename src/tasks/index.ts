// The built-in tasks, which every worker runs.
export { backupTask } from './backup.js';
export { generateUsers } from './generate-users.js';
