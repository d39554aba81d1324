// Typed hooks: the events plugins react to. Handlers run in registration order and are awaited;
// a throwing handler is reported with its owner and does not stop the others.

export interface HookEvents {
  /** The node finished starting: datapath loaded, API serving. */
  nodeReady: { node: string };
  endpointAdded: { id: string; namespace: string; name: string; ips: string[] };
  endpointRemoved: { id: string };
  serviceChanged: { key: string; deleted: boolean };
  policyChanged: { key: string; deleted: boolean };
  /** The datapath was (re)loaded or reconfigured; plugins re-apply their datapath state. */
  datapathRegenerate: { reason: string };
}

export type HookName = keyof HookEvents;
export type HookHandler<E extends HookName> = (payload: HookEvents[E]) => void | Promise<void>;
type Handler<E extends HookName> = HookHandler<E>;

/** The hooks as a plugin sees them: subscriptions are owned by the plugin. */
export interface PluginHooks {
  on<E extends HookName>(event: E, fn: HookHandler<E>): () => void;
  emit<E extends HookName>(event: E, payload: HookEvents[E]): Promise<HookError[]>;
}

export interface HookError {
  event: HookName;
  owner: string;
  error: unknown;
}

export class Hooks {
  readonly #handlers = new Map<HookName, Array<{ owner: string; fn: Handler<HookName> }>>();
  readonly #onError: (e: HookError) => void;

  constructor(onError: (e: HookError) => void = () => {}) {
    this.#onError = onError;
  }

  /** Subscribes `fn` on behalf of `owner` (a plugin id or "core"); returns the unsubscribe. */
  on<E extends HookName>(event: E, owner: string, fn: Handler<E>): () => void {
    const list = this.#handlers.get(event) ?? [];
    const entry = { owner, fn: fn as Handler<HookName> };
    list.push(entry);
    this.#handlers.set(event, list);
    return () => {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Runs every handler; returns the errors (also passed to onError). */
  async emit<E extends HookName>(event: E, payload: HookEvents[E]): Promise<HookError[]> {
    const errors: HookError[] = [];
    for (const { owner, fn } of [...(this.#handlers.get(event) ?? [])]) {
      try {
        await fn(payload);
      } catch (error) {
        const e = { event, owner, error };
        errors.push(e);
        this.#onError(e);
      }
    }
    return errors;
  }

  /** Removes every handler of `owner` (when a plugin stops). */
  removeOwner(owner: string): void {
    for (const list of this.#handlers.values()) {
      for (let i = list.length - 1; i >= 0; i--) if (list[i]!.owner === owner) list.splice(i, 1);
    }
  }
}
