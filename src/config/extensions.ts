// Extension filter fields (sysmon-ts only, not in Sysmon's schema): usable inside any event
// block of a config, like a schema field, with every condition. Their values do not come from
// EventData (which stays schema-exact) but from the event's context:
//   ContainerId       the container id (64 hex for docker/containerd/cri-o/podman, the machine
//                     name for systemd-nspawn), "-" for host processes
//   ContainerRuntime  docker, containerd, cri-o, podman, kubernetes, systemd-nspawn, lxc; "-"
//   ContainerCgroup   the cgroup path the container was recognised in; "-"
// Example: <ProcessCreate onmatch="exclude"><ContainerRuntime condition="is">docker</ContainerRuntime></ProcessCreate>
// Windows Sysmon rejects configs that use them.
import type { FieldValue, SysmonEvent } from '../events/event.js';

const FIELDS: Record<string, (ev: SysmonEvent) => FieldValue> = {
  ContainerId: (ev) => ev.container?.id ?? '-',
  ContainerRuntime: (ev) => ev.container?.runtime ?? '-',
  ContainerCgroup: (ev) => ev.container?.cgroup ?? '-',
};

export function isExtensionField(name: string): boolean {
  return Object.hasOwn(FIELDS, name);
}

/** The value of an extension field for an event; undefined for other names. */
export function extensionValue(ev: SysmonEvent, name: string): FieldValue | undefined {
  return FIELDS[name]?.(ev);
}
