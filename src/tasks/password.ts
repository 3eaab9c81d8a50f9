import { pbkdf2, randomInt } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export const ASCII_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALPHANUMERIC = `${ASCII_LETTERS}0123456789`;

/** Django's default for pbkdf2_sha256 (5.x). */
export const DEFAULT_HASH_ITERATIONS = 600_000;
export const PASSWORD_LENGTH = 50;
/** Django's salts are 22 characters from [a-zA-Z0-9] (about 131 bits). */
const SALT_LENGTH = 22;

/** A string of `length` characters drawn uniformly from `alphabet` by node:crypto. */
export function randomString(length: number, alphabet: string): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export function randomPassword(): string {
  return randomString(PASSWORD_LENGTH, ALPHANUMERIC);
}

/**
 * Django's PBKDF2PasswordHasher encoding: `pbkdf2_sha256$<iterations>$<salt>$<base64 sha256>`.
 * Runs on libuv's thread pool, so hashes in flight share every core.
 */
export async function hashPassword(password: string, iterations: number, salt = randomString(SALT_LENGTH, ALPHANUMERIC)): Promise<string> {
  const key = await pbkdf2Async(password, salt, iterations, 32, 'sha256');
  return `pbkdf2_sha256$${iterations}$${salt}$${key.toString('base64')}`;
}
