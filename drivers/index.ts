/**
 * The driver registry: vendor id → driver module. Adding a vendor = add its folder, register it
 * here, and add its fixture to the conformance suite.
 */
import type { DriverModule, VendorId } from './contract.js';
import { talon } from './osprey-talon/driver.js';
import { teradekAuto } from './teradek/auto.js';
import { teradekPrism } from './teradek/prism/driver.js';
import { teradekVidiu } from './teradek/vidiu/driver.js';
import { videon } from './videon/driver.js';

export const DRIVERS: Readonly<Partial<Record<VendorId, DriverModule>>> = {
  'osprey-talon': talon,
  'teradek-vidiu': teradekVidiu,
  'teradek-prism': teradekPrism,
  videon,
  teradek: teradekAuto,
};

export const REGISTERED_VENDORS = Object.keys(DRIVERS) as VendorId[];

export function getDriverModule(vendor: string): DriverModule {
  const module = DRIVERS[vendor as VendorId];
  if (!module) throw new Error(`unknown vendor "${vendor}"; known: ${REGISTERED_VENDORS.join(', ')}`);
  return module;
}
