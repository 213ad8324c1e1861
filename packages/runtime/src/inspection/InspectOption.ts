import type { InspectionEvent, Observer } from 'xstate';

/**
 * An XState inspection observer, passed to every actor Troupe creates: e.g.
 * `createWebSocketInspector().inspect` from `@statelyai/inspect`, or a
 * function receiving every inspection event.
 */
export type InspectOption = Observer<InspectionEvent> | ((event: InspectionEvent) => void);
