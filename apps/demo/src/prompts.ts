/** Prompts the request generator cycles through. */
export const PROMPTS: readonly string[] = [
  'Explain supervision trees to a five-year-old',
  'Write a haiku about worker threads',
  'Summarize the three phases of a graceful shutdown',
  'Why do queues fill up on Friday afternoons?',
  'Translate "no promise left pending" into French',
  'List three ways a thread can die',
  'Draft a postmortem for a retry storm',
  'Describe the smell of a warm KV cache',
  'What is backpressure, in one paragraph?',
  'Compose a limerick about orphaned file handles',
];
