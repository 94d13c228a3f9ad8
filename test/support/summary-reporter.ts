/**
 * A vitest reporter that adds one plain closing line after the default reporter's summary:
 *
 *   Tests: 120 passed, 0 failed, 3 skipped
 *
 * scripts/test.sh adds it (`--reporter=default --reporter=./test/support/summary-reporter.ts`) so
 * that a CI log ends with what ran in a form any reader can parse. A test file that failed
 * without a failing test (an import error, a failing beforeAll) counts as one failure.
 */
import { writeFileSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      let failedHere = 0;
      for (const t of mod.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      if (failedHere === 0 && (mod.state() === 'failed' || mod.errors().length > 0)) failedHere = 1;
      failed += failedHere;
    }
    failed += unhandledErrors.length;
    // The suite must stay well under CI's budget: show where the time goes.
    const slowest = testModules
      .map((m) => ({ file: m.relativeModuleId, ms: m.diagnostic().duration }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 5);
    if (slowest.length > 0) {
      process.stdout.write(
        `\nSlowest test files: ${slowest.map((x) => `${x.file} ${(x.ms / 1000).toFixed(0)} s`).join(', ')}\n`,
      );
    }
    const line = `Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`;
    // scripts/test.sh prints it as the log's very last line, after the global teardown.
    if (process.env.ROOTC_TEST_SUMMARY) writeFileSync(process.env.ROOTC_TEST_SUMMARY, `${line}\n`);
    else process.stdout.write(`\n${line}\n`);
  }
}
