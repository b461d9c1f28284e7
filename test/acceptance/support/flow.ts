// An end-to-end flow is a chain: register → enable → configure → creds → ...
// Once a step fails, the steps after it are skipped with a note naming the
// failed step (instead of failing with follow-on noise), so the report says
// where the flow stopped. Steps marked `independent` run anyway.
import { it, type TestContext } from "vitest";

export interface StepOptions {
  timeoutMs?: number;
  /** Runs even when an earlier step failed. */
  independent?: boolean;
}

export interface Flow {
  step(title: string, body: (context: TestContext) => Promise<void>, options?: StepOptions): void;
  /** Title of the first step that failed, if any. */
  failed(): string | undefined;
}

/** @param onFirstFailure called once, when the first step fails (e.g. to print server logs). */
export function createFlow(onFirstFailure: (title: string) => void): Flow {
  let firstFailure: string | undefined;
  return {
    step(title, body, options = {}) {
      it(
        title,
        async (context) => {
          if (firstFailure !== undefined && options.independent !== true) {
            context.skip(`not run: the earlier step "${firstFailure}" failed`);
          }
          context.onTestFailed(() => {
            if (firstFailure !== undefined) return;
            firstFailure = title;
            onFirstFailure(title);
          });
          await body(context);
        },
        options.timeoutMs ?? 120_000,
      );
    },
    failed: () => firstFailure,
  };
}
