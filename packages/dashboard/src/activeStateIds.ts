/**
 * The ids of the state nodes a state value has active, the root first:
 * `{ running: { load: 'busy' } }` of machine `runner` gives `runner`,
 * `runner.running`, `runner.running.load`, `runner.running.load.busy`.
 * (State nodes keep their default ids, `<machine>.<path>`, in every Troupe
 * machine.)
 */
export function activeStateIds(machineId: string, value: unknown): string[] {
  const ids = [machineId];
  const visit = (prefix: string, node: unknown): void => {
    if (typeof node === 'string') {
      ids.push(`${prefix}.${node}`);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [key, child] of Object.entries(node)) {
      ids.push(`${prefix}.${key}`);
      visit(`${prefix}.${key}`, child);
    }
  };
  visit(machineId, value);
  return ids;
}
