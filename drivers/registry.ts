// The hardware types this ironlog build has drivers for, by name (Ironic's driver factory).
// fake-hardware also offers the agent deploy (`direct`), as Ironic's does: fake power, boot and
// management with a real ramdisk agent (drivers/agent/, ramdisk-agent/).

import { withAgentDeploy, type AgentOptions } from './agent/index.ts';
import { fakeHardware, type FakeOptions } from './fake/index.ts';
import type { HardwareType } from './hardware-type.ts';

export interface DriverOptions {
  fake: FakeOptions;
  agent?: AgentOptions;
}

export const hardwareTypes = (o: DriverOptions): ReadonlyMap<string, HardwareType> => {
  const all = [withAgentDeploy(fakeHardware(o.fake), o.agent)];
  return new Map(all.map((hw) => [hw.name, hw]));
};
