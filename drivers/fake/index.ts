// The `fake-hardware` hardware type (reference §5.2): `fake` for every interface, `noop` network
// (Ironic's fake-hardware falls back to the generic network list; ironlog serves noop only).

import type { HardwareType } from '../hardware-type.ts';
import { noopNetwork } from '../noop/network.ts';
import { fakeBios } from './bios.ts';
import { fakeBoot } from './boot.ts';
import { fakeConsole } from './console.ts';
import type { FakeOptions } from './delay.ts';
import { fakeDeploy } from './deploy.ts';
import { fakeInspect } from './inspect.ts';
import { fakeManagement } from './management.ts';
import { fakePower } from './power.ts';
import { fakeRaid } from './raid.ts';
import { fakeRescue } from './rescue.ts';
import { fakeStorage } from './storage.ts';
import { fakeVendor } from './vendor.ts';

export type { FakeOptions } from './delay.ts';

export const fakeHardware = (o: FakeOptions): HardwareType => ({
  name: 'fake-hardware',
  implementations: {
    bios: [['fake', fakeBios(o)]],
    boot: [['fake', fakeBoot()]],
    console: [['fake', fakeConsole(o)]],
    deploy: [['fake', fakeDeploy(o)]],
    inspect: [['fake', fakeInspect(o)]],
    management: [['fake', fakeManagement(o)]],
    network: [['noop', noopNetwork()]],
    power: [['fake', fakePower(o)]],
    raid: [['fake', fakeRaid(o)]],
    rescue: [['fake', fakeRescue(o)]],
    storage: [['fake', fakeStorage()]],
    vendor: [['fake', fakeVendor(o)]],
  },
});
