export {
  joinCluster,
  type Cluster,
  type ClusterHealth,
  type ClusterOptions,
} from './joinCluster.js';
export { ClusterRunner, type ClusterRunOptions } from './ClusterRunner.js';
export type { ClusterNodeView } from './Membership.js';
export type { NodeEntry } from './wire.js';
export type {
  ClusterShutdownNode,
  ClusterShutdownOptions,
  ClusterShutdownReport,
  ClusterShutdownStep,
} from './ClusterShutdownReport.js';
