/**
 * A cycle among the batch's own edges (edges to existing resources cannot
 * close one). Iterative depth-first search: a chain of thousands of
 * resources must not overflow the stack.
 */
export function findCycle(
  batch: ReadonlyMap<string, { readonly dependsOn?: readonly string[] | undefined }>,
): string[] | null {
  const GREY = 1;
  const BLACK = 2;
  const color = new Map<string, number>();
  for (const root of batch.keys()) {
    if (color.has(root)) continue;
    const frames: { id: string; next: number }[] = [{ id: root, next: 0 }];
    const path: string[] = [root];
    color.set(root, GREY);
    while (frames.length > 0) {
      const top = frames[frames.length - 1] as { id: string; next: number };
      const deps = batch.get(top.id)?.dependsOn ?? [];
      if (top.next < deps.length) {
        const dep = deps[top.next] as string;
        top.next += 1;
        if (!batch.has(dep)) continue;
        const c = color.get(dep);
        if (c === GREY) return [...path.slice(path.indexOf(dep)), dep];
        if (c === undefined) {
          color.set(dep, GREY);
          frames.push({ id: dep, next: 0 });
          path.push(dep);
        }
      } else {
        color.set(top.id, BLACK);
        frames.pop();
        path.pop();
      }
    }
  }
  return null;
}
