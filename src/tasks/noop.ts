import { defineTask } from '../queue/task.js';

/** Does nothing: for measuring the queue itself (`usergen bench`) and checking that workers run. */
export const noopTask = defineTask({
  name: 'noop',
  validate: (payload: unknown) => payload,
  async handler() {
    return null;
  },
});
