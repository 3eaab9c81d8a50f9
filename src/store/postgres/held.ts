import { AsyncLocalStorage } from 'node:async_hooks';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';

/**
 * Refuses a query through the store's own `db` made from inside a write's callback that asked for
 * it (WriteOptions.heldMessage: a task's `complete()`). On SQLite such a query would wait for the
 * connection the transaction holds; here it would run on another connection of the pool, outside
 * the transaction, and commit whether or not the completion's fence lets the job's own writes in.
 */
export class HeldWrites implements KyselyPlugin {
  readonly #held = new AsyncLocalStorage<string>();

  run<T>(message: string, work: () => Promise<T>): Promise<T> {
    return this.#held.run(message, work);
  }

  /** Throws inside such a callback: for the store's statements that go to the pool without kysely. */
  refuseIfHeld(): void {
    const message = this.#held.getStore();
    if (message !== undefined) throw new Error(message);
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.refuseIfHeld();
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
