/**
 * What a benchmark started and must undo however it ends: normally, on an error, on Ctrl-C, or when
 * it runs past its time limit. Steps run last-in first-out. Each step has an orderly form (stop a
 * server and wait for it) and a last-resort form for a process that is already exiting (send the
 * signal, remove the directory), which cannot wait for anything.
 */
export interface TeardownStep {
  readonly orderly: () => Promise<void>;
  readonly lastResort: () => void;
}

export class Teardown {
  private readonly steps: TeardownStep[] = [];
  private running: Promise<void> | undefined;
  private exiting: Promise<never> | undefined;

  constructor() {
    process.once('exit', () => {
      for (const step of this.steps.splice(0).reverse()) step.lastResort();
    });
    process.once('SIGINT', () => void this.exit(130, 'interrupted; stopping what was started'));
    process.once('SIGTERM', () => void this.exit(143, 'terminated; stopping what was started'));
  }

  /** Whether the run is being given up (a signal, the time limit, an error). */
  get stopping(): boolean {
    return this.exiting !== undefined;
  }

  /**
   * Registers a step; the returned function runs it early, e.g. between two servers. A step stays
   * registered until its orderly form has finished, so it may run twice: it must allow that.
   */
  add(step: TeardownStep): () => Promise<void> {
    this.steps.push(step);
    return async () => {
      await step.orderly();
      const index = this.steps.indexOf(step);
      if (index >= 0) this.steps.splice(index, 1);
    };
  }

  /** Runs every remaining step in reverse order; a failing step does not keep the others from running. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (let step = this.steps.pop(); step !== undefined; step = this.steps.pop()) {
        try {
          await step.orderly();
        } catch (error) {
          process.stderr.write(`clean-up step failed: ${(error as Error).message}\n`);
          step.lastResort();
        }
      }
    })();
    return this.running;
  }

  /**
   * Gives up: cleans up, then exits with `code`. Only the first call counts: the errors that stopping
   * causes in work still running (a request cut off, a server gone) are not reported again.
   */
  exit(code: number, reason: string): Promise<never> {
    this.exiting ??= (async () => {
      process.stderr.write(`${reason}\n`);
      await this.run();
      process.exit(code);
    })();
    return this.exiting;
  }

  /** Exits with an error if the run is not over within `limitMs`. */
  limitTime(limitMs: number, what: string): void {
    setTimeout(() => void this.exit(1, `${what} did not finish within ${Math.round(limitMs / 1000)} s; stopping what was started`), limitMs).unref();
  }
}
