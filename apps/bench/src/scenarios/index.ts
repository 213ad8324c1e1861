import type { Scenario } from '../scenario.js';
import { cluster } from './cluster.js';
import { dashboard } from './dashboard.js';
import { health } from './health.js';
import { inspection } from './inspection.js';
import { memory } from './memory.js';
import { messaging } from './messaging.js';
import { resources } from './resources.js';
import { shutdown } from './shutdown.js';
import { startup } from './startup.js';
import { throughput } from './throughput.js';

/** Every scenario, in the order `npm run bench` runs them. */
export const scenarios: readonly Scenario[] = [
  throughput,
  messaging,
  startup,
  shutdown,
  resources,
  memory,
  inspection,
  health,
  dashboard,
  cluster,
];
