// A raw NATS responder process, the baselines of the `cluster` scenario: it
// subscribes to SUBJECT (a queue group, as a Troupe node does) and answers
// each request with its JSON payload, either run through the identity task
// on a raw piscina pool of one thread (MODE=piscina, with the options a
// Troupe runner gives piscina) or at once (MODE=direct). Env: NATS_URL,
// SUBJECT, MODE. Prints the JSON line {"up": subject} once the broker has
// its subscription. On SIGTERM, or when its stdin closes, it drains and exits.
import { connect, type Msg } from '@nats-io/transport-node';
import { Piscina } from 'piscina';

const WORKER = new URL('../workers/identity.js', import.meta.url);

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

const servers = process.env.NATS_URL;
const subject = process.env.SUBJECT;
const mode = process.env.MODE;
if (servers === undefined || servers === '') throw new Error('NATS_URL is not set');
if (subject === undefined || subject === '') throw new Error('SUBJECT is not set');
if (mode !== 'piscina' && mode !== 'direct')
  throw new Error(`MODE: piscina or direct, not ${mode}`);

const decoder = new TextDecoder();
const pool =
  mode === 'piscina'
    ? new Piscina({
        filename: WORKER.href,
        minThreads: 1,
        maxThreads: 1,
        idleTimeout: Infinity,
        maxQueue: Infinity,
        concurrentTasksPerWorker: 1,
        atomics: 'disabled',
      })
    : null;
const nc = await connect({ servers, name: `bench-raw-${mode}` });

const answer = (msg: Msg, value: unknown): void => {
  msg.respond(JSON.stringify(value));
};
nc.subscribe(subject, {
  queue: 'bench-raw',
  callback: (error, msg) => {
    if (error !== null) return;
    const payload = JSON.parse(decoder.decode(msg.data)) as unknown;
    if (pool === null) {
      answer(msg, payload);
      return;
    }
    pool.run(payload).then(
      (value: unknown) => {
        answer(msg, value);
      },
      (failure: unknown) => {
        answer(msg, { error: String(failure) });
      },
    );
  },
});

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  let code = 0;
  try {
    await nc.drain();
    await pool?.destroy();
  } catch (error) {
    process.stderr.write(`raw responder ${mode}: shutdown failed: ${String(error)}\n`);
    code = 1;
  }
  process.exit(code);
};
process.once('SIGTERM', () => void stop());
process.stdin.once('end', () => void stop());
process.stdin.resume();

// A first task warms the thread up, as a Troupe runner is ready before it serves.
if (pool !== null) await pool.run(0);
await nc.flush();
print({ up: subject });
