// FakeBoot (reference §5.2): every verb is a no-op.

import type { BootInterface } from '../base.ts';

export const fakeBoot = (): BootInterface => ({
  getProperties: () => ({}),
  validate: async () => undefined,
  prepareRamdisk: async () => undefined,
  cleanUpRamdisk: async () => undefined,
  prepareInstance: async () => undefined,
  cleanUpInstance: async () => undefined,
});
