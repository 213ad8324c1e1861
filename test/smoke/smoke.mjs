import { createTroupe } from '@troupe/runtime';
const troupe = createTroupe({ shutdown: { drainingMs: 2000 } });
troupe.on('runner:state', (e) => console.log('state', e.runnerId, e.previous, '->', e.state));
troupe.on('shutdown:phase', (e) => console.log('phase', e.phase));
troupe.on('error', (r) => console.log('error event', r.code, r.message));
const plain = await troupe.spawnRunner({ id: 'plain', worker: new URL('./plain.mjs', import.meta.url), threads: 2 });
console.log('plain', await plain.run(1), await plain.run(4, { handler: 'double' }));
try { await plain.run(0, { handler: 'boom' }); } catch (e) { console.log('boom ->', e.code, e.message, '| cause:', e.cause?.message); }
try { await plain.run(0, { handler: 'exit' }); } catch (e) { console.log('exit ->', e.code, e.message); }
console.log('after crash', await plain.run(41));
const def = await troupe.spawnRunner({ id: 'def', worker: new URL('./defined.mjs', import.meta.url), threads: 2 });
def.on('event', (e, m) => console.log('event', m.taskId, JSON.stringify(e)));
console.log('generate', await def.run('hi', { handler: 'generate' }));
try { await def.run(0, { handler: 'fail' }); } catch (e) { console.log('fail ->', e.code, e.message, e.cause?.name); }
try { await def.run(0, { handler: 'hang', timeoutMs: 100 }); } catch (e) { console.log('hang ->', e.code, e.message); }
const inflight = [plain.run(300, { handler: 'sleep' }), plain.run(600, { handler: 'sleep' })];
const t0 = performance.now();
const report = await troupe.shutdown({ reason: 'smoke' });
console.log('inflight', await Promise.allSettled(inflight));
console.log('report', JSON.stringify({ ...report, resources: { ...report.resources, details: report.resources.details.map(d => `${d.id}:${d.outcome}`) } }, null, 1));
console.log('took', Math.round(performance.now() - t0));
