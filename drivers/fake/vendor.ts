// The `fake` vendor interface (Ironic's FakeVendorB, reference §5.2): four POST methods that
// compare `bar` with a word. validate requires `bar`. third_method_sync answers synchronously;
// fourth_method_shared_lock runs without the exclusive lock.

import type { Dict } from '../../domain/codecs.ts';
import { driverFailure, type PassthruMethod, type VendorInterface } from '../base.ts';
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
});
