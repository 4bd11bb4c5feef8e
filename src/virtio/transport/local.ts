// Transport `local`: driver and device in the same thread. The doorbell does
// not run the device inside the kick; it schedules it on a later turn
// (setImmediate), coalescing doorbells per queue, so completion order and
// interrupt batching behave as they would with a real device.

import type { VirtioInterrupt } from './transport.js';
import { DeviceTransport } from './device-transport.js';

export class LocalTransport extends DeviceTransport {
  readonly #pending: boolean[] = [];
  #doorbells = 0;

  /** Doorbells the device actually received (after coalescing). */
  get doorbells(): number {
    return this.#doorbells;
  }

  override notify(q: number): void {
    if (this.#pending[q] === true) return;
    this.#pending[q] = true;
    setImmediate(() => {
      this.#pending[q] = false;
      this.#doorbells++;
      this.device.notify(q);
    });
  }

  override onInterrupt(handler: (irq: VirtioInterrupt) => void): void {
    this.device.setInterruptHandler(handler);
  }
}
