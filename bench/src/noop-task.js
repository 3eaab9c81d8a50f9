// The task the drain and pickup figures run: it does nothing, so they measure the queue alone.
// The bench's worker processes load it with `--tasks`; no production worker carries it. Plain
// JavaScript, as a user's task module is, importing the built package.
import { defineTask } from '../../dist/queue/task.js';

export const noop = defineTask({
  name: 'noop',
  /** @param {unknown} payload */
  validate: (payload) => payload,
  async handler() {
    return null;
  },
});
