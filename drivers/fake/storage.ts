// FakeStorage (reference §5.2): no volumes to attach or detach; the image is always written.

import type { StorageInterface } from '../base.ts';

export const fakeStorage = (): StorageInterface => ({
  getProperties: () => ({}),
  validate: async () => undefined,
  attachVolumes: async () => undefined,
  detachVolumes: async () => undefined,
  shouldWriteImage: () => true,
});
