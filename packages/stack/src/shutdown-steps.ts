import { StackStopError } from './errors.js';

/** Cleanup steps, run newest first; each runs even if an earlier one failed, and only once. */
export class ShutdownSteps {
  readonly #steps: Array<() => Promise<unknown>> = [];
  #running: Promise<void> | undefined;

  add(step: () => Promise<unknown>): void {
    this.#steps.push(step);
  }

  run(): Promise<void> {
    this.#running ??= this.#runAll();
    return this.#running;
  }

  async #runAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of [...this.#steps].reverse()) {
      await step().catch((error: unknown) => errors.push(error));
    }
    if (errors.length > 0)
      throw new StackStopError(errors.map(String).join('; '), { cause: new AggregateError(errors) });
  }
}
