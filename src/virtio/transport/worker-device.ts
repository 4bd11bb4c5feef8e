// A device worker of transport `worker`: the virtio-blk data plane
// (BlkQueueEngine) for its share of the queues, on guest memory that is a
// SharedArrayBuffer, with its own handle on the backend's medium.
//
// The loop: read control messages, run scheduled publishes, pass over every
// owned ring (pop, run, push, publish, interrupt), beat the heartbeat; then
// wait for the doorbell. While backend operations are in progress the wait is
// Atomics.waitAsync, so their completions (the event loop) get in; otherwise
// the worker may poll the doorbell for `pollUs`, then sleeps in Atomics.wait,
// which costs no CPU and wakes on the driver's Atomics.notify. The ring passes
// end with notifications enabled again (EVENT_IDX: avail_event = last seen),
// so a driver that keeps submitting while the worker is busy does not kick.
// Control messages take effect between passes: a request made available
// while a state change (read-only, capacity) is on its way may still be
// served under the old state, as a device that latches its configuration
// between requests would.

import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { GuestMemory } from '../guest-memory.js';
import { BlkQueueEngine } from '../device/blk-queues.js';
import { openSharedBackend } from '../device/backends/share.js';
import { MarkedBackend } from './worker-backend.js';
import { HEARTBEAT_MS, WorkerSignals, queuesOf, type FromWorker, type ToWorker, type WorkerInit } from './worker-signals.js';

function post(m: FromWorker): void {
  parentPort?.postMessage(m);
}

async function main(init: WorkerInit): Promise<void> {
  const opened = await openSharedBackend(init.backend);
  if (!('read' in opened)) {
    post({ type: 'failed', reason: `cannot open the backend in device worker ${init.index}: ${opened.message}` });
    return;
  }
  const signals = new WorkerSignals(init.workers, init.queues, init.signals);
  const words = signals.words;
  const w = init.index;
  const backend = new MarkedBackend(opened, signals, w);
  const bell = signals.bellWord(w);
  const owned = queuesOf(w, init.workers, init.queues);
  const scheduled: (() => void)[] = [];
  const engine = new BlkQueueEngine(new GuestMemory(init.memory), backend, init.state, {
    interrupt: (q) => {
      signals.interrupt(q);
    },
    needsReset: (reason) => {
      post({ type: 'needs-reset', reason });
    },
    // An answer that came back asynchronously is published by the loop; the bell wakes it.
    schedule: (fn) => {
      scheduled.push(fn);
      signals.ring(w);
    },
  });
  const control = (m: ToWorker): boolean => {
    switch (m.type) {
      case 'enable':
        engine.enable(m.q, m.size, m.addrs, m.features);
        return true;
      case 'start':
        engine.start();
        return true;
      case 'update':
        engine.update(m.state);
        return true;
      case 'stop':
        void engine.stop().then(() => {
          post({ type: 'stopped', id: m.id });
        });
        return true;
      case 'exit':
        return false;
      case 'fault':
        if (typeof m.fault === 'object') {
          backend.slowNext(m.fault.slowBackendMs);
          return true;
        }
        if (m.fault === 'exit') process.exit(70);
        // A hung device: the thread spins and never beats again.
        for (;;) Atomics.load(words, bell);
    }
  };
  // Atomics.waitAsync's timeout does not keep a worker's event loop alive: a
  // reset that drops the answer of a backend call in flight would leave the
  // loop with nothing pending, and the thread would end. This timer holds it.
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  post({ type: 'ready' });
  const spinNs = BigInt(Math.round(init.pollUs * 1000));
  let controlSeen = 0;
  for (;;) {
    const seen = Atomics.load(words, bell);
    const posted = signals.controlCount(w);
    // The driver's thread posts before it bumps the count: a count seen moved means its messages are there.
    if (posted !== controlSeen) {
      controlSeen = posted;
      for (let m = receiveMessageOnPort(init.port); m !== undefined; m = receiveMessageOnPort(init.port)) {
        if (!control(m.message as ToWorker)) {
          clearInterval(keepAlive);
          await engine.stop();
          await backend.close();
          return;
        }
      }
    }
    for (const fn of scheduled.splice(0)) fn();
    for (const q of owned) engine.notify(q);
    signals.beat(w);
    signals.setInflight(w, engine.inflight);
    for (const q of owned) {
      const s = engine.interruptStats(q);
      if (s !== undefined) signals.setInterruptStats(q, s);
    }
    if (engine.inflight > 0 || scheduled.length > 0) {
      const r = Atomics.waitAsync(words, bell, seen, HEARTBEAT_MS);
      if (r.async) await r.value;
      continue;
    }
    // Let promise reactions of this pass run (a stop's answer) before the thread blocks.
    await Promise.resolve();
    if (spinNs > 0n) {
      const until = process.hrtime.bigint() + spinNs;
      while (Atomics.load(words, bell) === seen && process.hrtime.bigint() < until) signals.beat(w);
    }
    Atomics.wait(words, bell, seen, HEARTBEAT_MS);
  }
}

await main(workerData as WorkerInit);
