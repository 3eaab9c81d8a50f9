// Registers every built-in task.
export { generateUsers } from './generate-users.js';
