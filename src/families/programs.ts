// Which Linux program serves which Sysmon events, from the families' descriptors: a program
// is attached only while the active config can log one of its events (an event with no rules
// and default off costs nothing in the kernel), or always when its family says ALWAYS.
import { LINUX_FAMILIES } from './linux.generated.js';
import { programChooser } from './registry.js';

/**
 * A program no family declares is attached (no event is lost), but
 * test/kernel/families.test.ts fails until its family declares it.
 */
export const programWanted: (program: string, captured: ReadonlySet<number>) => boolean = programChooser(LINUX_FAMILIES);
