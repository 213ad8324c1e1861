/**
 * Transitions the real runtime cannot take (or not on purpose), and why.
 * The core unit tests take them with fake effects. A transition that is
 * neither realized on the real runtime nor listed here fails the
 * model-based test, and so does one listed here that a path realized.
 */
export const unrealizable: Readonly<Record<string, string>> = {
  // ---- runner -----------------------------------------------------------------------
  'runner.starting --troupe.runner.close[0]--> runner.closing':
    'a runner stopped while starting has work queued (else it closes at once); the coordinator aborts that work at its drain deadline before it closes, and the runner leaves for closing on the idle that follows',
  'runner.starting.pool.loading --troupe.runner.threadUp[2]--> (self)':
    'the model runner has one thread: its first threadUp is always the last',
  'runner.restarting.releasing.pool.tearingDown --xstate.error.actor.0.runner.restarting.releasing.pool.tearingDown[0]--> runner.restarting.releasing.pool.destroying':
    'teardownThreads cannot reject: ThreadChannels.teardown settles every call',
  'runner.restarting.releasing.pool.destroying --xstate.error.actor.0.runner.restarting.releasing.pool.destroying[0]--> runner.starting.admission.closed':
    'destroyPool cannot reject: the pool awaits every thread exit, ThreadChannels.goneAll settles every close',
  'runner.restarting.releasing.pool.destroying --xstate.error.actor.0.runner.restarting.releasing.pool.destroying[1]--> runner.closing':
    'destroyPool cannot reject: the pool awaits every thread exit, ThreadChannels.goneAll settles every close',
  'runner.restarting.releasing.pool.destroying --xstate.error.actor.0.runner.restarting.releasing.pool.destroying[2]--> runner.restarting.waiting':
    'destroyPool cannot reject: the pool awaits every thread exit, ThreadChannels.goneAll settles every close',
  'runner.draining.flushing --troupe.runner.close[0]--> runner.closing':
    'the coordinator closes only once its drain saw the runner drained, or after abort, which takes a flushing runner to aborting',
  'runner.draining.terminating --troupe.runner.close[0]--> runner.closing':
    'with one thread, terminating is entered busy: the busy thread gets no teardown, so terminating ends within a thread termination, too short to place a deadline of the coordinator in',
  'runner.draining.terminating.tearingDown --xstate.error.actor.0.runner.draining.terminating.tearingDown[0]--> runner.draining.terminating.destroying':
    'teardownThreads cannot reject: ThreadChannels.teardown settles every call',
  'runner.draining.terminating.tearingDown --xstate.after.abortGrace.runner.draining.terminating.tearingDown[0]--> runner.draining.terminating.destroying':
    'with one thread, terminating is entered busy: a busy thread gets no teardown, so there is none to outlast abortGraceMs',
  'runner.draining.terminating.destroying --xstate.error.actor.0.runner.draining.terminating.destroying[0]--> runner.draining.drained':
    'destroyPool cannot reject: the pool awaits every thread exit, ThreadChannels.goneAll settles every close',
  'runner.closing.tearingDown --xstate.error.actor.0.runner.closing.tearingDown[0]--> runner.closing.destroying':
    'teardownThreads cannot reject: ThreadChannels.teardown settles every call',
  'runner.closing.destroying --xstate.error.actor.0.runner.closing.destroying[0]--> runner.failed':
    'destroyPool cannot reject: the pool awaits every thread exit, ThreadChannels.goneAll settles every close',
  'runner.closing.destroying --xstate.error.actor.0.runner.closing.destroying[1]--> runner.stopped':
    'destroyPool cannot reject: the pool awaits every thread exit, ThreadChannels.goneAll settles every close',
  'runner.running --troupe.runner.threadHung[0]--> runner.closing':
    'a hung thread needs a task blocking its thread past hungAfterMs and the health monitor probing it, which the driver turns off (health: { enabled: false }) so that every step stays held; what follows the verdict (the task failed, idle, the terminated exit, the replacement) happens on its own, several model events in one step. Taken with fake effects in runnerMachine.test.ts (R50-R51) and on real threads in integration/health.test.ts',
  'runner.running --troupe.runner.threadHung[1]--> (self)':
    'a hung thread needs a task blocking its thread past hungAfterMs and the health monitor probing it, which the driver turns off (health: { enabled: false }) so that every step stays held; what follows the verdict (the task failed, idle, the terminated exit, the replacement) happens on its own, several model events in one step. Taken with fake effects in runnerMachine.test.ts (R50-R51) and on real threads in integration/health.test.ts',
  'runner.running --troupe.runner.threadHung[2]--> runner.closing':
    'a hung thread needs a task blocking its thread past hungAfterMs and the health monitor probing it, which the driver turns off (health: { enabled: false }) so that every step stays held; what follows the verdict (the task failed, idle, the terminated exit, the replacement) happens on its own, several model events in one step. Taken with fake effects in runnerMachine.test.ts (R50-R51) and on real threads in integration/health.test.ts',
  // ---- shutdown ---------------------------------------------------------------------
  'shutdown.signaling.working --xstate.error.actor.0.shutdown.signaling.working[0]--> shutdown.signaling.gating':
    'the signal phase cannot reject: it closes admission, tells the runners and awaits notices whose failures are caught',
  'shutdown.draining.waiting --xstate.error.actor.0.shutdown.draining.waiting[0]--> shutdown.draining.forcing':
    'the drain phase cannot reject: it waits for runner snapshots, and that wait settles whatever happens to the runner',
  'shutdown.draining.forcing --xstate.error.actor.0.shutdown.draining.forcing[0]--> shutdown.draining.gating':
    'forceDrain cannot reject: it sends abort, then waits like the drain phase',
  'shutdown.closing.waiting --xstate.error.actor.0.shutdown.closing.waiting[0]--> shutdown.closing.forcing':
    'closeAll() cannot reject: each resource close is settled',
  'shutdown.closing.forcing --xstate.error.actor.0.shutdown.closing.forcing[0]--> shutdown.closing.gating':
    'forceClose cannot reject: it awaits allSettled',
  'shutdown.draining --troupe.shutdown.force[2]--> (self)':
    'a force while the forced drain runs only marks the phase timed out, which whatever entered forcing (its deadline, a force) already did: the driver sends no second force. Taken with fake effects in shutdownMachine.test.ts D17',
  'shutdown.closing --troupe.shutdown.force[2]--> (self)':
    'a force while the forced close runs only marks the phase timed out, which whatever entered forcing (its deadline, a force) already did: the driver sends no second force. Taken with fake effects in shutdownMachine.test.ts D17',
  'shutdown.draining --xstate.after.drainingDeadline.shutdown.draining[2]--> (self)':
    'forcing is entered by that very deadline (the drain phase never rejects), so the deadline never finds the phase forcing',
  'shutdown.closing --xstate.after.closingDeadline.shutdown.closing[2]--> (self)':
    'forcing is entered by that very deadline (closeAll() never rejects), so the deadline never finds the phase forcing',
  // ---- channel ----------------------------------------------------------------------
  'channel.closing --xstate.error.actor.0.channel.closing[0]--> channel.closed':
    'flushCalls cannot reject: it waits for pending calls to settle',
};
