// MAC addresses as Ironic accepts them (utils.validate_and_normalize_mac): six colon-separated
// hex pairs, stored lowercase.

import { domainError, type DomainError } from './errors.ts';

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;
export const isMac = (s: string): boolean => MAC.test(s);
export const normaliseMac = (s: string): string => s.toLowerCase();
export const invalidMac = (mac: string): DomainError => domainError('InvalidMAC', `Expected a MAC address but received ${mac}.`);
