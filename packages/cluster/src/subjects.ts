/** Subjects and names of one cluster: everything is namespaced by the cluster's name. */
export interface Subjects {
  /** Where tasks for runner `id` go (a queue group of the nodes that host it). */
  run(runnerId: string): string;
  /** The queue group of every node serving a runner. */
  readonly queue: string;
  /** The KV bucket of the membership. */
  readonly bucket: string;
  /** Where node `nodeId` answers what became of a task it took (after a broker outage). */
  taskStatus(nodeId: string): string;
  /** Where a cluster-wide shutdown is announced (every node listens). */
  readonly shutdown: string;
  /** Where the nodes of cluster shutdown `id` report their progress to each other. */
  shutdownProgress(id: string): string;
}

const NAME = /^[A-Za-z0-9_-]+$/;

/** The subjects of cluster `name` (letters, digits, `_` and `-`). */
export function subjectsOf(name: string): Subjects {
  if (!NAME.test(name)) {
    throw new TypeError(`cluster name "${name}": use letters, digits, "_" and "-" only`);
  }
  return {
    run: (runnerId) => `troupe.${name}.run.${encodeURIComponent(runnerId).replace(/[.*>%]/g, '_')}`,
    queue: `troupe-${name}-runners`,
    bucket: `troupe_${name}_nodes`,
    taskStatus: (nodeId) =>
      `troupe.${name}.node.${encodeURIComponent(nodeId).replace(/[.*>%]/g, '_')}.status`,
    shutdown: `troupe.${name}.shutdown`,
    shutdownProgress: (id) => `troupe.${name}.shutdown.${id.replace(/[^A-Za-z0-9_-]/g, '_')}`,
  };
}
