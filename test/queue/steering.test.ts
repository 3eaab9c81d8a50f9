import { describe, expect, it } from 'vitest';
import { defineTask, JobNotFoundError, JobStateError, UsageError, type Job } from '../../src/index.js';
import { queueOnEachTest } from '../engine-queue.js';
import { ENGINES } from '../engines.js';

// Steering from code: queue.jobs (by state, task, payload field, page), status, retry, cancel,
// retryJobs and cancelJobs by filter, purge; each returns rows or a typed refusal, and a refusal
// changes nothing.

type Mail = { to: string; customer: string; tries?: number; vip?: boolean };
const asMail = (payload: unknown) => payload as Mail;

describe.each(ENGINES)('steering from code on $name', (engine) => {
  const current = queueOnEachTest(engine);

  const sendMail = defineTask({ name: 'send_mail', validate: asMail, maxAttempts: 1, handler: async (payload: Mail) => `sent to ${payload.to}` });
  const bounce = defineTask({
    name: 'bounce',
    validate: asMail,
    maxAttempts: 1,
    handler: async (): Promise<string> => {
      throw new Error('mailbox full');
    },
  });

  /** Works every ready job of these tasks in this process, then returns. */
  const drain = (...tasks: Array<typeof sendMail>) => current.queue.worker({ tasks, concurrency: 4, drain: true }).run();
  const ids = (jobs: Job[]) => jobs.map((job) => job.id);
  const states = async () =>
    (await current.db.all<{ id: number; state: string }>('select id, state from jobs order by id')).map((row) => `${row.id}:${row.state}`);

  it('jobs() filters by state, task and payload field (a number is not its text), newest first, and pages with before', async () => {
    const a = await current.queue.enqueue(sendMail, { to: 'a@x', customer: 'acme', tries: 5 });
    const b = await current.queue.enqueue(sendMail, { to: 'b@x', customer: 'acme', tries: 5, vip: true });
    const c = await current.queue.enqueue(sendMail, { to: 'c@x', customer: 'globex' });
    const d = await current.queue.enqueue(bounce, { to: 'd@x', customer: 'acme', tries: 5 });
    await drain(sendMail);

    expect(ids(await current.queue.jobs())).toEqual([d.id, c.id, b.id, a.id]);
    expect(ids(await current.queue.jobs({ state: 'succeeded' }))).toEqual([c.id, b.id, a.id]);
    expect(ids(await current.queue.jobs({ task: 'bounce' }))).toEqual([d.id]);
    expect(ids(await current.queue.jobs({ payload: { customer: 'acme' } }))).toEqual([d.id, b.id, a.id]);
    expect(ids(await current.queue.jobs({ payload: { customer: 'acme', tries: 5 }, task: 'send_mail' }))).toEqual([b.id, a.id]);
    expect(ids(await current.queue.jobs({ payload: { tries: '5' } }))).toEqual([]);
    expect(ids(await current.queue.jobs({ payload: { vip: true } }))).toEqual([b.id]);
    expect(ids(await current.queue.jobs({ payload: { vip: 1 } }))).toEqual([]);
    expect(ids(await current.queue.jobs({ payload: { customer: 'nobody' } }))).toEqual([]);
    expect(ids(await current.queue.jobs({ limit: 2 }))).toEqual([d.id, c.id]);
    expect(ids(await current.queue.jobs({ limit: 2, before: c.id }))).toEqual([b.id, a.id]);
    const [succeeded] = await current.queue.jobs({ state: 'succeeded', limit: 1 });
    expect(succeeded).toMatchObject({ id: c.id, task: 'send_mail', result: JSON.stringify('sent to c@x') });
  });

  it('refuses a filter that cannot mean what it says with one line, and reads nothing', async () => {
    const refusals: Array<[() => Promise<unknown>, RegExp]> = [
      [() => current.queue.jobs({ payload: { 'a.b': 1 } }), /^a payload field to match is a name of letters, digits and _, got 'a\.b'$/],
      [() => current.queue.jobs({ payload: { a: { b: 1 } as never } }), /^payload\.a must be a string, a finite number or a boolean, got \{"b":1\}$/],
      [() => current.queue.jobs({ payload: { a: Number.NaN } }), /^payload\.a must be a string/],
      [() => current.queue.jobs({ state: 'done' as never }), /^state must be one of queued, running, succeeded, failed, cancelled, got 'done'$/],
      [() => current.queue.jobs({ limit: 0 }), /^limit must be an integer from 1 to 10000, got 0$/],
      [() => current.queue.jobs({ before: 1.5 }), /^before must be an integer/],
      [
        () => current.queue.retryJobs({ state: 'queued' }),
        /^state must be one of failed, cancelled: only failed or cancelled jobs can be retried, got 'queued'$/,
      ],
      [
        () => current.queue.cancelJobs({ state: 'failed' }),
        /^state must be one of queued, running: only queued or running jobs can be cancelled, got 'failed'$/,
      ],
      [
        () => current.queue.purge({ state: 'queued' as never, olderThanMs: 0 }),
        /^state must be one of succeeded, failed, cancelled: only jobs that ended can be purged/,
      ],
      [() => current.queue.retry(0), /^a job id must be an integer from 1/],
      [() => current.queue.cancelJobs({ task: undefined }), /^say which jobs are to be cancelled: a state, a task, a schedule or a payload field$/],
      [() => current.queue.retryJobs({ payload: {} }), /^say which jobs are to be retried/],
    ];
    for (const [call, message] of refusals) {
      const refusal = await call().catch((error: unknown) => error);
      expect(refusal, String(message)).toBeInstanceOf(UsageError);
      expect((refusal as Error).message).toMatch(message);
    }
  });

  it('retry and cancel one job: the row back, or JobStateError / JobNotFoundError naming it; a refusal changes nothing', async () => {
    const queued = await current.queue.enqueue(sendMail, { to: 'a@x', customer: 'acme' });
    const retryQueued = await current.queue.retry(queued.id).catch((error: unknown) => error);
    expect(retryQueued).toBeInstanceOf(JobStateError);
    expect(retryQueued).toMatchObject({ jobId: queued.id, state: 'queued', allowed: ['failed', 'cancelled'] });
    expect((retryQueued as Error).message).toBe(`job ${queued.id} is queued: only failed or cancelled jobs can be retried`);
    expect(await states()).toEqual([`${queued.id}:queued`]);

    const { job, was } = await current.queue.cancel(queued.id);
    expect({ id: job.id, state: job.state, was }).toEqual({ id: queued.id, state: 'cancelled', was: 'queued' });
    await expect(current.queue.cancel(queued.id)).rejects.toMatchObject({
      name: 'JobStateError',
      state: 'cancelled',
      allowed: ['queued', 'running'],
    });
    expect((await current.queue.retry(queued.id)).state).toBe('queued');

    for (const call of [() => current.queue.retry(9_999), () => current.queue.cancel(9_999)]) {
      const refusal = await call().catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(JobNotFoundError);
      expect(refusal).toMatchObject({ jobId: 9_999, purged: false, message: 'no job 9999' });
    }
  });

  it('retryJobs and cancelJobs change every job the filter selects and no other, and say how many', async () => {
    const bounced = [];
    for (const [n, customer] of ['acme', 'acme', 'globex'].entries()) bounced.push(await current.queue.enqueue(bounce, { to: `${n}@x`, customer }));
    const sent = await current.queue.enqueue(sendMail, { to: 's@x', customer: 'acme' });
    await drain(bounce, sendMail);
    expect((await current.queue.jobs({ state: 'failed' })).length).toBe(3);

    expect(await current.queue.retryJobs({ state: 'failed', task: 'bounce', payload: { customer: 'acme' } })).toEqual({ retried: 2 });
    expect(await states()).toEqual([`${bounced[0]!.id}:queued`, `${bounced[1]!.id}:queued`, `${bounced[2]!.id}:failed`, `${sent.id}:succeeded`]);
    const history = await current.db.one<{ history: string }>('select history from jobs where id = ?', bounced[0]!.id);
    expect(JSON.parse(history!.history).at(-1)).toMatchObject({ state: 'queued', retried_from: 'failed' });

    expect(await current.queue.cancelJobs({ task: 'bounce' })).toEqual({ cancelled: 2 });
    expect(await states()).toEqual([
      `${bounced[0]!.id}:cancelled`,
      `${bounced[1]!.id}:cancelled`,
      `${bounced[2]!.id}:failed`,
      `${sent.id}:succeeded`,
    ]);
    // No state given: every job the change applies to (failed and cancelled for a retry).
    expect(await current.queue.retryJobs({ task: 'bounce' })).toEqual({ retried: 3 });
    expect(await current.queue.retryJobs({ task: 'bounce' })).toEqual({ retried: 0 });
    expect(await current.queue.cancelJobs({ payload: { customer: 'nobody' } })).toEqual({ cancelled: 0 });
  });

  it('a job retried in bulk is claimed again by a running worker', async () => {
    let down = true;
    const flaky = defineTask({
      name: 'flaky',
      validate: asMail,
      maxAttempts: 1,
      handler: async () => {
        if (down) throw new Error('the mail server is down');
        return 'sent';
      },
    });
    const job = await current.queue.enqueue(flaky, { to: 'a@x', customer: 'acme' });
    await drain(flaky);
    expect((await current.queue.getJob(job.id))?.state).toBe('failed');
    down = false;
    const stop = new AbortController();
    const running = current.queue.worker({ tasks: [flaky], concurrency: 1 }).run(stop.signal);
    try {
      expect(await current.queue.retryJobs({ state: 'failed' })).toEqual({ retried: 1 });
      expect(await current.queue.result(job, { timeoutMs: 20_000 })).toBe('sent');
    } finally {
      stop.abort();
      await running;
    }
  });

  it('status() counts the states; purge deletes the ended jobs of a state that ended long enough ago', async () => {
    await current.queue.enqueue(sendMail, { to: 'a@x', customer: 'acme' });
    await current.queue.enqueue(bounce, { to: 'b@x', customer: 'acme' });
    await current.queue.enqueue(sendMail, { to: 'later@x', customer: 'acme' }, { delayMs: 3_600_000 });
    await drain(sendMail, bounce);
    const status = await current.queue.status();
    expect(status.counts).toEqual({ queued: 1, running: 0, succeeded: 1, failed: 1, cancelled: 0 });
    expect(status).toMatchObject({ workers: [], oldest_ready_wait_ms: null, jobs_ended_last_minute: 2, schedules: [] });
    expect(Date.parse(status.checked_at)).toBeGreaterThan(0);

    expect(await current.queue.purge({ state: 'succeeded', olderThanMs: 3_600_000 })).toEqual({ deleted: 0 });
    expect(await current.queue.purge({ state: 'succeeded', olderThanMs: 0, now: Date.now() + 1 })).toEqual({ deleted: 1 });
    expect((await current.queue.status()).counts).toEqual({ queued: 1, running: 0, succeeded: 0, failed: 1, cancelled: 0 });
  });
});
