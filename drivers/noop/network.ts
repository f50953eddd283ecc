// The `noop` network interface: the node's network is not managed (Ironic's NoopNetwork).

import type { NetworkInterface } from '../base.ts';

export const noopNetwork = (): NetworkInterface => ({
  getProperties: () => ({}),
  validate: async () => undefined,
  addProvisioningNetwork: async () => undefined,
  removeProvisioningNetwork: async () => undefined,
  configureTenantNetworks: async () => undefined,
  unconfigureTenantNetworks: async () => undefined,
});
