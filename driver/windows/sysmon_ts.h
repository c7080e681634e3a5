/*
 * sysmon-ts Windows driver: what its parts share. The records are those of
 * driver/include/events.h, included as is; layout.c ties them to the sizes and offsets the
 * TypeScript decoders read.
 */
#ifndef SYSMON_TS_DRIVER_H
#define SYSMON_TS_DRIVER_H

#include "flt.h"
#include "../include/events.h"

#define SYSMON_TS_TAG 0x72547353u      /* pool tag "SsTr" */
#define SYSMON_TS_ALTITUDE L"385210"  /* registry/Ob callback altitude (see README.md) */
#define SYSMON_TS_DEVICE L"\\Device\\SysmonTs"
#define SYSMON_TS_LINK L"\\DosDevices\\SysmonTs"
#define RING_DEFAULT_BYTES (8u << 20)  /* overridden by Parameters\RingSizeKB */
#define STRING_MAX_BYTES 65534u        /* a UNICODE_STRING's limit */

/* ---- undocumented but exported by ntoskrnl (stable since Windows Vista/7) ---- */
NTKERNELAPI HANDLE NTAPI PsGetProcessInheritedFromUniqueProcessId(PEPROCESS Process);
NTKERNELAPI ULONG NTAPI PsGetProcessSessionId(PEPROCESS Process);
NTKERNELAPI NTSTATUS NTAPI PsGetProcessExitStatus(PEPROCESS Process);
NTKERNELAPI LONGLONG NTAPI PsGetProcessCreateTimeQuadPart(PEPROCESS Process);
NTSYSAPI NTSTATUS NTAPI ZwQueryInformationThread(HANDLE ThreadHandle, ULONG InfoClass,
	PVOID Info, ULONG Length, PULONG ReturnLength);
#define ThreadQuerySetWin32StartAddress 9
#ifndef THREAD_QUERY_INFORMATION
#define THREAD_QUERY_INFORMATION 0x0040
#endif

/* ---- ring.c: the ring in the section shared with the service ---- */
NTSTATUS RingCreate(PUNICODE_STRING RegistryPath);
VOID RingDestroy(VOID);
/* One record, written whole: reserve (BUSY header), copy (split at the end), commit.
 * No room: counted in win_ring_producer.dropped. Callable at IRQL <= APC_LEVEL. */
VOID RingOutput(CONST VOID *Record, ULONG Size);
/* The section handle for the service (IOCTL_SYSMON_TS_GET_RING), in the current process. */
NTSTATUS RingOpenForCaller(struct win_ring_info *Info);

/* ---- ids.c: time and process identities, as events.h defines them on Windows ---- */
__u64 BootNs(VOID);
__u64 SystemTimeNow(VOID);
__u64 ProcessStartKey(PEPROCESS Process);
VOID FillHeader(struct record_header *Hdr, __u16 Type, __u32 Size, HANDLE Pid, HANDLE Tid);
VOID FillProcessIds(struct process_ids *Ids, PEPROCESS Process);
VOID FillTargetIds(struct target_ids *Target, PEPROCESS Process, HANDLE Tid);
VOID IdsInit(VOID);

/* ---- record building: a fixed part, then strings appended ---- */
typedef struct _RECORD_BUILDER {
	UCHAR *Buf;
	ULONG Size;     /* bytes used */
	ULONG Cap;
} RECORD_BUILDER;
BOOLEAN BuilderInit(RECORD_BUILDER *B, ULONG FixedSize, ULONG StringBytes);
VOID BuilderFree(RECORD_BUILDER *B);
/* Appends bytes (kernel memory) and points the str_ref at offset RefOff to them. */
VOID BuilderAppend(RECORD_BUILDER *B, ULONG RefOff, CONST VOID *Bytes, ULONG Len);
VOID BuilderAppendUnicode(RECORD_BUILDER *B, ULONG RefOff, PCUNICODE_STRING S);
/* Sets hdr.size and writes the record into the ring. */
VOID BuilderOutput(RECORD_BUILDER *B);

/* ---- the callback families ---- */
NTSTATUS ProcessCallbacksRegister(VOID);
VOID ProcessCallbacksUnregister(VOID);
NTSTATUS ObjectCallbacksRegister(VOID);
VOID ObjectCallbacksUnregister(VOID);
NTSTATUS RegistryCallbacksRegister(PDRIVER_OBJECT Driver);
VOID RegistryCallbacksUnregister(VOID);
NTSTATUS FilterRegister(PDRIVER_OBJECT Driver, PFLT_FILTER_UNLOAD_CALLBACK Unload);
NTSTATUS FilterStart(VOID);
VOID FilterUnregister(VOID);

#endif
