/** The fake model's vocabulary: tokens are picked from it by the weights. */
export const VOCABULARY: readonly string[] = [
  'the a model thread worker token stream quietly returns context signal drains before closing',
  'every port is closed and then supervisor restarts it with backoff while requests keep flowing',
  'through queue of tasks on pool graceful shutdown waits for in-flight work to finish no promise',
  'left pending weights load once per cache warm answer slowly emerges from noise like tide under',
  'moon bright calm . ,',
]
  .join(' ')
  .split(' ');
