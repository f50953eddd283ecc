// The `fake` vendor interface (Ironic's FakeVendorB, reference §5.2): four POST methods that
// compare `bar` with a word. validate requires `bar`. third_method_sync answers synchronously;
// fourth_method_shared_lock runs without the exclusive lock.
// Ironic's fake vendors have no driver-level (@driver_passthru) methods; ours has two so that
// `/v1/drivers/{name}/vendor_passthru` can be exercised: `first_driver_method` (async, POST,
// bar == "baz", as first_method) and `second_driver_method_sync` (synchronous, GET or POST, no
// required argument: it answers what it was called with), and `third_driver_method_attach`
// (synchronous, GET, `attach`: its text is served as a file).

import type { Dict } from '../../domain/codecs.ts';
import { driverFailure, type DriverPassthruMethod, type PassthruMethod, type VendorInterface } from '../base.ts';
import { sleepFor, type FakeOptions } from './delay.ts';

const route = (description: string, extra: Partial<PassthruMethod> = {}): PassthruMethod => ({
  http_methods: ['POST'],
  async: true,
  description,
  attach: false,
  require_exclusive_lock: true,
  ...extra,
});

const routes: Readonly<Record<string, PassthruMethod>> = {
  first_method: route('Test if the value of bar is baz'),
  second_method: route('Test if the value of bar is kazoo'),
  third_method_sync: route('Test if the value of bar is meow', { async: false }),
  fourth_method_shared_lock: route('Test if the value of bar is woof', { require_exclusive_lock: false }),
};

const expected: Readonly<Record<string, string>> = {
  first_method: 'baz',
  second_method: 'kazoo',
  third_method_sync: 'meow',
  fourth_method_shared_lock: 'woof',
};

const driverRoutes: Readonly<Record<string, DriverPassthruMethod>> = {
  first_driver_method: { http_methods: ['POST'], async: true, description: 'Test if the value of bar is baz', attach: false },
  second_driver_method_sync: { http_methods: ['GET', 'POST'], async: false, description: 'Return the HTTP method and the arguments it was called with', attach: false },
  third_driver_method_attach: { http_methods: ['GET'], async: false, description: 'Return a text file as an attachment', attach: true },
};

export const fakeVendor = (o: FakeOptions): VendorInterface => ({
  getProperties: () => ({ B1: 'B1 description. Required.', B2: 'B2 description. Required.' }),
  routes: () => routes,
  validate: async (_task, method, args: Dict) => {
    if (method in routes && !args.bar) throw driverFailure('MissingParameterValue', `Parameter 'bar' not passed to method '${method}'.`);
  },
  call: async (task, method, _http, args) => {
    await sleepFor(o.stepDelayMs, task);
    return args.bar === expected[method];
  },
  driverRoutes: () => driverRoutes,
  driverValidate: async (method, args) => {
    if (method === 'first_driver_method' && !args.bar) throw driverFailure('MissingParameterValue', `Parameter 'bar' not passed to method '${method}'.`);
  },
  driverCall: async (method, http, args, signal) => {
    await sleepFor(o.stepDelayMs, { signal });
    if (method === 'first_driver_method') return args.bar === 'baz';
    if (method === 'third_driver_method_attach') return 'fake-hardware vendor data\n';
    return { http_method: http, args };
  },
});
