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
  // A flush may open the turn's transaction, and so queue its commit: commits are taken after every flush ran.
  for (const flush of queued.flush.splice(0)) flush();
  for (const commit of queued.commit.splice(0)) commit();
}
