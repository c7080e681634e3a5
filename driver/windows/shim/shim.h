/*
 * The kernel shim's own interface, for the harness (harness.c): the simulated machine
 * (processes, threads, registry keys, files, clocks, the current thread, IRQL) and the
 * "kernel" side of every registration the driver makes, so that a scenario can fire the
 * driver's callbacks the way Windows would. Every NT function the driver imports is in
 * shim.c, declared by ntifs.h.
 */
#ifndef SYSMON_TS_SHIM_H
#define SYSMON_TS_SHIM_H

#include "../sysmon_ts.h"

/* A misuse of a kernel API that would crash or corrupt Windows: reported, then abort(). */
__attribute__((noreturn, format(printf, 1, 2))) void ShimBugCheck(const char *fmt, ...);

/* ---- the machine ---- */
typedef struct SHIM_PROCESS_SPEC {
	ULONG Pid, Ppid, Session, Rid;
	LONGLONG CreateTime;              /* FILETIME */
	ULONG64 StartKey;
	UCHAR Sid[68];
	ULONG SidLength;                  /* 0: no token */
	LUID Logon;
} SHIM_PROCESS_SPEC;

PEPROCESS ShimAddProcess(const SHIM_PROCESS_SPEC *Spec);
PEPROCESS ShimFindProcess(ULONG Pid);
PETHREAD ShimAddThread(PEPROCESS Process, ULONG Tid, ULONG64 StartAddress);
PETHREAD ShimFindThread(ULONG Tid);
PETHREAD ShimAnyThreadOf(PEPROCESS Process);
VOID ShimSetExitStatus(PEPROCESS Process, NTSTATUS Status);
/* the process is gone from the table (its object lives on while referenced) */
VOID ShimRemoveProcess(PEPROCESS Process, NTSTATUS ExitStatus);
/* the thread the next callbacks run in (and so PsGetCurrent*) */
VOID ShimSetCurrentThread(PETHREAD Thread);
PETHREAD ShimCurrentThread(VOID);
VOID ShimSetIrql(KIRQL Irql);
VOID ShimSetClock(ULONG64 Interrupt100ns, ULONG64 SystemFileTime);
VOID ShimSetStackFrames(const ULONG64 *Frames, ULONG Count);
VOID ShimSetTcbPrivilege(BOOLEAN Held);
/* MmGetSystemRoutineAddress finds PsGetProcessStartKey / MmCopyMemory (default TRUE) */
VOID ShimSetOptionalRoutines(BOOLEAN Present);
/* the next N pool allocations fail (ExAllocatePoolWithTag returns NULL) */
VOID ShimFailAllocations(ULONG Count);
/* the next call of this kernel API fails (STATUS_INSUFFICIENT_RESOURCES): for error paths */
VOID ShimFailNext(const char *Api);
/* Parameters\RingSizeKB, or none */
VOID ShimSetRingSizeKB(BOOLEAN Present, ULONG Type, ULONG Value);
/* the file the ring's section is backed by (MAP_SHARED: the TypeScript side reads it) */
VOID ShimSetSectionFile(const char *Path);

/* user-mode memory of the current process: MmCopyMemory copies from it, everything else
 * below MmSystemRangeStart faults (MmCopyMemory fails) */
PVOID ShimUserAlloc(SIZE_T Bytes);
PVOID ShimUserBadPointer(VOID);

/* ---- the kernel side of the driver's registrations ---- */
NTSTATUS ShimDriverLoad(DRIVER_INITIALIZE *Entry, PCWSTR RegistryPath);
/* fltmc unload: the filter's unload callback; then everything must be gone */
NTSTATUS ShimDriverUnload(VOID);
/* what is still registered, allocated, referenced or open; 0 when clean (printed to stderr) */
ULONG ShimReportLeaks(VOID);
/* what is registered now, one line each, ending with "end" */
#include <stdio.h>
VOID ShimPrintRegistrations(FILE *Out);

VOID ShimNotifyProcessCreate(PEPROCESS Process, PPS_CREATE_NOTIFY_INFO Info);
VOID ShimNotifyProcessExit(PEPROCESS Process);
VOID ShimNotifyThreadCreate(PETHREAD Thread);
VOID ShimNotifyImageLoad(PUNICODE_STRING Name, HANDLE Pid, PIMAGE_INFO Info);
/* a process handle opened (or duplicated) by the current thread: pre then post callbacks */
VOID ShimNotifyProcessHandle(PEPROCESS Target, BOOLEAN Duplicate, BOOLEAN KernelHandle, ACCESS_MASK Desired,
	ACCESS_MASK Granted, NTSTATUS Status);
/* every registry callback, in order; returns the first failure (the driver never fails one) */
NTSTATUS ShimNotifyRegistry(REG_NOTIFY_CLASS Class, PVOID Argument2);
PVOID ShimKeyObject(PCWSTR Name);
VOID ShimKeyRelease(PVOID Key);

/* a file as the file system has it: its full NT name and basic information */
typedef struct SHIM_FILE SHIM_FILE;
SHIM_FILE *ShimFileOpen(PCWSTR FullName, LONGLONG CreationTime, ULONG Attributes, BOOLEAN NameAvailable);
PFILE_OBJECT ShimFileObject(SHIM_FILE *File);
VOID ShimFileClose(SHIM_FILE *File);
/* One operation through the minifilter: pre-callback, the file system (Status,
 * Information), post-callback when asked for. Returns the pre-callback's answer. */
FLT_PREOP_CALLBACK_STATUS ShimFltOperation(UCHAR Major, SHIM_FILE *File, FLT_PARAMETERS *Params,
	NTSTATUS Status, ULONG_PTR Information, BOOLEAN Draining);
/* the volumes the filter was offered at start (attached or refused) */
ULONG ShimFltAttachedVolumes(VOID);

/* IRPs to the driver's device: create (privilege check), then IOCTL */
NTSTATUS ShimDeviceCreate(KPROCESSOR_MODE Mode, ULONG_PTR *Information);
NTSTATUS ShimDeviceIoctl(ULONG Code, PVOID Buffer, ULONG OutputLength, ULONG_PTR *Information);
/* the section behind a handle the IOCTL gave the caller: its size; closes the handle */
NTSTATUS ShimTakeSectionHandle(HANDLE Handle, ULONG64 *Bytes);

#endif
