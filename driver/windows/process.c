/*
 * Process, thread and image callbacks:
 *   PsSetCreateProcessNotifyRoutineEx -> win_process_record (Sysmon 1), exit_record (5),
 *     tamper_record (25) when the image file is marked for deletion as the process starts
 *     (process ghosting/herpaderping's tell);
 *   PsSetCreateThreadNotifyRoutine -> inject_record (8) for a thread created by another
 *     process (not a new process's first thread, made by its creator);
 *   PsSetLoadImageNotifyRoutine -> win_image_record (7; 6 when SystemModeImage).
 * All run at PASSIVE_LEVEL in the context of the thread doing the operation.
 */
#include "sysmon_ts.h"

#define SID_MAX_BYTES 68

static BOOLEAN gProcessNotify, gThreadNotify, gImageNotify;

/*
 * New processes whose first thread is still to come: CreateProcess makes the child's first
 * thread from the parent, which the thread callback would take for a remote thread (Sysmon
 * does not report it). The process callback runs before that thread's callback; a small
 * table of (child, creator) pairs lets the thread callback skip exactly that one thread.
 */
#define FIRST_THREADS 256
static struct { HANDLE Pid, Creator; } gFirstThread[FIRST_THREADS];
static ULONG gFirstThreadNext;
static KGUARDED_MUTEX gFirstThreadLock;

static VOID FirstThreadExpect(HANDLE Pid, HANDLE Creator)
{
	KeAcquireGuardedMutex(&gFirstThreadLock);
	gFirstThread[gFirstThreadNext].Pid = Pid;
	gFirstThread[gFirstThreadNext].Creator = Creator;
	gFirstThreadNext = (gFirstThreadNext + 1) % FIRST_THREADS;
	KeReleaseGuardedMutex(&gFirstThreadLock);
}

static BOOLEAN FirstThreadSeen(HANDLE Pid, HANDLE Creator)
{
	BOOLEAN found = FALSE;
	KeAcquireGuardedMutex(&gFirstThreadLock);
	for (ULONG i = 0; i < FIRST_THREADS; i++) {
		if (gFirstThread[i].Pid == Pid) {
			found = gFirstThread[i].Creator == Creator;
			gFirstThread[i].Pid = gFirstThread[i].Creator = NULL;
			break;
		}
	}
	KeReleaseGuardedMutex(&gFirstThreadLock);
	return found;
}

static VOID TokenFacts(PEPROCESS Process, RECORD_BUILDER *B)
{
	struct win_process_record *r = (struct win_process_record *)B->Buf;
	PACCESS_TOKEN token = PsReferencePrimaryToken(Process);
	PTOKEN_USER user = NULL;
	PTOKEN_MANDATORY_LABEL label = NULL;
	LUID luid;

	if (!token) {
		BuilderAppend(B, offsetof(struct win_process_record, user_sid), NULL, 0);
		return;
	}
	if (NT_SUCCESS(SeQueryAuthenticationIdToken(token, &luid)))
		r->logon_id = ((__u64)(ULONG)luid.HighPart << 32) | luid.LowPart;
	if (NT_SUCCESS(SeQueryInformationToken(token, TokenIntegrityLevel, (PVOID *)&label)) && label) {
		PSID sid = label->Label.Sid;
		if (sid && RtlValidSid(sid) && *RtlSubAuthorityCountSid(sid) > 0)
			r->integrity_rid = *RtlSubAuthoritySid(sid, *RtlSubAuthorityCountSid(sid) - 1);
		ExFreePool(label);
	}
	if (NT_SUCCESS(SeQueryInformationToken(token, TokenUser, (PVOID *)&user)) && user) {
		PSID sid = user->User.Sid;
		ULONG len = sid && RtlValidSid(sid) ? RtlLengthSid(sid) : 0;
		BuilderAppend(B, offsetof(struct win_process_record, user_sid), sid, len <= SID_MAX_BYTES ? len : 0);
		ExFreePool(user);
	} else {
		BuilderAppend(B, offsetof(struct win_process_record, user_sid), NULL, 0);
	}
	PsDereferencePrimaryToken(token);
}

static VOID NTAPI ProcessNotify(PEPROCESS Process, HANDLE ProcessId, PPS_CREATE_NOTIFY_INFO CreateInfo)
{
	RECORD_BUILDER b;

	if (!CreateInfo) {
		struct exit_record x;
		RtlZeroMemory(&x, sizeof(x));
		FillHeader(&x.hdr, RECORD_PROCESS_EXIT, sizeof(x), ProcessId, PsGetCurrentThreadId());
		FillProcessIds(&x.ids, Process);
		x.exit_code = PsGetProcessExitStatus(Process);
		RingOutput(&x, sizeof(x));
		return;
	}

	FirstThreadExpect(ProcessId, CreateInfo->CreatingThreadId.UniqueProcess);
	ULONG strings = (CreateInfo->ImageFileName ? CreateInfo->ImageFileName->Length : 0) +
			(CreateInfo->CommandLine ? CreateInfo->CommandLine->Length : 0) + SID_MAX_BYTES;
	if (!BuilderInit(&b, sizeof(struct win_process_record), strings)) return;
	struct win_process_record *r = (struct win_process_record *)b.Buf;
	/* tgid is the new process: its id is in no other field (creating_pid names the creator) */
	FillHeader(&r->hdr, RECORD_WIN_PROCESS_CREATE, 0, ProcessId, CreateInfo->CreatingThreadId.UniqueThread);
	FillProcessIds(&r->ids, Process);
	r->create_time = (__u64)PsGetProcessCreateTimeQuadPart(Process);
	r->creating_pid = (__u32)(ULONG_PTR)CreateInfo->CreatingThreadId.UniqueProcess;
	r->creating_tid = (__u32)(ULONG_PTR)CreateInfo->CreatingThreadId.UniqueThread;
	if (CreateInfo->Flags & 1) r->flags |= WIN_PROC_FILE_OPEN_NAME;
	if (CreateInfo->Flags & 2) r->flags |= WIN_PROC_SUBSYSTEM;      /* IsSubsystemProcess */
	BOOLEAN deletePending = CreateInfo->FileObject && CreateInfo->FileObject->DeletePending;
	if (deletePending) r->flags |= WIN_PROC_IMAGE_DELETE_PENDING;
	BuilderAppendUnicode(&b, offsetof(struct win_process_record, image), CreateInfo->ImageFileName);
	BuilderAppendUnicode(&b, offsetof(struct win_process_record, command_line), CreateInfo->CommandLine);
	TokenFacts(Process, &b);
	BuilderOutput(&b);
	BuilderFree(&b);

	if (deletePending) {
		struct tamper_record t;
		RtlZeroMemory(&t, sizeof(t));
		FillHeader(&t.hdr, RECORD_TAMPER, sizeof(t), ProcessId, CreateInfo->CreatingThreadId.UniqueThread);
		FillProcessIds(&t.ids, Process);
		t.kind = TAMPER_EXEC_UNLINKED;
		t.exe.off = sizeof(t);            /* empty: the image is in the record before */
		RingOutput(&t, sizeof(t));
	}
}

