import { tempDb } from './helpers.js';
import { tempPgDatabase } from './postgres.js';

// The engines a test runs against: where a fresh, empty database of each is (an SQLite file in a
// folder of its own, a PostgreSQL database of its own), made anew for every test.

export interface Engine {
  name: 'sqlite' | 'postgres';
  /** A fresh database's location, as `--db` takes it. */
  database(): Promise<string>;
}

export const ENGINES: Engine[] = [
  { name: 'sqlite', database: async () => tempDb().db },
  { name: 'postgres', database: tempPgDatabase },
];
