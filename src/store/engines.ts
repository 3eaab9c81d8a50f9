import type { Engine } from './engine.js';
import { postgresEngine } from './postgres/engine.js';
import { sqliteEngine } from './sqlite/engine.js';

// The engines, in the order a location is offered to them: the last takes any location.
export const ENGINES: readonly Engine[] = [postgresEngine, sqliteEngine];

/** The engine of the database at `location`. */
export function engineOf(location: string): Engine {
  return ENGINES.find((engine) => engine.owns(location))!;
}

export { checkSchemaName } from './postgres/location.js';
