/*
 * Time and process identities as events.h defines them for records written on Windows:
 * boot_ns from interrupt time, process_ids/target_ids with the session id, the parent pid,
 * creation time as boot ns and the process start key.
 */
#include "sysmon_ts.h"

typedef ULONG64 (NTAPI *PS_GET_PROCESS_START_KEY)(PEPROCESS Process);
static PS_GET_PROCESS_START_KEY pPsGetProcessStartKey;

VOID IdsInit(VOID)
{
	UNICODE_STRING name;
	RtlInitUnicodeString(&name, L"PsGetProcessStartKey");       /* Windows 10 1703+ */
	pPsGetProcessStartKey = (PS_GET_PROCESS_START_KEY)MmGetSystemRoutineAddress(&name);
}

/*
 * The WDK's clock readers: on x64 both are macros that read KUSER_SHARED_DATA with one
 * 64-bit load (atomic there, so no High1/High2 loop), compiled inline as before; naming
 * them instead of the shared page's kernel address lets the same C run under the user-mode
 * kernel shim (driver/windows/shim), which supplies the two clocks.
 */
__u64 BootNs(VOID)
{
	return (__u64)KeQueryInterruptTime() * 100;
}

__u64 SystemTimeNow(VOID)
{
	LARGE_INTEGER now;
	KeQuerySystemTime(&now);
	return (__u64)now.QuadPart;
}

__u64 ProcessStartKey(PEPROCESS Process)
{
	return pPsGetProcessStartKey && Process ? pPsGetProcessStartKey(Process) : 0;
}

/* A FILETIME -> ns since boot, through the current offset between the two clocks. */
static __u64 FileTimeToBootNs(LONGLONG FileTime)
{
	ULONG64 now = SystemTimeNow(), up = KeQueryInterruptTime();
	ULONG64 boot = now - up;
	return (ULONG64)FileTime > boot ? ((ULONG64)FileTime - boot) * 100 : 0;
}

VOID FillHeader(struct record_header *Hdr, __u16 Type, __u32 Size, HANDLE Pid, HANDLE Tid)
{
	Hdr->type = Type;
	Hdr->flags = 0;
	Hdr->size = Size;
	Hdr->boot_ns = BootNs();
	Hdr->tgid = (__u32)(ULONG_PTR)Pid;
	Hdr->tid = (__u32)(ULONG_PTR)Tid;
}

VOID FillProcessIds(struct process_ids *Ids, PEPROCESS Process)
{
	PEPROCESS parent;
	LONGLONG created = PsGetProcessCreateTimeQuadPart(Process);
	HANDLE ppid = PsGetProcessInheritedFromUniqueProcessId(Process);

	Ids->uid = Ids->euid = Ids->gid = Ids->auid = WIN_NO_ID;
	Ids->sessionid = PsGetProcessSessionId(Process);
	Ids->ppid = (__u32)(ULONG_PTR)ppid;
	Ids->start_boot_ns = FileTimeToBootNs(created);
	Ids->end_code = ProcessStartKey(Process);
	Ids->parent_start_boot_ns = 0;
	Ids->parent_end_code = 0;
	if (ppid && NT_SUCCESS(PsLookupProcessByProcessId(ppid, &parent))) {
		LONGLONG pcreated = PsGetProcessCreateTimeQuadPart(parent);
		if (pcreated <= created) {              /* else the pid was reused: not the parent */
			Ids->parent_start_boot_ns = FileTimeToBootNs(pcreated);
			Ids->parent_end_code = ProcessStartKey(parent);
		}
		ObDereferenceObject(parent);
	}
}

VOID FillTargetIds(struct target_ids *Target, PEPROCESS Process, HANDLE Tid)
{
	Target->tgid = (__u32)(ULONG_PTR)PsGetProcessId(Process);
	Target->tid = (__u32)(ULONG_PTR)Tid;
	Target->uid = WIN_NO_ID;
	Target->_pad = 0;
	Target->start_boot_ns = FileTimeToBootNs(PsGetProcessCreateTimeQuadPart(Process));
	Target->end_code = ProcessStartKey(Process);
}
