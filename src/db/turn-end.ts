/**
 * Work deferred to the end of the event loop's current turn, once the I/O it brought has been handled: first the
 * batch writers' flushes (BatchWriter), then the commits of the database driver (sqlite-group-commit.ts). Two
 * setImmediate callbacks would run in the order they were scheduled, so a flush scheduled after the turn's
 * transaction opened would commit on its own, one turn later; in this order the rows it writes join the turn's commit.
 */
type Stage = 'flush' | 'commit';

const queued: Record<Stage, (() => void)[]> = { flush: [], commit: [] };
let scheduled = false;

export function atTurnEnd(stage: Stage, work: () => void): void {
  queued[stage].push(work);
  if (!scheduled) {
    scheduled = true;
    setImmediate(runTurnEnd);
  }
}

function runTurnEnd(): void {
  scheduled = false;
  let failure: { error: unknown } | undefined;
  // Every callback runs even if one throws: a commit skipped would leave its turn's statements waiting forever.
  const runAll = (work: (() => void)[]) => {
    for (const callback of work) {
      try {
        callback();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  // A flush may open the turn's transaction, and so queue its commit: commits are taken after every flush ran.
  runAll(queued.flush.splice(0));
  runAll(queued.commit.splice(0));
  if (failure) throw failure.error;
}
