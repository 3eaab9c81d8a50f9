import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineTask, JobNotFoundError, JobStateError, openQueue, UsageError, type Job, type Queue } from '../../src/index.js';
import { ENGINES } from '../engines.js';
import { inspect, type Probe } from '../inspect.js';

// Steering from code: queue.jobs (by state, task, payload field, page), status, retry, cancel,
// retryJobs and cancelJobs by filter, purge; each returns rows or a typed refusal, and a refusal
// changes nothing.

type Mail = { to: string; customer: string; tries?: number; vip?: boolean };
const asMail = (payload: unknown) => payload as Mail;

describe.each(ENGINES)('steering from code on $name', (engine) => {
  let queue: Queue;
  let db: Probe;

  beforeEach(async () => {
    const location = await engine.database();
    queue = await openQueue({ db: location });
    db = await inspect(location);
  });

  afterEach(async () => {
    await queue.close();
  });

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
  const drain = (...tasks: Array<typeof sendMail>) => queue.worker({ tasks, concurrency: 4, drain: true }).run();
  const ids = (jobs: Job[]) => jobs.map((job) => job.id);
  const states = async () =>
    (await db.all<{ id: number; state: string }>('select id, state from jobs order by id')).map((row) => `${row.id}:${row.state}`);

  it('jobs() filters by state, task and payload field (a number is not its text), newest first, and pages with before', async () => {
    const a = await queue.enqueue(sendMail, { to: 'a@x', customer: 'acme', tries: 5 });
    const b = await queue.enqueue(sendMail, { to: 'b@x', customer: 'acme', tries: 5, vip: true });
    const c = await queue.enqueue(sendMail, { to: 'c@x', customer: 'globex' });
    const d = await queue.enqueue(bounce, { to: 'd@x', customer: 'acme', tries: 5 });
    await drain(sendMail);

    expect(ids(await queue.jobs())).toEqual([d.id, c.id, b.id, a.id]);
    expect(ids(await queue.jobs({ state: 'succeeded' }))).toEqual([c.id, b.id, a.id]);
    expect(ids(await queue.jobs({ task: 'bounce' }))).toEqual([d.id]);
    expect(ids(await queue.jobs({ payload: { customer: 'acme' } }))).toEqual([d.id, b.id, a.id]);
    expect(ids(await queue.jobs({ payload: { customer: 'acme', tries: 5 }, task: 'send_mail' }))).toEqual([b.id, a.id]);
    expect(ids(await queue.jobs({ payload: { tries: '5' } }))).toEqual([]);
    expect(ids(await queue.jobs({ payload: { vip: true } }))).toEqual([b.id]);
    expect(ids(await queue.jobs({ payload: { vip: 1 } }))).toEqual([]);
    expect(ids(await queue.jobs({ payload: { customer: 'nobody' } }))).toEqual([]);
    expect(ids(await queue.jobs({ limit: 2 }))).toEqual([d.id, c.id]);
    expect(ids(await queue.jobs({ limit: 2, before: c.id }))).toEqual([b.id, a.id]);
    const [succeeded] = await queue.jobs({ state: 'succeeded', limit: 1 });
    expect(succeeded).toMatchObject({ id: c.id, task: 'send_mail', result: JSON.stringify('sent to c@x') });
  });

  it('refuses a filter that cannot mean what it says with one line, and reads nothing', async () => {
    const refusals: Array<[() => Promise<unknown>, RegExp]> = [
      [() => queue.jobs({ payload: { 'a.b': 1 } }), /^a payload field to match is a name of letters, digits and _, got 'a\.b'$/],
      [() => queue.jobs({ payload: { a: { b: 1 } as never } }), /^payload\.a must be a string, a finite number or a boolean, got \{"b":1\}$/],
      [() => queue.jobs({ payload: { a: Number.NaN } }), /^payload\.a must be a string/],
      [() => queue.jobs({ state: 'done' as never }), /^state must be one of queued, running, succeeded, failed, cancelled, got 'done'$/],
      [() => queue.jobs({ limit: 0 }), /^limit must be an integer from 1 to 10000, got 0$/],
      [() => queue.jobs({ before: 1.5 }), /^before must be an integer/],
      [
        () => queue.retryJobs({ state: 'queued' }),
        /^state must be one of failed, cancelled: only failed or cancelled jobs can be retried, got 'queued'$/,
      ],
      [
        () => queue.cancelJobs({ state: 'failed' }),
        /^state must be one of queued, running: only queued or running jobs can be cancelled, got 'failed'$/,
      ],
      [
        () => queue.purge({ state: 'queued' as never, olderThanMs: 0 }),
        /^state must be one of succeeded, failed, cancelled: only jobs that ended can be purged/,
      ],
      [() => queue.retry(0), /^a job id must be an integer from 1/],
    ];
    for (const [call, message] of refusals) {
      const refusal = await call().catch((error: unknown) => error);
      expect(refusal, String(message)).toBeInstanceOf(UsageError);
      expect((refusal as Error).message).toMatch(message);
    }
  });

  it('retry and cancel one job: the row back, or JobStateError / JobNotFoundError naming it; a refusal changes nothing', async () => {
    const queued = await queue.enqueue(sendMail, { to: 'a@x', customer: 'acme' });
    const retryQueued = await queue.retry(queued.id).catch((error: unknown) => error);
    expect(retryQueued).toBeInstanceOf(JobStateError);
    expect(retryQueued).toMatchObject({ jobId: queued.id, state: 'queued', allowed: ['failed', 'cancelled'] });
    expect((retryQueued as Error).message).toBe(`job ${queued.id} is queued: only failed or cancelled jobs can be retried`);
    expect(await states()).toEqual([`${queued.id}:queued`]);

    const { job, was } = await queue.cancel(queued.id);
    expect({ id: job.id, state: job.state, was }).toEqual({ id: queued.id, state: 'cancelled', was: 'queued' });
    await expect(queue.cancel(queued.id)).rejects.toMatchObject({ name: 'JobStateError', state: 'cancelled', allowed: ['queued', 'running'] });
    expect((await queue.retry(queued.id)).state).toBe('queued');

    for (const call of [() => queue.retry(9_999), () => queue.cancel(9_999)]) {
      const refusal = await call().catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(JobNotFoundError);
      expect(refusal).toMatchObject({ jobId: 9_999, purged: false, message: 'no job 9999' });
    }
  });

  it('retryJobs and cancelJobs change every job the filter selects and no other, and say how many', async () => {
    const bounced = await Promise.all(['acme', 'acme', 'globex'].map((customer, n) => queue.enqueue(bounce, { to: `${n}@x`, customer })));
    const sent = await queue.enqueue(sendMail, { to: 's@x', customer: 'acme' });
    await drain(bounce, sendMail);
    expect((await queue.jobs({ state: 'failed' })).length).toBe(3);

    expect(await queue.retryJobs({ state: 'failed', task: 'bounce', payload: { customer: 'acme' } })).toEqual({ retried: 2 });
    expect(await states()).toEqual([`${bounced[0]!.id}:queued`, `${bounced[1]!.id}:queued`, `${bounced[2]!.id}:failed`, `${sent.id}:succeeded`]);
    const history = await db.one<{ history: string }>('select history from jobs where id = ?', bounced[0]!.id);
    expect(JSON.parse(history!.history).at(-1)).toMatchObject({ state: 'queued', retried_from: 'failed' });

    expect(await queue.cancelJobs({ task: 'bounce' })).toEqual({ cancelled: 2 });
    expect(await states()).toEqual([
      `${bounced[0]!.id}:cancelled`,
      `${bounced[1]!.id}:cancelled`,
      `${bounced[2]!.id}:failed`,
      `${sent.id}:succeeded`,
    ]);
    // No state given: every job the change applies to (failed and cancelled for a retry).
    expect(await queue.retryJobs({ task: 'bounce' })).toEqual({ retried: 3 });
    expect(await queue.retryJobs({ task: 'bounce' })).toEqual({ retried: 0 });
    expect(await queue.cancelJobs({ payload: { customer: 'nobody' } })).toEqual({ cancelled: 0 });
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
    const job = await queue.enqueue(flaky, { to: 'a@x', customer: 'acme' });
    await drain(flaky);
    expect((await queue.getJob(job.id))?.state).toBe('failed');
    down = false;
    const stop = new AbortController();
    const running = queue.worker({ tasks: [flaky], concurrency: 1 }).run(stop.signal);
    try {
      expect(await queue.retryJobs({ state: 'failed' })).toEqual({ retried: 1 });
      expect(await queue.result(job, { timeoutMs: 20_000 })).toBe('sent');
    } finally {
      stop.abort();
      await running;
    }
  });

  it('status() counts the states; purge deletes the ended jobs of a state that ended long enough ago', async () => {
    await queue.enqueue(sendMail, { to: 'a@x', customer: 'acme' });
    await queue.enqueue(bounce, { to: 'b@x', customer: 'acme' });
    await queue.enqueue(sendMail, { to: 'later@x', customer: 'acme' }, { delayMs: 3_600_000 });
    await drain(sendMail, bounce);
    const status = await queue.status();
    expect(status.counts).toEqual({ queued: 1, running: 0, succeeded: 1, failed: 1, cancelled: 0 });
    expect(status).toMatchObject({ workers: [], oldest_ready_wait_ms: null, jobs_ended_last_minute: 2, schedules: [] });
    expect(Date.parse(status.checked_at)).toBeGreaterThan(0);

    expect(await queue.purge({ state: 'succeeded', olderThanMs: 3_600_000 })).toEqual({ deleted: 0 });
    expect(await queue.purge({ state: 'succeeded', olderThanMs: 0, now: Date.now() + 1 })).toEqual({ deleted: 1 });
    expect((await queue.status()).counts).toEqual({ queued: 1, running: 0, succeeded: 0, failed: 1, cancelled: 0 });
  });
});
