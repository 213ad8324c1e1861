import type { AnyActorRef } from 'xstate';
import { InspectionHub } from './InspectionHub.js';
import type { InspectOption } from './InspectOption.js';

/**
 * How an actor Troupe creates is inspected: by a troupe's hub (tracked,
 * watched only while someone watches), or by a plain observer given to a
 * unit used on its own (a channel, in tests).
 */
export type Inspection = InspectOption | InspectionHub;

/** `createActor` options for `inspection`: a plain observer goes in; a hub attaches later. */
export function inspectOptions(inspection: Inspection | undefined): { inspect?: InspectOption } {
  return inspection === undefined || inspection instanceof InspectionHub
    ? {}
    : { inspect: inspection };
}

/** Call right after `createActor`, before `start()`: the hub tracks the new root. */
export function trackActor(inspection: Inspection | undefined, actor: AnyActorRef): void {
  if (inspection instanceof InspectionHub) inspection.track(actor);
}
