// The Linux driver's BPF objects, from the family descriptors (src/families/linux.generated.ts):
// the required family's first, since the loader makes the ring with the first object.
import { LINUX_FAMILIES } from './families/linux.generated.js';
import { driverObjects } from './families/registry.js';
import { DRIVER_OBJECTS_DIR } from './paths.js';

export const DRIVER_OBJECTS: readonly string[] = driverObjects(LINUX_FAMILIES, DRIVER_OBJECTS_DIR);