static ULONG64 ThreadStartAddress(HANDLE ThreadId)
{
	PETHREAD thread;
	HANDLE h;
	ULONG64 start = 0;

	if (!NT_SUCCESS(PsLookupThreadByThreadId(ThreadId, &thread))) return 0;
	if (NT_SUCCESS(ObOpenObjectByPointer(thread, OBJ_KERNEL_HANDLE, NULL, THREAD_QUERY_INFORMATION,
					     *PsThreadType, KernelMode, &h))) {
		PVOID addr = NULL;
		if (NT_SUCCESS(ZwQueryInformationThread(h, ThreadQuerySetWin32StartAddress, &addr, sizeof(addr), NULL)))
			start = (ULONG64)(ULONG_PTR)addr;
		ZwClose(h);
	}
	ObDereferenceObject(thread);
	return start;
}

static VOID NTAPI ThreadNotify(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create)
{
	HANDLE self = PsGetCurrentProcessId();
	PEPROCESS target;
	struct inject_record r;

	/* only threads created into another process; the System process starts kernel threads */
	if (!Create || ProcessId == self || self == (HANDLE)4) return;
	if (FirstThreadSeen(ProcessId, self)) return;          /* a new process's first thread */
	if (!NT_SUCCESS(PsLookupProcessByProcessId(ProcessId, &target))) return;
	RtlZeroMemory(&r, sizeof(r));
	FillHeader(&r.hdr, RECORD_REMOTE_THREAD, sizeof(r), self, PsGetCurrentThreadId());
	FillProcessIds(&r.ids, PsGetCurrentProcess());
	FillTargetIds(&r.target, target, ThreadId);
	r.start_address = ThreadStartAddress(ThreadId);
	r.request = 0;
	ObDereferenceObject(target);
	RingOutput(&r, sizeof(r));
}

static VOID NTAPI ImageNotify(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
	RECORD_BUILDER b;
	PEPROCESS process;

	if (!BuilderInit(&b, sizeof(struct win_image_record), FullImageName ? FullImageName->Length : 0)) return;
	struct win_image_record *r = (struct win_image_record *)b.Buf;
	FillHeader(&r->hdr, RECORD_WIN_IMAGE_LOAD, 0, ProcessId, PsGetCurrentThreadId());
	r->image_base = (__u64)(ULONG_PTR)ImageInfo->ImageBase;
	r->image_size = ImageInfo->ImageSize;
	r->properties = ImageInfo->Properties;
	if (ProcessId && NT_SUCCESS(PsLookupProcessByProcessId(ProcessId, &process))) {
		r->process_start_key = ProcessStartKey(process);
		ObDereferenceObject(process);
	}
	BuilderAppendUnicode(&b, offsetof(struct win_image_record, path), FullImageName);
	BuilderOutput(&b);
	BuilderFree(&b);
}

NTSTATUS ProcessCallbacksRegister(VOID)
{
	KeInitializeGuardedMutex(&gFirstThreadLock);
	NTSTATUS st = PsSetCreateProcessNotifyRoutineEx(ProcessNotify, FALSE);
	if (!NT_SUCCESS(st)) return st;      /* STATUS_ACCESS_DENIED: image lacks FORCE_INTEGRITY */
	gProcessNotify = TRUE;
	st = PsSetCreateThreadNotifyRoutine(ThreadNotify);
	if (!NT_SUCCESS(st)) goto fail;
	gThreadNotify = TRUE;
	st = PsSetLoadImageNotifyRoutine(ImageNotify);
	if (!NT_SUCCESS(st)) goto fail;
	gImageNotify = TRUE;
	return STATUS_SUCCESS;
fail:
	ProcessCallbacksUnregister();
	return st;
}

VOID ProcessCallbacksUnregister(VOID)
{
	if (gImageNotify) PsRemoveLoadImageNotifyRoutine(ImageNotify);
	if (gThreadNotify) PsRemoveCreateThreadNotifyRoutine(ThreadNotify);
	if (gProcessNotify) PsSetCreateProcessNotifyRoutineEx(ProcessNotify, TRUE);
	gImageNotify = gThreadNotify = gProcessNotify = FALSE;
}
