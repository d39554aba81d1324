// Damaged state files this process found, and how each was recovered. Readers all over core
// report here (they need no logger passed down); an agent watches its own state directory to
// log each report and shows them in `hypha status`. Several agents in one process (tests) keep
// apart by directory.

export interface StateFileDamage {
  path: string;
  /** What was wrong: "the file is empty", "not valid JSON (...)", a field and its problem. */
  problem: string;
  /** What the agent did instead: what it rebuilt, from where, and what is lost. */
  recovery: string;
  at: string;
}

type Watcher = { dir: string; fn: (d: StateFileDamage) => void };

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

export class DamageReports {
  readonly #byPath = new Map<string, StateFileDamage>();
  readonly #watchers = new Set<Watcher>();

  /** Records a damaged file (the latest report of a path wins) and tells the watchers. */
  report(path: string, problem: string, recovery: string): void {
    const d = { path, problem, recovery, at: new Date().toISOString() };
    this.#byPath.set(path, d);
    for (const w of this.#watchers) if (within(path, w.dir)) w.fn(d);
  }

  /** The reports of files under `dir`, by path. */
  under(dir: string): StateFileDamage[] {
    return [...this.#byPath.values()].filter((d) => within(d.path, dir))
      .sort((a, b) => a.path.localeCompare(b.path));
  }

  /** Calls `fn` for each new report under `dir`; returns the unsubscribe. */
  watch(dir: string, fn: (d: StateFileDamage) => void): () => void {
    const w = { dir, fn };
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }

  /** Drops the reports under `dir` (an agent starting on it begins a fresh list). */
  forget(dir: string): void {
    for (const path of [...this.#byPath.keys()]) if (within(path, dir)) this.#byPath.delete(path);
  }
}

/** The process's reports. */
export const damagedStateFiles = new DamageReports();
