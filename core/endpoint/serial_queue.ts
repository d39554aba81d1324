// One queue, one owner: tasks run one at a time in arrival order, so awaits inside a task
// cannot interleave with another task's half-applied changes. A failed task does not stop
// the queue.
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #depth = 0;

  run<T>(task: () => Promise<T>): Promise<T> {
    this.#depth++;
    const result = this.#tail.then(task, task);
    this.#tail = result.then(
      () => this.#depth--,
      () => this.#depth--,
    );
    return result;
  }

  /** Tasks queued or running. */
  get depth(): number {
    return this.#depth;
  }
}
