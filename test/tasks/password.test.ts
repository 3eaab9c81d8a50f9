import { describe, expect, it } from 'vitest';
import { hashPassword, randomPassword } from '../../src/tasks/password.js';
import { generate, inspectDb, tempDb } from '../helpers.js';

describe('password hashes', () => {
  it("reproduce Django's pbkdf2_sha256 test vector", async () => {
    expect(await hashPassword('lètmein', 1000, 'seasalt')).toBe('pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=');
  });

  it('are random 50-character passwords', () => {
    const passwords = new Set(Array.from({ length: 100 }, randomPassword));
    expect(passwords.size).toBe(100);
    for (const password of passwords) expect(password).toMatch(/^[A-Za-z0-9]{50}$/);
  });

  it('of generated users parse as Django hashes, with distinct salts', async () => {
    const { db: file } = tempDb();
    await generate(file, 50, '--wait');
    const users = inspectDb(file).prepare('select * from users').all() as Array<Record<string, string>>;
    expect(users).toHaveLength(50);
    const salts = new Set<string>();
    for (const user of users) {
      const match = /^pbkdf2_sha256\$1000\$([A-Za-z0-9]{22})\$[A-Za-z0-9+/]{43}=$/.exec(user.password!);
      expect(match, user.password).not.toBeNull();
      salts.add(match![1]!);
      expect(user.username).toMatch(/^user_[A-Za-z]{10}$/);
      expect(user.email).toBe(`${user.username}@example.com`);
      expect(user.date_joined).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(user.first_name).not.toBe('');
    }
    expect(salts.size).toBe(50);
    expect(new Set(users.map((user) => user.username)).size).toBe(50);
  });
});
