import type { Transaction } from 'kysely';
import type { Database, NewUser } from '../store/schema.js';
import { insertUsers, takenUsernames } from './users.js';
import { defineTask } from '../queue/task.js';
import { ASCII_LETTERS, DEFAULT_HASH_ITERATIONS, hashPassword, randomPassword, randomString } from './password.js';

/** The seed's form rule. */
export const MIN_TOTAL = 50;
export const MAX_TOTAL = 500;
export const MIN_HASH_ITERATIONS = 1_000;
export const MAX_HASH_ITERATIONS = 10_000_000;

export interface GenerateUsersPayload {
  total: number;
  /** PBKDF2 iterations of every password hash. */
  iterations: number;
}

export function parseGenerateUsersPayload(value: unknown): GenerateUsersPayload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('the payload must be an object like {"total": 200}');
  }
  const { total, iterations = DEFAULT_HASH_ITERATIONS } = value as Record<string, unknown>;
  if (!isIntegerIn(total, MIN_TOTAL, MAX_TOTAL)) {
    throw new Error(`total must be an integer from ${MIN_TOTAL} to ${MAX_TOTAL}, got ${JSON.stringify(total)}`);
  }
  if (!isIntegerIn(iterations, MIN_HASH_ITERATIONS, MAX_HASH_ITERATIONS)) {
    throw new Error(`iterations must be an integer from ${MIN_HASH_ITERATIONS} to ${MAX_HASH_ITERATIONS}, got ${JSON.stringify(iterations)}`);
  }
  return { total, iterations };
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

export function resultMessage(total: number): string {
  return `${total} random users created with success!`;
}

/** The seed's `create_random_user_accounts(total)`. */
export const generateUsers = defineTask({
  name: 'generate_users',
  validate: parseGenerateUsersPayload,
  maxAttempts: 3,
  async handler({ total, iterations }, context) {
    const { faker } = await import('@faker-js/faker/locale/en');
    const hashes = await hashAll(total, iterations, context.progress, context.signal);
    const names = hashes.map(() => ({ first_name: faker.person.firstName(), last_name: faker.person.lastName() }));
    return context.complete(async (trx) => {
      const usernames = await freeUsernames(trx, total);
      const dateJoined = new Date().toISOString();
      await insertUsers(
        trx,
        hashes.map((password, i): NewUser => {
          const username = usernames[i]!;
          return {
            username,
            email: `${username}@example.com`,
            ...names[i]!,
            password,
            is_superuser: 0,
            is_staff: 0,
            is_active: 1,
            last_login: null,
            date_joined: dateJoined,
            job_id: context.jobId,
          };
        }),
      );
      return resultMessage(total);
    });
  },
});

/**
 * Hashes `total` fresh random passwords, as many at once as the thread pool has threads, so one
 * job uses every core. The passwords themselves are dropped as soon as they are hashed.
 */
async function hashAll(
  total: number,
  iterations: number,
  progress: (current: number, total: number) => Promise<void>,
  signal: AbortSignal,
): Promise<string[]> {
  const hashes = new Array<string>(total);
  const lanes = Math.min(total, Number(process.env.UV_THREADPOOL_SIZE) || 4);
  let next = 0;
  let done = 0;
  await progress(0, total);
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < total) {
        signal.throwIfAborted();
        const index = next++;
        hashes[index] = await hashPassword(randomPassword(), iterations);
        done += 1;
        await progress(done, total);
      }
    }),
  );
  return hashes;
}

/** `count` distinct `user_` + 10 letters names that no user has yet (a clash is rare, not impossible). */
async function freeUsernames(trx: Transaction<Database>, count: number): Promise<string[]> {
  const names = new Set<string>();
  for (;;) {
    while (names.size < count) names.add(`user_${randomString(10, ASCII_LETTERS)}`);
    const taken = await takenUsernames(trx, [...names]);
    if (taken.size === 0) return [...names];
    for (const name of taken) names.delete(name);
  }
}
