import type { Observer, Subscription } from 'xstate';

/** Anything with XState's read side: a snapshot now and a subscription to the next ones. */
export interface Observable<TSnapshot> {
  getSnapshot(): TSnapshot;
  subscribe(observer: Partial<Observer<TSnapshot>>): Subscription;
}

/**
 * Resolves once the snapshot satisfies `predicate`, or the actor is done,
 * errored or stopped: whatever happens to the actor, the promise settles
 * (xstate's `waitFor` rejects instead, and a plain subscription without
 * `complete` would hang when the actor is stopped from outside).
 */
export function untilSnapshot<TSnapshot extends { readonly status: string }>(
  actor: Observable<TSnapshot>,
  predicate: (snapshot: TSnapshot) => boolean,
): Promise<void> {
  const now = actor.getSnapshot();
  if (now.status !== 'active' || predicate(now)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let done = false;
    let sub: Subscription | null = null;
    const finish = (): void => {
      if (done) return;
      done = true;
      sub?.unsubscribe();
      resolve();
    };
    sub = actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status !== 'active' || predicate(snapshot)) finish();
      },
      error: finish,
      complete: finish,
    });
  });
}
