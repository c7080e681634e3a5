/*
 * A user-mode stand-in for the parts of ntoskrnl.exe and FLTMGR.SYS the sysmon-ts driver
 * imports (the PE import table that test/windows/driver.test.ts checks), enough to run the
 * driver's own C on Linux under AddressSanitizer/UBSan. It keeps the books a kernel keeps
 * and checks them: registrations (Ps/Ob/Cm callbacks, the minifilter, the device and its
 * link), pool allocations by tag, object references, handles (kernel and user), section
 * views, guarded mutexes, file name informations. Misuse (a double free, a wrong tag, a
 * dereference below zero, a lock taken twice, an IRP completed twice) is a bug check: a
 * message and abort(). ShimReportLeaks() lists whatever is left after unload.
 *
 * The machine is simulated: processes, threads and tokens (ShimAddProcess), the current
 * thread, IRQL, the two clocks, user-mode memory (an arena below MmSystemRangeStart that
 * only MmCopyMemory may read), the registry's Parameters key, files with their names and
 * basic information. The ring's section is a file mapped MAP_SHARED, which the tests read.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

void ShimBugCheck(const char *fmt, ...)
{
	va_list ap;
	fputs("BUGCHECK: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

/* ---- objects: a header, a kind, references ---- */
enum { OBJ_PROCESS = 1, OBJ_THREAD, OBJ_SECTION, OBJ_KEY };
#define OBJ_MAGIC 0x4a624f53u  /* "SObJ" */
typedef struct SHIM_OBJECT { ULONG Magic; int Kind; volatile LONG Refs; } SHIM_OBJECT;

struct _OBJECT_TYPE { const char *Name; int Kind; };
static struct _OBJECT_TYPE gProcessTypeObject = { "Process", OBJ_PROCESS };
static struct _OBJECT_TYPE gThreadTypeObject = { "Thread", OBJ_THREAD };
static POBJECT_TYPE gProcessTypePointer = &gProcessTypeObject;
static POBJECT_TYPE gThreadTypePointer = &gThreadTypeObject;
POBJECT_TYPE *PsProcessType = &gProcessTypePointer;
POBJECT_TYPE *PsThreadType = &gThreadTypePointer;

/* user memory is the arena at 1 GiB (below ASan's shadow); kernel memory is the rest */
#define USER_ARENA ((UCHAR *)0x40000000ull)
#define USER_ARENA_BYTES (1u << 20)
PVOID MmSystemRangeStart = (PVOID)0x50000000ull;
static SIZE_T gUserUsed;

typedef struct SHIM_TOKEN {
	LONG Refs;
	UCHAR Sid[68];
	ULONG SidLength;
	ULONG Rid;
	LUID Logon;
} SHIM_TOKEN;

struct _EPROCESS {
	SHIM_OBJECT H;
	ULONG Pid, Ppid, Session;
	LONGLONG CreateTime;
	ULONG64 StartKey;
	NTSTATUS ExitStatus;
	BOOLEAN InTable;
	SHIM_TOKEN Token;
};

struct _ETHREAD {
	SHIM_OBJECT H;
	ULONG Tid;
	PEPROCESS Process;
	ULONG64 Start;
	BOOLEAN InTable;
};

typedef struct SHIM_SECTION {
	SHIM_OBJECT H;
	ULONG64 Bytes;
	int Fd;
	PVOID View;
} SHIM_SECTION;

typedef struct SHIM_KEY {
	SHIM_OBJECT H;
	UNICODE_STRING Name;
	BOOLEAN IsParameters;
} SHIM_KEY;

#define MAX_PROCESSES 64
#define MAX_THREADS 256
static PEPROCESS gProcesses[MAX_PROCESSES];
static PETHREAD gThreads[MAX_THREADS];
static LONG gLiveObjects, gLiveByKind[OBJ_KEY + 1];
static pthread_mutex_t gBooks = PTHREAD_MUTEX_INITIALIZER;  /* the shim's tables */

static SHIM_OBJECT *ObjectOf(PVOID Object, int Kind, const char *Api)
{
	SHIM_OBJECT *h = Object;
	if (!h || h->Magic != OBJ_MAGIC) ShimBugCheck("%s: %p is not an object", Api, Object);
	if (Kind && h->Kind != Kind) ShimBugCheck("%s: object %p is of kind %d, not %d", Api, Object, h->Kind, Kind);
	if (h->Refs <= 0) ShimBugCheck("%s: object %p used after its last reference (refs %d)", Api, Object, h->Refs);
	return h;
}

static PVOID NewObject(int Kind, SIZE_T Bytes)
{
	SHIM_OBJECT *h = calloc(1, Bytes);
	if (!h) ShimBugCheck("out of memory");
	h->Magic = OBJ_MAGIC;
	h->Kind = Kind;
	h->Refs = 1;
	__atomic_add_fetch(&gLiveObjects, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&gLiveByKind[Kind], 1, __ATOMIC_SEQ_CST);
	return h;
}

static VOID Reference(PVOID Object)
{
	__atomic_add_fetch(&ObjectOf(Object, 0, "ObReferenceObject")->Refs, 1, __ATOMIC_SEQ_CST);
}

static VOID DeleteObject(SHIM_OBJECT *h)
{
	if (h->Kind == OBJ_SECTION) {
		SHIM_SECTION *s = (SHIM_SECTION *)h;
		if (s->View) ShimBugCheck("section deleted while still mapped at %p", s->View);
		close(s->Fd);
	} else if (h->Kind == OBJ_KEY) {
		free(((SHIM_KEY *)h)->Name.Buffer);
	} else if (h->Kind == OBJ_PROCESS) {
		if (((PEPROCESS)h)->Token.Refs) ShimBugCheck("process %u deleted with its token referenced", ((PEPROCESS)h)->Pid);
	}
	__atomic_sub_fetch(&gLiveByKind[h->Kind], 1, __ATOMIC_SEQ_CST);
	h->Magic = 0;
	free(h);
	__atomic_sub_fetch(&gLiveObjects, 1, __ATOMIC_SEQ_CST);
}

LONGLONG NTAPI ObfDereferenceObject(PVOID Object)
{
	SHIM_OBJECT *h = ObjectOf(Object, 0, "ObfDereferenceObject");
	LONG left = __atomic_sub_fetch(&h->Refs, 1, __ATOMIC_SEQ_CST);
	if (left == 0) DeleteObject(h);
	return left;
}

/* ---- handles: (index + 1) * 4, as Windows' handle values ---- */
#define MAX_HANDLES 64
static struct { PVOID Object; BOOLEAN Kernel; ACCESS_MASK Access; } gHandles[MAX_HANDLES];

static HANDLE NewHandle(PVOID Object, BOOLEAN Kernel, ACCESS_MASK Access)
{
	pthread_mutex_lock(&gBooks);
	for (ULONG i = 0; i < MAX_HANDLES; i++) {
		if (!gHandles[i].Object) {
			gHandles[i].Object = Object;
			gHandles[i].Kernel = Kernel;
			gHandles[i].Access = Access;
			pthread_mutex_unlock(&gBooks);
			return (HANDLE)(ULONG_PTR)((i + 1) * 4);
		}
	}
	ShimBugCheck("handle table full");
}

static PVOID HandleObject(HANDLE Handle, int Kind, ULONG *Index)
{
	ULONG_PTR v = (ULONG_PTR)Handle;
	if (!v || v % 4 || v / 4 > MAX_HANDLES || !gHandles[v / 4 - 1].Object) return NULL;
	if (Kind && ((SHIM_OBJECT *)gHandles[v / 4 - 1].Object)->Kind != Kind) return NULL;
	if (Index) *Index = (ULONG)(v / 4 - 1);
	return gHandles[v / 4 - 1].Object;
}

NTSTATUS NTAPI ZwClose(HANDLE Handle)
{
	ULONG i;
	PVOID o = HandleObject(Handle, 0, &i);
	if (!o) ShimBugCheck("ZwClose(%p): not an open handle", Handle);
	gHandles[i].Object = NULL;
	ObfDereferenceObject(o);
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK Access, POBJECT_TYPE Type, KPROCESSOR_MODE Mode,
					 PVOID *Object, PVOID HandleInformation)
{
	ULONG i;
	PVOID o = HandleObject(Handle, Type ? Type->Kind : 0, &i);
	if (!o) return STATUS_INVALID_HANDLE;
	if (Mode == UserMode && (gHandles[i].Access & Access) != Access) return STATUS_ACCESS_DENIED;
	Reference(o);
	*Object = o;
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI ObOpenObjectByPointer(PVOID Object, ULONG HandleAttributes, PVOID PassedAccessState,
				     ACCESS_MASK DesiredAccess, POBJECT_TYPE Type, KPROCESSOR_MODE Mode, PHANDLE Handle)
{
	SHIM_OBJECT *h = ObjectOf(Object, Type ? Type->Kind : 0, "ObOpenObjectByPointer");
	Reference(h);
	*Handle = NewHandle(h, (HandleAttributes & OBJ_KERNEL_HANDLE) != 0, DesiredAccess);
	return STATUS_SUCCESS;
}

/* ---- the machine: processes, threads, the current thread, IRQL, clocks ---- */
static _Thread_local PETHREAD tCurrent;
static _Thread_local KIRQL tIrql;
static _Thread_local int tMutexesHeld;
static volatile ULONG64 gInterrupt, gSystem;
static ULONG64 gFrames[64];
static ULONG gFrameCount;
static BOOLEAN gTcb, gOptionalRoutines = TRUE;
static volatile LONG gFailAllocations;

PEPROCESS ShimAddProcess(const SHIM_PROCESS_SPEC *Spec)
{
	PEPROCESS p = NewObject(OBJ_PROCESS, sizeof(*p));
	p->Pid = Spec->Pid;
	p->Ppid = Spec->Ppid;
	p->Session = Spec->Session;
	p->CreateTime = Spec->CreateTime;
	p->StartKey = Spec->StartKey;
	p->Token.SidLength = Spec->SidLength;
	memcpy(p->Token.Sid, Spec->Sid, sizeof(p->Token.Sid));
	p->Token.Rid = Spec->Rid;
	p->Token.Logon = Spec->Logon;
	p->InTable = TRUE;
	pthread_mutex_lock(&gBooks);
	for (ULONG i = 0; i < MAX_PROCESSES; i++) {
		if (!gProcesses[i]) {
			gProcesses[i] = p;
			pthread_mutex_unlock(&gBooks);
			return p;
		}
	}
	ShimBugCheck("process table full");
}

PEPROCESS ShimFindProcess(ULONG Pid)
{
	for (ULONG i = 0; i < MAX_PROCESSES; i++)
		if (gProcesses[i] && gProcesses[i]->Pid == Pid) return gProcesses[i];
	return NULL;
}

PETHREAD ShimAddThread(PEPROCESS Process, ULONG Tid, ULONG64 StartAddress)
{
	PETHREAD t = NewObject(OBJ_THREAD, sizeof(*t));
	t->Tid = Tid;
	t->Process = Process;
	Reference(Process);              /* a thread keeps its process */
	t->Start = StartAddress;
	t->InTable = TRUE;
	pthread_mutex_lock(&gBooks);
	for (ULONG i = 0; i < MAX_THREADS; i++) {
		if (!gThreads[i]) {
			gThreads[i] = t;
			pthread_mutex_unlock(&gBooks);
			return t;
		}
	}
	ShimBugCheck("thread table full");
}

PETHREAD ShimFindThread(ULONG Tid)
{
	for (ULONG i = 0; i < MAX_THREADS; i++)
		if (gThreads[i] && gThreads[i]->Tid == Tid) return gThreads[i];
	return NULL;
}

PETHREAD ShimAnyThreadOf(PEPROCESS Process)
{
	for (ULONG i = MAX_THREADS; i-- > 0;)
		if (gThreads[i] && gThreads[i]->Process == Process) return gThreads[i];
	return NULL;
}

VOID ShimSetExitStatus(PEPROCESS Process, NTSTATUS Status) { Process->ExitStatus = Status; }

static VOID RemoveThread(ULONG Index)
{
	PETHREAD t = gThreads[Index];
	gThreads[Index] = NULL;
	t->InTable = FALSE;
	if (tCurrent == t) tCurrent = NULL;
	ObfDereferenceObject(t->Process);
	ObfDereferenceObject(t);
}

VOID ShimRemoveProcess(PEPROCESS Process, NTSTATUS ExitStatus)
{
	Process->ExitStatus = ExitStatus;
	for (ULONG i = 0; i < MAX_THREADS; i++)
		if (gThreads[i] && gThreads[i]->Process == Process) RemoveThread(i);
	for (ULONG i = 0; i < MAX_PROCESSES; i++) {
		if (gProcesses[i] == Process) {
			gProcesses[i] = NULL;
			Process->InTable = FALSE;
			ObfDereferenceObject(Process);
			return;
		}
	}
}

VOID ShimSetCurrentThread(PETHREAD Thread) { tCurrent = Thread; }
PETHREAD ShimCurrentThread(VOID) { return tCurrent; }
VOID ShimSetIrql(KIRQL Irql) { tIrql = Irql; }
VOID ShimSetClock(ULONG64 Interrupt100ns, ULONG64 SystemFileTime) { gInterrupt = Interrupt100ns; gSystem = SystemFileTime; }
VOID ShimSetTcbPrivilege(BOOLEAN Held) { gTcb = Held; }
VOID ShimSetOptionalRoutines(BOOLEAN Present) { gOptionalRoutines = Present; }
VOID ShimFailAllocations(ULONG Count) { gFailAllocations = (LONG)Count; }

static char gFailApi[64];
VOID ShimFailNext(const char *Api) { snprintf(gFailApi, sizeof(gFailApi), "%s", Api); }
static BOOLEAN Failing(const char *Api)
{
	if (strcmp(gFailApi, Api)) return FALSE;
	gFailApi[0] = 0;
	return TRUE;
}
#define FAIL_IF_ASKED(api) do { if (Failing(api)) return STATUS_INSUFFICIENT_RESOURCES; } while (0)

VOID ShimSetStackFrames(const ULONG64 *Frames, ULONG Count)
{
	if (Count > 64) Count = 64;
	memcpy(gFrames, Frames, Count * sizeof(*Frames));
	gFrameCount = Count;
}

KIRQL NTAPI KeGetCurrentIrql(VOID) { return tIrql; }
ULONG64 NTAPI ShimInterruptTime(VOID) { return gInterrupt; }
ULONG64 NTAPI ShimSystemTime(VOID) { return gSystem; }

static PETHREAD Current(const char *Api)
{
	if (!tCurrent) ShimBugCheck("%s: no current thread", Api);
	return tCurrent;
}

PEPROCESS NTAPI IoGetCurrentProcess(VOID) { return Current("PsGetCurrentProcess")->Process; }
HANDLE NTAPI PsGetCurrentProcessId(VOID) { return (HANDLE)(ULONG_PTR)Current("PsGetCurrentProcessId")->Process->Pid; }
HANDLE NTAPI PsGetCurrentThreadId(VOID) { return (HANDLE)(ULONG_PTR)Current("PsGetCurrentThreadId")->Tid; }

#define PROCESS(p, api) ((PEPROCESS)ObjectOf((p), OBJ_PROCESS, (api)))
HANDLE NTAPI PsGetProcessId(PEPROCESS Process) { return (HANDLE)(ULONG_PTR)PROCESS(Process, "PsGetProcessId")->Pid; }
HANDLE NTAPI PsGetProcessInheritedFromUniqueProcessId(PEPROCESS Process)
{
	return (HANDLE)(ULONG_PTR)PROCESS(Process, "PsGetProcessInheritedFromUniqueProcessId")->Ppid;
}
ULONG NTAPI PsGetProcessSessionId(PEPROCESS Process) { return PROCESS(Process, "PsGetProcessSessionId")->Session; }
NTSTATUS NTAPI PsGetProcessExitStatus(PEPROCESS Process) { return PROCESS(Process, "PsGetProcessExitStatus")->ExitStatus; }
LONGLONG NTAPI PsGetProcessCreateTimeQuadPart(PEPROCESS Process) { return PROCESS(Process, "PsGetProcessCreateTimeQuadPart")->CreateTime; }
static ULONG64 NTAPI ShimPsGetProcessStartKey(PEPROCESS Process) { return PROCESS(Process, "PsGetProcessStartKey")->StartKey; }

PEPROCESS NTAPI IoThreadToProcess(PETHREAD Thread)
{
	return ((PETHREAD)ObjectOf(Thread, OBJ_THREAD, "IoThreadToProcess"))->Process;
}

HANDLE NTAPI PsGetThreadId(PETHREAD Thread)
{
	return (HANDLE)(ULONG_PTR)((PETHREAD)ObjectOf(Thread, OBJ_THREAD, "PsGetThreadId"))->Tid;
}

NTSTATUS NTAPI PsLookupProcessByProcessId(HANDLE ProcessId, PEPROCESS *Process)
{
	PEPROCESS p = ShimFindProcess((ULONG)(ULONG_PTR)ProcessId);
	if (!p) return STATUS_INVALID_CID;
	Reference(p);
	*Process = p;
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI PsLookupThreadByThreadId(HANDLE ThreadId, PETHREAD *Thread)
{
	PETHREAD t = ShimFindThread((ULONG)(ULONG_PTR)ThreadId);
	if (!t) return STATUS_INVALID_CID;
	Reference(t);
	*Thread = t;
	return STATUS_SUCCESS;
}

#define ThreadQuerySetWin32StartAddress_ 9
#define STATUS_INFO_LENGTH_MISMATCH ((NTSTATUS)0xC0000004)
NTSTATUS NTAPI ZwQueryInformationThread(HANDLE ThreadHandle, ULONG InfoClass, PVOID Info, ULONG Length, PULONG ReturnLength)
{
	PETHREAD t = HandleObject(ThreadHandle, OBJ_THREAD, NULL);
	if (!t) return STATUS_INVALID_HANDLE;
	if (InfoClass != ThreadQuerySetWin32StartAddress_) return STATUS_INVALID_PARAMETER;
	if (Length != sizeof(PVOID)) return STATUS_INFO_LENGTH_MISMATCH;
	memcpy(Info, &t->Start, sizeof(PVOID));
	if (ReturnLength) *ReturnLength = sizeof(PVOID);
	return STATUS_SUCCESS;
}

/* ---- tokens ---- */
PACCESS_TOKEN NTAPI PsReferencePrimaryToken(PEPROCESS Process)
{
	PEPROCESS p = PROCESS(Process, "PsReferencePrimaryToken");
	if (!p->Token.SidLength) return NULL;
	__atomic_add_fetch(&p->Token.Refs, 1, __ATOMIC_SEQ_CST);
	Reference(p);                      /* the token keeps the process in the shim */
	return &p->Token;
}

static PEPROCESS TokenOwner(PACCESS_TOKEN Token, const char *Api)
{
	PEPROCESS p = (PEPROCESS)((UCHAR *)Token - offsetof(struct _EPROCESS, Token));
	ObjectOf(p, OBJ_PROCESS, Api);
	if (p->Token.Refs <= 0) ShimBugCheck("%s: token of process %u not referenced", Api, p->Pid);
	return p;
}

VOID NTAPI PsDereferencePrimaryToken(PACCESS_TOKEN Token)
{
	PEPROCESS p = TokenOwner(Token, "PsDereferencePrimaryToken");
	__atomic_sub_fetch(&p->Token.Refs, 1, __ATOMIC_SEQ_CST);
	ObfDereferenceObject(p);
}

NTSTATUS NTAPI SeQueryAuthenticationIdToken(PACCESS_TOKEN Token, PLUID Luid)
{
	*Luid = TokenOwner(Token, "SeQueryAuthenticationIdToken")->Token.Logon;
	return STATUS_SUCCESS;
}

/* The buffer is pool the caller frees with ExFreePool, as on Windows. */
NTSTATUS NTAPI SeQueryInformationToken(PACCESS_TOKEN Token, TOKEN_INFORMATION_CLASS Class, PVOID *Info)
{
	SHIM_TOKEN *t = &TokenOwner(Token, "SeQueryInformationToken")->Token;
	*Info = NULL;
	if (Class == TokenUser) {
		TOKEN_USER *u = ExAllocatePoolWithTag(PagedPool, sizeof(TOKEN_USER) + t->SidLength, 0x20206553 /* "Se  " */);
		if (!u) return STATUS_INSUFFICIENT_RESOURCES;
		u->User.Sid = u + 1;
		u->User.Attributes = 0;
		memcpy(u + 1, t->Sid, t->SidLength);
		*Info = u;
		return STATUS_SUCCESS;
	}
	if (Class == TokenIntegrityLevel) {
		/* S-1-16-rid */
		TOKEN_MANDATORY_LABEL *l = ExAllocatePoolWithTag(PagedPool, sizeof(TOKEN_MANDATORY_LABEL) + 12, 0x20206553);
		UCHAR *sid = (UCHAR *)(l + 1);
		if (!l) return STATUS_INSUFFICIENT_RESOURCES;
		memset(sid, 0, 12);
		sid[0] = 1;
		sid[1] = 1;
		sid[7] = 16;
		memcpy(sid + 8, &t->Rid, 4);
		l->Label.Sid = sid;
		l->Label.Attributes = 0x20;  /* SE_GROUP_INTEGRITY */
		*Info = l;
		return STATUS_SUCCESS;
	}
	return STATUS_INVALID_PARAMETER;
}

BOOLEAN NTAPI SeSinglePrivilegeCheck(LUID Privilege, KPROCESSOR_MODE Mode)
{
	if (Mode == KernelMode) return TRUE;
	return Privilege.LowPart == SE_TCB_PRIVILEGE && Privilege.HighPart == 0 && gTcb;
}

/* ---- SIDs ---- */
BOOLEAN NTAPI RtlValidSid(PSID Sid)
{
	const UCHAR *s = Sid;
	return s && s[0] == 1 && s[1] <= 15;
}
ULONG NTAPI RtlLengthSid(PSID Sid) { return 8 + 4 * (ULONG)((UCHAR *)Sid)[1]; }
PUCHAR NTAPI RtlSubAuthorityCountSid(PSID Sid) { return (UCHAR *)Sid + 1; }
PULONG NTAPI RtlSubAuthoritySid(PSID Sid, ULONG SubAuthority)
{
	if (SubAuthority >= ((UCHAR *)Sid)[1]) ShimBugCheck("RtlSubAuthoritySid: index %u of %u", SubAuthority, ((UCHAR *)Sid)[1]);
	return (PULONG)((UCHAR *)Sid + 8 + 4 * SubAuthority);
}

ULONG NTAPI RtlWalkFrameChain(PVOID *Callers, ULONG Count, ULONG Flags)
{
	ULONG n = gFrameCount < Count ? gFrameCount : Count;
	if (Flags != 1) return 0;           /* only user-mode frames are simulated */
	memcpy(Callers, gFrames, n * sizeof(PVOID));
	return n;
}

/* ---- strings ---- */
static SIZE_T WLen(PCWSTR s)
{
	SIZE_T n = 0;
	while (s[n]) n++;
	return n;
}

VOID NTAPI RtlInitUnicodeString(PUNICODE_STRING Destination, PCWSTR Source)
{
	SIZE_T n = Source ? WLen(Source) * 2 : 0;
	if (n > 0xfffc) ShimBugCheck("RtlInitUnicodeString: %zu bytes", (size_t)n);
	Destination->Length = (USHORT)n;
	Destination->MaximumLength = Source ? (USHORT)(n + 2) : 0;
	Destination->Buffer = (PWSTR)Source;
}

VOID NTAPI RtlCopyUnicodeString(PUNICODE_STRING Destination, PCUNICODE_STRING Source)
{
	USHORT n;
	if (!Source) { Destination->Length = 0; return; }
	n = Source->Length < Destination->MaximumLength ? Source->Length : Destination->MaximumLength;
	memmove(Destination->Buffer, Source->Buffer, n);
	Destination->Length = n;
	if (n + 2 <= Destination->MaximumLength) Destination->Buffer[n / 2] = 0;
}

NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source)
{
	SIZE_T n = WLen(Source) * 2;
	if (Destination->Length + n > Destination->MaximumLength) return STATUS_BUFFER_TOO_SMALL;
	memmove((UCHAR *)Destination->Buffer + Destination->Length, Source, n);
	Destination->Length = (USHORT)(Destination->Length + n);
	if (Destination->Length + 2 <= Destination->MaximumLength) Destination->Buffer[Destination->Length / 2] = 0;
	return STATUS_SUCCESS;
}

static WCHAR Upcase(WCHAR c) { return c >= 'a' && c <= 'z' ? (WCHAR)(c - 32) : c; }

BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING A, PCUNICODE_STRING B, BOOLEAN CaseInsensitive)
{
	if (A->Length != B->Length) return FALSE;
	for (USHORT i = 0; i < A->Length / 2; i++) {
		WCHAR a = A->Buffer[i], b = B->Buffer[i];
		if (CaseInsensitive ? Upcase(a) != Upcase(b) : a != b) return FALSE;
	}
	return TRUE;
}

/* a UNICODE_STRING as ASCII for the shim's reports ('?' for anything else) */
static void ToAscii(PCUNICODE_STRING S, char *Out, size_t Cap)
{
	size_t n = S && S->Buffer ? S->Length / 2 : 0, i;
	for (i = 0; i < n && i + 1 < Cap; i++) Out[i] = S->Buffer[i] < 0x80 ? (char)S->Buffer[i] : '?';
	Out[i] = 0;
}

static BOOLEAN WEqualAscii(PCUNICODE_STRING S, const char *A)
{
	SIZE_T n = strlen(A);
	if (!S || S->Length != n * 2) return FALSE;
	for (SIZE_T i = 0; i < n; i++) if (S->Buffer[i] != (WCHAR)A[i]) return FALSE;
	return TRUE;
}

/* ---- pool: every block with its tag, checked on free ---- */
typedef struct POOL_BLOCK { struct POOL_BLOCK *Next; PVOID P; SIZE_T Bytes; ULONG Tag; } POOL_BLOCK;
static POOL_BLOCK *gPool;
static ULONG64 gPoolAllocs, gPoolFrees;

PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE Type, SIZE_T Bytes, ULONG Tag)
{
	POOL_BLOCK *b;
	if (Bytes == 0) ShimBugCheck("ExAllocatePoolWithTag(0 bytes)");
	if (tIrql > DISPATCH_LEVEL || (Type == PagedPool && tIrql > APC_LEVEL))
		ShimBugCheck("ExAllocatePoolWithTag(type %d) at IRQL %u", Type, tIrql);
	if (__atomic_load_n(&gFailAllocations, __ATOMIC_SEQ_CST) > 0 &&
	    __atomic_sub_fetch(&gFailAllocations, 1, __ATOMIC_SEQ_CST) >= 0)
		return NULL;
	b = malloc(sizeof(*b));
	if (!b) ShimBugCheck("out of memory");
	b->P = malloc(Bytes);               /* exactly Bytes: ASan's red zones catch overruns */
	if (!b->P) ShimBugCheck("out of memory");
	memset(b->P, 0xcd, Bytes);          /* pool is not zeroed */
	b->Bytes = Bytes;
	b->Tag = Tag;
	pthread_mutex_lock(&gBooks);
	b->Next = gPool;
	gPool = b;
	gPoolAllocs++;
	pthread_mutex_unlock(&gBooks);
	return b->P;
}

static VOID FreePool(PVOID P, BOOLEAN CheckTag, ULONG Tag, const char *Api)
{
	pthread_mutex_lock(&gBooks);
	for (POOL_BLOCK **at = &gPool; *at; at = &(*at)->Next) {
		POOL_BLOCK *b = *at;
		if (b->P != P) continue;
		if (CheckTag && b->Tag != Tag) ShimBugCheck("%s(%p): tag %08x, allocated with %08x", Api, P, Tag, b->Tag);
		*at = b->Next;
		gPoolFrees++;
		pthread_mutex_unlock(&gBooks);
		free(b->P);
		free(b);
		return;
	}
	ShimBugCheck("%s(%p): not an allocated pool block (double free?)", Api, P);
}

VOID NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag) { FreePool(P, TRUE, Tag, "ExFreePoolWithTag"); }
VOID NTAPI ExFreePool(PVOID P) { FreePool(P, FALSE, 0, "ExFreePool"); }

/* ---- guarded mutexes: error-checking pthread mutexes ---- */
typedef struct SHIM_MUTEX { pthread_mutex_t M; ULONG Magic; } SHIM_MUTEX;
_Static_assert(sizeof(SHIM_MUTEX) <= sizeof(KGUARDED_MUTEX), "KGUARDED_MUTEX holds a pthread mutex");
#define MUTEX_MAGIC 0x78744d53u

VOID NTAPI KeInitializeGuardedMutex(PKGUARDED_MUTEX Mutex)
{
	SHIM_MUTEX *m = (SHIM_MUTEX *)Mutex;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m->M, &a);
	pthread_mutexattr_destroy(&a);
	m->Magic = MUTEX_MAGIC;
}

VOID NTAPI KeAcquireGuardedMutex(PKGUARDED_MUTEX Mutex)
{
	SHIM_MUTEX *m = (SHIM_MUTEX *)Mutex;
	int e;
	if (m->Magic != MUTEX_MAGIC) ShimBugCheck("KeAcquireGuardedMutex(%p): not initialized", (void *)Mutex);
	if (tIrql > APC_LEVEL) ShimBugCheck("KeAcquireGuardedMutex at IRQL %u", tIrql);
	if ((e = pthread_mutex_lock(&m->M))) ShimBugCheck("KeAcquireGuardedMutex(%p): %s (a deadlock on Windows)", (void *)Mutex, strerror(e));
	tMutexesHeld++;
}

VOID NTAPI KeReleaseGuardedMutex(PKGUARDED_MUTEX Mutex)
{
	SHIM_MUTEX *m = (SHIM_MUTEX *)Mutex;
	int e;
	if (m->Magic != MUTEX_MAGIC) ShimBugCheck("KeReleaseGuardedMutex(%p): not initialized", (void *)Mutex);
	if ((e = pthread_mutex_unlock(&m->M))) ShimBugCheck("KeReleaseGuardedMutex(%p): %s", (void *)Mutex, strerror(e));
	tMutexesHeld--;
}

/* after each callback: nothing held, IRQL as it was */
static VOID CallbackReturned(const char *What, KIRQL Irql)
{
	if (tMutexesHeld) ShimBugCheck("%s returned holding %d guarded mutex(es)", What, tMutexesHeld);
	if (tIrql != Irql) ShimBugCheck("%s returned at IRQL %u, entered at %u", What, tIrql, Irql);
}

/* ---- user-mode memory and MmCopyMemory ---- */
PVOID ShimUserAlloc(SIZE_T Bytes)
{
	static BOOLEAN mapped;
	PVOID p;
	if (!mapped) {
		if (mmap(USER_ARENA, USER_ARENA_BYTES + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != USER_ARENA)
			ShimBugCheck("mapping the user arena at %p: %s", (void *)USER_ARENA, strerror(errno));
		mprotect(USER_ARENA + USER_ARENA_BYTES, 4096, PROT_NONE);   /* the bad pointer's page */
		mapped = TRUE;
	}
	Bytes = (Bytes + 15) & ~(SIZE_T)15;
	if (gUserUsed + Bytes > USER_ARENA_BYTES) ShimBugCheck("user arena full");
	p = USER_ARENA + gUserUsed;
	gUserUsed += Bytes;
	return p;
}

PVOID ShimUserBadPointer(VOID)
{
	ShimUserAlloc(0);
	return USER_ARENA + USER_ARENA_BYTES;
}

typedef union { PVOID VirtualAddress; PHYSICAL_ADDRESS PhysicalAddress; } SHIM_COPY_ADDRESS;
#define STATUS_ACCESS_VIOLATION ((NTSTATUS)0xC0000005)
static NTSTATUS NTAPI ShimMmCopyMemory(PVOID Target, SHIM_COPY_ADDRESS Source, SIZE_T Bytes, ULONG Flags, PSIZE_T Copied)
{
	UCHAR *s = Source.VirtualAddress;
	*Copied = 0;
	if (Flags != 0x2 /* MM_COPY_MEMORY_VIRTUAL */) return STATUS_INVALID_PARAMETER;
	if (s >= (UCHAR *)MmSystemRangeStart) {
		memcpy(Target, s, Bytes);
		*Copied = Bytes;
		return STATUS_SUCCESS;
	}
	/* user memory: only the arena's allocated part is mapped */
	if (s < USER_ARENA || s + Bytes > USER_ARENA + gUserUsed || s + Bytes < s) return STATUS_ACCESS_VIOLATION;
	memcpy(Target, s, Bytes);
	*Copied = Bytes;
	return STATUS_SUCCESS;
}

PVOID NTAPI MmGetSystemRoutineAddress(PUNICODE_STRING Name)
{
	if (!gOptionalRoutines) return NULL;
	if (WEqualAscii(Name, "PsGetProcessStartKey")) return (PVOID)ShimPsGetProcessStartKey;
	if (WEqualAscii(Name, "MmCopyMemory")) return (PVOID)ShimMmCopyMemory;
	return NULL;
}

/* ---- sections ---- */
static char gSectionFile[4096];
static LONG gViews;
#define MAX_SECTIONS 4
static SHIM_SECTION *gSections[MAX_SECTIONS];   /* the mapped ones */

VOID ShimSetSectionFile(const char *Path)
{
	snprintf(gSectionFile, sizeof(gSectionFile), "%s", Path);
}

NTSTATUS NTAPI ZwCreateSection(PHANDLE Section, ACCESS_MASK Access, POBJECT_ATTRIBUTES Attributes, PLARGE_INTEGER MaximumSize,
			       ULONG Protection, ULONG AllocationAttributes, HANDLE File)
{
	SHIM_SECTION *s;
	int fd;
	FAIL_IF_ASKED("ZwCreateSection");
	if (File || !MaximumSize || MaximumSize->QuadPart <= 0 || Protection != PAGE_READWRITE || AllocationAttributes != SEC_COMMIT)
		return STATUS_INVALID_PARAMETER;
	if (!Attributes || !(Attributes->Attributes & OBJ_KERNEL_HANDLE))
		ShimBugCheck("ZwCreateSection from a driver without OBJ_KERNEL_HANDLE (a handle in the current process)");
	if (!gSectionFile[0]) ShimBugCheck("ZwCreateSection: no section file set");
	fd = open(gSectionFile, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, MaximumSize->QuadPart) != 0) return STATUS_INSUFFICIENT_RESOURCES;
	s = NewObject(OBJ_SECTION, sizeof(*s));
	s->Bytes = (ULONG64)MaximumSize->QuadPart;
	s->Fd = fd;
	*Section = NewHandle(s, TRUE, Access);      /* the handle holds the creation reference */
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI MmMapViewInSystemSpace(PVOID Section, PVOID *MappedBase, PSIZE_T ViewSize)
{
	SHIM_SECTION *s = (SHIM_SECTION *)ObjectOf(Section, OBJ_SECTION, "MmMapViewInSystemSpace");
	PVOID v;
	FAIL_IF_ASKED("MmMapViewInSystemSpace");
	if (s->View) return STATUS_INVALID_PARAMETER;     /* one view per section here */
	v = mmap(NULL, s->Bytes, PROT_READ | PROT_WRITE, MAP_SHARED, s->Fd, 0);
	if (v == MAP_FAILED) return STATUS_INSUFFICIENT_RESOURCES;
	for (ULONG i = 0; i < MAX_SECTIONS; i++) {
		if (!gSections[i]) {
			gSections[i] = s;
			s->View = v;
			Reference(s);                     /* a view references its section */
			gViews++;
			*MappedBase = v;
			*ViewSize = s->Bytes;
			return STATUS_SUCCESS;
		}
	}
	munmap(v, s->Bytes);
	return STATUS_INSUFFICIENT_RESOURCES;
}

NTSTATUS NTAPI MmUnmapViewInSystemSpace(PVOID MappedBase)
{
	/* the view, not a handle, names the section: the driver may have closed its handle */
	for (ULONG i = 0; i < MAX_SECTIONS; i++) {
		SHIM_SECTION *s = gSections[i];
		if (s && s->View && s->View == MappedBase) {
			munmap(s->View, s->Bytes);
			s->View = NULL;
			gSections[i] = NULL;
			gViews--;
			ObfDereferenceObject(s);
			return STATUS_SUCCESS;
		}
	}
	ShimBugCheck("MmUnmapViewInSystemSpace(%p): not a view", MappedBase);
}

NTSTATUS ShimTakeSectionHandle(HANDLE Handle, ULONG64 *Bytes)
{
	ULONG i;
	SHIM_SECTION *s = HandleObject(Handle, OBJ_SECTION, &i);
	if (!s) return STATUS_INVALID_HANDLE;
	if (gHandles[i].Kernel) ShimBugCheck("the service got a kernel handle (%p): unusable from user mode", Handle);
	if (gHandles[i].Access & ~(SECTION_MAP_READ | SECTION_MAP_WRITE | SECTION_QUERY))
		ShimBugCheck("the service's section handle has more than map/query rights (%08x)", gHandles[i].Access);
	*Bytes = s->Bytes;
	return ZwClose(Handle);
}

/* ---- registry: the driver's Parameters key ---- */
static WCHAR gRegistryPath[256];
static BOOLEAN gRingSizePresent;
static ULONG gRingSizeType, gRingSizeValue;

VOID ShimSetRingSizeKB(BOOLEAN Present, ULONG Type, ULONG Value)
{
	gRingSizePresent = Present;
	gRingSizeType = Type;
	gRingSizeValue = Value;
}

static PWSTR WDup(PCWSTR S, SIZE_T Chars)
{
	PWSTR d = calloc(Chars + 1, sizeof(WCHAR));
	if (!d) ShimBugCheck("out of memory");
	memcpy(d, S, Chars * sizeof(WCHAR));
	return d;
}

PVOID ShimKeyObject(PCWSTR Name)
{
	SHIM_KEY *k = NewObject(OBJ_KEY, sizeof(*k));
	SIZE_T n = WLen(Name);
	k->Name.Buffer = WDup(Name, n);
	k->Name.Length = (USHORT)(n * 2);
	k->Name.MaximumLength = (USHORT)(n * 2 + 2);
	return k;
}

VOID ShimKeyRelease(PVOID Key) { ObfDereferenceObject(Key); }

NTSTATUS NTAPI ZwOpenKey(PHANDLE Key, ACCESS_MASK Access, POBJECT_ATTRIBUTES Attributes)
{
	UNICODE_STRING want;
	WCHAR path[300];
	SHIM_KEY *k;
	if (!Attributes || !Attributes->ObjectName) return STATUS_INVALID_PARAMETER;
	if (!(Attributes->Attributes & OBJ_KERNEL_HANDLE)) ShimBugCheck("ZwOpenKey without OBJ_KERNEL_HANDLE");
	memcpy(path, gRegistryPath, sizeof(gRegistryPath));
	want.Buffer = path;
	want.Length = (USHORT)(WLen(path) * 2);
	want.MaximumLength = sizeof(path);
	RtlAppendUnicodeToString(&want, L"\\Parameters");
	if (!RtlEqualUnicodeString(&want, Attributes->ObjectName, (Attributes->Attributes & OBJ_CASE_INSENSITIVE) != 0) ||
	    !gRingSizePresent)
		return STATUS_OBJECT_NAME_NOT_FOUND;
	k = ShimKeyObject(path);
	k->IsParameters = TRUE;
	*Key = NewHandle(k, TRUE, Access);
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwQueryValueKey(HANDLE Key, PUNICODE_STRING Name, KEY_VALUE_INFORMATION_CLASS Class, PVOID Info,
			       ULONG Length, PULONG ResultLength)
{
	SHIM_KEY *k = HandleObject(Key, OBJ_KEY, NULL);
	PKEY_VALUE_PARTIAL_INFORMATION v = Info;
	ULONG need = offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data) + sizeof(ULONG);
	if (!k) return STATUS_INVALID_HANDLE;
	if (Class != KeyValuePartialInformation) return STATUS_INVALID_PARAMETER;
	if (!k->IsParameters || !WEqualAscii(Name, "RingSizeKB")) return STATUS_OBJECT_NAME_NOT_FOUND;
	*ResultLength = need;
	if (Length < need) return Length < offsetof(KEY_VALUE_PARTIAL_INFORMATION, Data) ? STATUS_BUFFER_TOO_SMALL : STATUS_BUFFER_OVERFLOW;
	v->TitleIndex = 0;
	v->Type = gRingSizeType;
	v->DataLength = sizeof(ULONG);
	memcpy(v->Data, &gRingSizeValue, sizeof(ULONG));
	return STATUS_SUCCESS;
}

/* ---- Ps notify routines ---- */
#define MAX_NOTIFY 64
static PCREATE_PROCESS_NOTIFY_ROUTINE_EX gProcessRoutines[MAX_NOTIFY];
static PCREATE_THREAD_NOTIFY_ROUTINE gThreadRoutines[MAX_NOTIFY];
static PLOAD_IMAGE_NOTIFY_ROUTINE gImageRoutines[MAX_NOTIFY];
#define STATUS_PROCEDURE_NOT_FOUND ((NTSTATUS)0xC000007A)

static NTSTATUS SetRoutine(PVOID *Table, PVOID Routine, BOOLEAN Remove)
{
	for (ULONG i = 0; i < MAX_NOTIFY; i++) {
		if (Remove ? Table[i] == Routine : Table[i] == NULL) {
			Table[i] = Remove ? NULL : Routine;
			return STATUS_SUCCESS;
		}
	}
	return Remove ? STATUS_PROCEDURE_NOT_FOUND : STATUS_INSUFFICIENT_RESOURCES;
}

NTSTATUS NTAPI PsSetCreateProcessNotifyRoutineEx(PCREATE_PROCESS_NOTIFY_ROUTINE_EX Routine, BOOLEAN Remove)
{
	if (!Remove) FAIL_IF_ASKED("PsSetCreateProcessNotifyRoutineEx");
	return SetRoutine((PVOID *)gProcessRoutines, (PVOID)Routine, Remove);
}
NTSTATUS NTAPI PsSetCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE Routine)
{
	FAIL_IF_ASKED("PsSetCreateThreadNotifyRoutine");
	return SetRoutine((PVOID *)gThreadRoutines, (PVOID)Routine, FALSE);
}
NTSTATUS NTAPI PsRemoveCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE Routine)
{
	return SetRoutine((PVOID *)gThreadRoutines, (PVOID)Routine, TRUE);
}
NTSTATUS NTAPI PsSetLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE Routine)
{
	FAIL_IF_ASKED("PsSetLoadImageNotifyRoutine");
	return SetRoutine((PVOID *)gImageRoutines, (PVOID)Routine, FALSE);
}
NTSTATUS NTAPI PsRemoveLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE Routine)
{
	return SetRoutine((PVOID *)gImageRoutines, (PVOID)Routine, TRUE);
}

VOID ShimNotifyProcessCreate(PEPROCESS Process, PPS_CREATE_NOTIFY_INFO Info)
{
	for (ULONG i = 0; i < MAX_NOTIFY; i++) {
		if (!gProcessRoutines[i]) continue;
		gProcessRoutines[i](Process, (HANDLE)(ULONG_PTR)Process->Pid, Info);
		CallbackReturned("the process notify routine (create)", PASSIVE_LEVEL);
	}
}

VOID ShimNotifyProcessExit(PEPROCESS Process)
{
	for (ULONG i = 0; i < MAX_NOTIFY; i++) {
		if (!gProcessRoutines[i]) continue;
		gProcessRoutines[i](Process, (HANDLE)(ULONG_PTR)Process->Pid, NULL);
		CallbackReturned("the process notify routine (exit)", PASSIVE_LEVEL);
	}
}

VOID ShimNotifyThreadCreate(PETHREAD Thread)
{
	for (ULONG i = 0; i < MAX_NOTIFY; i++) {
		if (!gThreadRoutines[i]) continue;
		gThreadRoutines[i]((HANDLE)(ULONG_PTR)Thread->Process->Pid, (HANDLE)(ULONG_PTR)Thread->Tid, TRUE);
		CallbackReturned("the thread notify routine", PASSIVE_LEVEL);
	}
}

VOID ShimNotifyImageLoad(PUNICODE_STRING Name, HANDLE Pid, PIMAGE_INFO Info)
{
	for (ULONG i = 0; i < MAX_NOTIFY; i++) {
		if (!gImageRoutines[i]) continue;
		gImageRoutines[i](Name, Pid, Info);
		CallbackReturned("the image notify routine", tIrql);
	}
}

/* ---- Ob callbacks ---- */
typedef struct SHIM_OB_REG {
	ULONG Magic;
	OB_OPERATION_REGISTRATION Ops[4];
	USHORT Count;
	PVOID Context;
	char Altitude[32];
} SHIM_OB_REG;
#define OB_MAGIC 0x6765524fu
static SHIM_OB_REG *gObRegs[8];
#define STATUS_FLT_INSTANCE_ALTITUDE_COLLISION ((NTSTATUS)0xC01C0011)

NTSTATUS NTAPI ObRegisterCallbacks(POB_CALLBACK_REGISTRATION Registration, PVOID *Handle)
{
	SHIM_OB_REG *r;
	FAIL_IF_ASKED("ObRegisterCallbacks");
	if (Registration->Version != OB_FLT_REGISTRATION_VERSION || Registration->OperationRegistrationCount == 0 ||
	    Registration->OperationRegistrationCount > 4 || Registration->Altitude.Length == 0)
		return STATUS_INVALID_PARAMETER;
	for (USHORT i = 0; i < Registration->OperationRegistrationCount; i++) {
		const OB_OPERATION_REGISTRATION *o = &Registration->OperationRegistration[i];
		if (!o->ObjectType || (*o->ObjectType != *PsProcessType && *o->ObjectType != *PsThreadType) || !o->Operations ||
		    (o->Operations & ~3u) || (!o->PreOperation && !o->PostOperation))
			return STATUS_INVALID_PARAMETER;
	}
	r = calloc(1, sizeof(*r));
	if (!r) return STATUS_INSUFFICIENT_RESOURCES;
	r->Magic = OB_MAGIC;
	r->Count = Registration->OperationRegistrationCount;
	memcpy(r->Ops, Registration->OperationRegistration, r->Count * sizeof(r->Ops[0]));
	r->Context = Registration->RegistrationContext;
	ToAscii(&Registration->Altitude, r->Altitude, sizeof(r->Altitude));
	for (ULONG i = 0; i < 8; i++) {
		if (!gObRegs[i]) {
			gObRegs[i] = r;
			*Handle = r;
			return STATUS_SUCCESS;
		}
	}
	free(r);
	return STATUS_INSUFFICIENT_RESOURCES;
}

VOID NTAPI ObUnRegisterCallbacks(PVOID Handle)
{
	for (ULONG i = 0; i < 8; i++) {
		if (gObRegs[i] && gObRegs[i] == Handle) {
			gObRegs[i]->Magic = 0;
			free(gObRegs[i]);
			gObRegs[i] = NULL;
			return;
		}
	}
	ShimBugCheck("ObUnRegisterCallbacks(%p): not registered", Handle);
}

VOID ShimNotifyProcessHandle(PEPROCESS Target, BOOLEAN Duplicate, BOOLEAN KernelHandle, ACCESS_MASK Desired,
			     ACCESS_MASK Granted, NTSTATUS Status)
{
	OB_OPERATION op = Duplicate ? OB_OPERATION_HANDLE_DUPLICATE : OB_OPERATION_HANDLE_CREATE;
	for (ULONG i = 0; i < 8; i++) {
		SHIM_OB_REG *r = gObRegs[i];
		if (!r) continue;
		for (USHORT j = 0; j < r->Count; j++) {
			OB_OPERATION_REGISTRATION *o = &r->Ops[j];
			if (*o->ObjectType != *PsProcessType || !(o->Operations & op)) continue;
			OB_PRE_OPERATION_PARAMETERS pre;
			OB_PRE_OPERATION_INFORMATION preInfo;
			memset(&pre, 0, sizeof(pre));
			memset(&preInfo, 0, sizeof(preInfo));
			pre.CreateHandleInformation.DesiredAccess = pre.CreateHandleInformation.OriginalDesiredAccess = Desired;
			preInfo.Operation = op;
			preInfo.KernelHandle = KernelHandle;
			preInfo.Object = Target;
			preInfo.ObjectType = *PsProcessType;
			preInfo.Parameters = &pre;
			if (o->PreOperation) {
				if (o->PreOperation(r->Context, &preInfo) != OB_PREOP_SUCCESS)
					ShimBugCheck("an Ob pre-operation returned something other than OB_PREOP_SUCCESS");
				CallbackReturned("the Ob pre-operation", PASSIVE_LEVEL);
			}
			if (o->PostOperation) {
				OB_POST_OPERATION_PARAMETERS post;
				OB_POST_OPERATION_INFORMATION postInfo;
				memset(&post, 0, sizeof(post));
				memset(&postInfo, 0, sizeof(postInfo));
				post.CreateHandleInformation.GrantedAccess = Granted;
				postInfo.Operation = op;
				postInfo.KernelHandle = KernelHandle;
				postInfo.Object = Target;
				postInfo.ObjectType = *PsProcessType;
				postInfo.CallContext = preInfo.CallContext;
				postInfo.ReturnStatus = Status;
				postInfo.Parameters = &post;
				o->PostOperation(r->Context, &postInfo);
				CallbackReturned("the Ob post-operation", PASSIVE_LEVEL);
			}
		}
	}
}

/* ---- Cm callbacks ---- */
typedef struct SHIM_CM_REG { PEX_CALLBACK_FUNCTION Function; PVOID Context; LONGLONG Cookie; char Altitude[32]; } SHIM_CM_REG;
static SHIM_CM_REG gCmRegs[8];
static LONGLONG gNextCookie = 0x1000;

NTSTATUS NTAPI CmRegisterCallbackEx(PEX_CALLBACK_FUNCTION Function, PCUNICODE_STRING Altitude, PVOID Driver, PVOID Context,
				    PLARGE_INTEGER Cookie, PVOID Reserved)
{
	FAIL_IF_ASKED("CmRegisterCallbackEx");
	if (!Function || !Altitude || !Altitude->Length || !Driver || !Cookie || Reserved) return STATUS_INVALID_PARAMETER;
	for (ULONG i = 0; i < 8; i++) {
		if (!gCmRegs[i].Function) {
			gCmRegs[i].Function = Function;
			gCmRegs[i].Context = Context;
			gCmRegs[i].Cookie = gNextCookie++;
			ToAscii(Altitude, gCmRegs[i].Altitude, sizeof(gCmRegs[i].Altitude));
			Cookie->QuadPart = gCmRegs[i].Cookie;
			return STATUS_SUCCESS;
		}
	}
	return STATUS_INSUFFICIENT_RESOURCES;
}

NTSTATUS NTAPI CmUnRegisterCallback(LARGE_INTEGER Cookie)
{
	for (ULONG i = 0; i < 8; i++) {
		if (gCmRegs[i].Function && gCmRegs[i].Cookie == Cookie.QuadPart) {
			memset(&gCmRegs[i], 0, sizeof(gCmRegs[i]));
			return STATUS_SUCCESS;
		}
	}
	return STATUS_INVALID_PARAMETER;
}

NTSTATUS NTAPI CmCallbackGetKeyObjectID(PLARGE_INTEGER Cookie, PVOID Object, PULONG_PTR ObjectId, PCUNICODE_STRING *ObjectName)
{
	BOOLEAN known = FALSE;
	SHIM_KEY *k;
	for (ULONG i = 0; i < 8; i++) known |= gCmRegs[i].Function && gCmRegs[i].Cookie == Cookie->QuadPart;
	if (!known) return STATUS_INVALID_PARAMETER;
	k = (SHIM_KEY *)ObjectOf(Object, OBJ_KEY, "CmCallbackGetKeyObjectID");
	if (ObjectId) *ObjectId = (ULONG_PTR)k;
	if (ObjectName) *ObjectName = &k->Name;     /* valid while the key object lives */
	return STATUS_SUCCESS;
}

NTSTATUS ShimNotifyRegistry(REG_NOTIFY_CLASS Class, PVOID Argument2)
{
	NTSTATUS first = STATUS_SUCCESS;
	for (ULONG i = 0; i < 8; i++) {
		if (!gCmRegs[i].Function) continue;
		NTSTATUS st = gCmRegs[i].Function(gCmRegs[i].Context, (PVOID)(ULONG_PTR)Class, Argument2);
		CallbackReturned("the registry callback", PASSIVE_LEVEL);
		if (!NT_SUCCESS(st) && NT_SUCCESS(first)) first = st;
	}
	return first;
}

/* ---- devices, links, IRPs ---- */
static DRIVER_OBJECT gDriver;
static PDEVICE_OBJECT gDeviceObject;
static ULONG gDeviceExclusive;
static UNICODE_STRING gDeviceName, gLinkName;
static ULONG gCompletions;

NTSTATUS NTAPI IoCreateDevice(PDRIVER_OBJECT Driver, ULONG ExtensionSize, PUNICODE_STRING Name, DEVICE_TYPE Type,
			      ULONG Characteristics, BOOLEAN Exclusive, PDEVICE_OBJECT *Device)
{
	PDEVICE_OBJECT d;
	FAIL_IF_ASKED("IoCreateDevice");
	if (gDeviceObject) return STATUS_OBJECT_NAME_COLLISION;
	d = calloc(1, sizeof(*d) + ExtensionSize);
	if (!d) return STATUS_INSUFFICIENT_RESOURCES;
	d->DriverObject = Driver;
	d->DeviceType = Type;
	d->Characteristics = Characteristics;
	d->Flags = DO_DEVICE_INITIALIZING;
	gDeviceExclusive = Exclusive;
	d->DeviceExtension = ExtensionSize ? d + 1 : NULL;
	Driver->DeviceObject = d;
	gDeviceName.Buffer = WDup(Name->Buffer, Name->Length / 2);
	gDeviceName.Length = Name->Length;
	gDeviceObject = *Device = d;
	return STATUS_SUCCESS;
}

VOID NTAPI IoDeleteDevice(PDEVICE_OBJECT Device)
{
	if (!Device || Device != gDeviceObject) ShimBugCheck("IoDeleteDevice(%p): not a device", (void *)Device);
	gDriver.DeviceObject = NULL;
	free(gDeviceName.Buffer);
	memset(&gDeviceName, 0, sizeof(gDeviceName));
	free(Device);
	gDeviceObject = NULL;
}

NTSTATUS NTAPI IoCreateSymbolicLink(PUNICODE_STRING Link, PUNICODE_STRING Device)
{
	FAIL_IF_ASKED("IoCreateSymbolicLink");
	if (gLinkName.Buffer) return STATUS_OBJECT_NAME_COLLISION;
	if (!gDeviceObject || !RtlEqualUnicodeString(Device, &gDeviceName, TRUE)) return STATUS_OBJECT_NAME_NOT_FOUND;
	gLinkName.Buffer = WDup(Link->Buffer, Link->Length / 2);
	gLinkName.Length = Link->Length;
	return STATUS_SUCCESS;
}

NTSTATUS NTAPI IoDeleteSymbolicLink(PUNICODE_STRING Link)
{
	if (!gLinkName.Buffer || !RtlEqualUnicodeString(Link, &gLinkName, TRUE)) return STATUS_OBJECT_NAME_NOT_FOUND;
	free(gLinkName.Buffer);
	memset(&gLinkName, 0, sizeof(gLinkName));
	return STATUS_SUCCESS;
}

VOID NTAPI IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
	if (Irp->Flags & 0x80000000u) ShimBugCheck("MULTIPLE_IRP_COMPLETE_REQUESTS (%p)", (void *)Irp);
	Irp->Flags |= 0x80000000u;
	gCompletions++;
}

static NTSTATUS SendIrp(UCHAR Major, KPROCESSOR_MODE Mode, IO_STACK_LOCATION *Sp, PVOID Buffer, ULONG_PTR *Information)
{
	IRP irp;
	NTSTATUS st;
	ULONG before = gCompletions;
	if (!gDeviceObject || (gDeviceObject->Flags & DO_DEVICE_INITIALIZING)) ShimBugCheck("IRP to a device still initializing");
	if (!gDriver.MajorFunction[Major]) return STATUS_INVALID_DEVICE_REQUEST;
	memset(&irp, 0, sizeof(irp));
	Sp->MajorFunction = Major;
	Sp->DeviceObject = gDeviceObject;
	irp.RequestorMode = Mode;
	irp.AssociatedIrp.SystemBuffer = Buffer;
	irp.CurrentStackLocation = Sp;
	irp.IoStatus.Status = (NTSTATUS)0xDEADBEEF;
	st = gDriver.MajorFunction[Major](gDeviceObject, &irp);
	CallbackReturned("a dispatch routine", PASSIVE_LEVEL);
	if (gCompletions != before + 1) ShimBugCheck("dispatch routine for IRP_MJ 0x%x did not complete the IRP once", Major);
	if (irp.IoStatus.Status != st) ShimBugCheck("dispatch returned 0x%08x but completed with 0x%08x", st, irp.IoStatus.Status);
	*Information = irp.IoStatus.Information;
	return st;
}

NTSTATUS ShimDeviceCreate(KPROCESSOR_MODE Mode, ULONG_PTR *Information)
{
	IO_STACK_LOCATION sp;
	ULONG_PTR info;
	NTSTATUS st;
	memset(&sp, 0, sizeof(sp));
	st = SendIrp(IRP_MJ_CREATE, Mode, &sp, NULL, Information);
	if (NT_SUCCESS(st)) {                      /* a successful open is closed by the caller */
		memset(&sp, 0, sizeof(sp));
		SendIrp(IRP_MJ_CLEANUP, Mode, &sp, NULL, &info);
		memset(&sp, 0, sizeof(sp));
		SendIrp(IRP_MJ_CLOSE, Mode, &sp, NULL, &info);
	}
	return st;
}

NTSTATUS ShimDeviceIoctl(ULONG Code, PVOID Buffer, ULONG OutputLength, ULONG_PTR *Information)
{
	IO_STACK_LOCATION sp;
	memset(&sp, 0, sizeof(sp));
	sp.Parameters.DeviceIoControl.IoControlCode = Code;
	sp.Parameters.DeviceIoControl.OutputBufferLength = OutputLength;
	return SendIrp(IRP_MJ_DEVICE_CONTROL, UserMode, &sp, Buffer, Information);
}

/* ---- Filter Manager ---- */
struct _FLT_FILTER { ULONG Magic; const FLT_REGISTRATION *Registration; BOOLEAN Filtering; };
struct _FLT_VOLUME { UNICODE_STRING Name; DEVICE_TYPE DeviceType; FLT_FILESYSTEM_TYPE FsType; };
struct _FLT_INSTANCE { PFLT_FILTER Filter; PFLT_VOLUME Volume; BOOLEAN Attached; };
typedef struct _FLT_VOLUME FLT_VOLUME;
typedef struct _FLT_INSTANCE FLT_INSTANCE;
#define FILTER_MAGIC 0x746c4653u

static struct _FLT_VOLUME gVolumes[] = {
	{ { 46, 48, (PWSTR)L"\\Device\\HarddiskVolume3" }, FILE_DEVICE_DISK_FILE_SYSTEM, FLT_FSTYPE_NTFS },
	{ { 22, 24, (PWSTR)L"\\Device\\Mup" }, FILE_DEVICE_NETWORK_FILE_SYSTEM, FLT_FSTYPE_MUP },
	{ { 46, 48, (PWSTR)L"\\Device\\HarddiskVolume5" }, FILE_DEVICE_DISK_FILE_SYSTEM, FLT_FSTYPE_CDFS },
};
#define VOLUMES (sizeof(gVolumes) / sizeof(gVolumes[0]))
static struct _FLT_INSTANCE gInstances[VOLUMES];
static PFLT_FILTER gFltFilter;
static LONG gNameInfos;
static PFLT_FILTER_UNLOAD_CALLBACK gUnload;

NTSTATUS FLTAPI FltRegisterFilter(PDRIVER_OBJECT Driver, CONST FLT_REGISTRATION *Registration, PFLT_FILTER *RetFilter)
{
	FAIL_IF_ASKED("FltRegisterFilter");
	if (Driver != &gDriver) ShimBugCheck("FltRegisterFilter: not this driver's object");
	if (gFltFilter) return STATUS_OBJECT_NAME_COLLISION;
	if (Registration->Size != sizeof(FLT_REGISTRATION) || Registration->Version != FLT_REGISTRATION_VERSION_0202)
		return STATUS_INVALID_PARAMETER;
	for (const FLT_OPERATION_REGISTRATION *o = Registration->OperationRegistration; o; o++) {
		if (o->MajorFunction == IRP_MJ_OPERATION_END) break;
		if (o->MajorFunction > IRP_MJ_MAXIMUM_FUNCTION) return STATUS_INVALID_PARAMETER;
	}
	gFltFilter = calloc(1, sizeof(*gFltFilter));
	if (!gFltFilter) return STATUS_INSUFFICIENT_RESOURCES;
	gFltFilter->Magic = FILTER_MAGIC;
	gFltFilter->Registration = Registration;
	gUnload = Registration->FilterUnloadCallback;
	*RetFilter = gFltFilter;
	return STATUS_SUCCESS;
}

NTSTATUS FLTAPI FltStartFiltering(PFLT_FILTER Filter)
{
	FAIL_IF_ASKED("FltStartFiltering");
	if (Filter != gFltFilter || Filter->Magic != FILTER_MAGIC) ShimBugCheck("FltStartFiltering(%p)", (void *)Filter);
	Filter->Filtering = TRUE;
	for (ULONG i = 0; i < VOLUMES; i++) {
		PFLT_INSTANCE_SETUP_CALLBACK setup = Filter->Registration->InstanceSetupCallback;
		gInstances[i].Filter = Filter;
		gInstances[i].Volume = &gVolumes[i];
		FLT_RELATED_OBJECTS o = { sizeof(o), 0, Filter, &gVolumes[i], &gInstances[i], NULL, NULL };
		gInstances[i].Attached = !setup || NT_SUCCESS(setup(&o, 1 /* AUTOMATIC_ATTACHMENT */, gVolumes[i].DeviceType,
									   gVolumes[i].FsType));
	}
	return STATUS_SUCCESS;
}

ULONG ShimFltAttachedVolumes(VOID)
{
	ULONG mask = 0;
	for (ULONG i = 0; i < VOLUMES; i++) if (gInstances[i].Attached) mask |= 1u << i;
	return mask;
}

VOID FLTAPI FltUnregisterFilter(PFLT_FILTER Filter)
{
	if (Filter != gFltFilter || Filter->Magic != FILTER_MAGIC) ShimBugCheck("FltUnregisterFilter(%p)", (void *)Filter);
	for (ULONG i = 0; i < VOLUMES; i++) gInstances[i].Attached = FALSE;
	Filter->Magic = 0;
	free(Filter);
	gFltFilter = NULL;
}

struct SHIM_FILE {
	FILE_OBJECT Fo;               /* first: the driver's PFILE_OBJECT is this */
	PWSTR FullName;               /* \Device\HarddiskVolume3\dir\a.txt[:stream] */
	USHORT FullBytes;
	FLT_VOLUME *Volume;
	FILE_BASIC_INFORMATION Basic;
	BOOLEAN NameAvailable;
};

SHIM_FILE *ShimFileOpen(PCWSTR FullName, LONGLONG CreationTime, ULONG Attributes, BOOLEAN NameAvailable)
{
	SHIM_FILE *f = calloc(1, sizeof(*f));
	SIZE_T n = WLen(FullName);
	if (!f) ShimBugCheck("out of memory");
	f->FullName = WDup(FullName, n);
	f->FullBytes = (USHORT)(n * 2);
	f->Volume = &gVolumes[0];
	for (ULONG i = 0; i < VOLUMES; i++) {
		USHORT vl = gVolumes[i].Name.Length;
		if (f->FullBytes >= vl && !memcmp(FullName, gVolumes[i].Name.Buffer, vl) && (f->FullBytes == vl || FullName[vl / 2] == '\\'))
			f->Volume = &gVolumes[i];
	}
	f->Fo.Type = 5;
	f->Fo.Size = sizeof(FILE_OBJECT);
	/* the name the file was opened by, without the volume: empty for a volume open */
	f->Fo.FileName.Buffer = f->FullName + f->Volume->Name.Length / 2;
	f->Fo.FileName.Length = (USHORT)(f->FullBytes - f->Volume->Name.Length);
	f->Fo.FileName.MaximumLength = f->Fo.FileName.Length;
	f->Basic.CreationTime.QuadPart = CreationTime;
	f->Basic.FileAttributes = Attributes;
	f->NameAvailable = NameAvailable;
	return f;
}

PFILE_OBJECT ShimFileObject(SHIM_FILE *File) { return &File->Fo; }

VOID ShimFileClose(SHIM_FILE *File)
{
	free(File->FullName);
	free(File);
}

static FLT_INSTANCE *InstanceOf(SHIM_FILE *File)
{
	return &gInstances[File->Volume - gVolumes];
}

/* a name information in pool: the struct, then the name's characters */
static PFLT_FILE_NAME_INFORMATION NewNameInfo(PCWSTR Name, USHORT Bytes, FLT_VOLUME *Volume, FLT_FILE_NAME_OPTIONS Format)
{
	PFLT_FILE_NAME_INFORMATION n = ExAllocatePoolWithTag(PagedPool, sizeof(*n) + Bytes, 0x6d4e6c46 /* "FlNm" */);
	if (!n) return NULL;
	memset(n, 0, sizeof(*n));
	n->Size = sizeof(*n);
	n->Format = Format;
	n->Name.Buffer = (PWSTR)(n + 1);
	memcpy(n->Name.Buffer, Name, Bytes);
	n->Name.Length = n->Name.MaximumLength = Bytes;
	n->Volume.Buffer = n->Name.Buffer;
	n->Volume.Length = n->Volume.MaximumLength = Volume->Name.Length;
	__atomic_add_fetch(&gNameInfos, 1, __ATOMIC_SEQ_CST);
	return n;
}

NTSTATUS FLTAPI FltGetFileNameInformation(PFLT_CALLBACK_DATA CallbackData, FLT_FILE_NAME_OPTIONS NameOptions,
					  PFLT_FILE_NAME_INFORMATION *FileNameInformation)
{
	SHIM_FILE *f = (SHIM_FILE *)CallbackData->Iopb->TargetFileObject;
	ULONG format = NameOptions & 0xff;
	if (format != FLT_FILE_NAME_NORMALIZED && format != FLT_FILE_NAME_OPENED) return STATUS_INVALID_PARAMETER;
	if (tIrql > APC_LEVEL) ShimBugCheck("FltGetFileNameInformation at IRQL %u", tIrql);
	if (!f->NameAvailable) return STATUS_OBJECT_NAME_NOT_FOUND;
	*FileNameInformation = NewNameInfo(f->FullName, f->FullBytes, f->Volume, format);
	return *FileNameInformation ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

/* FinalComponent, Extension, Stream and ParentDir point into Name, as fltmgr's do */
NTSTATUS FLTAPI FltParseFileNameInformation(PFLT_FILE_NAME_INFORMATION Info)
{
	PWSTR s = Info->Name.Buffer;
	USHORT n = Info->Name.Length / 2, v = Info->Volume.Length / 2, last = v, colon = n, dot = 0;
	for (USHORT i = v; i < n; i++) if (s[i] == '\\') last = i;
	for (USHORT i = last + 1; i < n; i++) if (s[i] == ':') { colon = i; break; }
	for (USHORT i = last + 1; i < colon; i++) if (s[i] == '.') dot = i;
	Info->ParentDir.Buffer = s + v;
	Info->ParentDir.Length = Info->ParentDir.MaximumLength = (USHORT)((last + 1 - v) * 2);
	Info->FinalComponent.Buffer = s + last + 1;
	Info->FinalComponent.Length = Info->FinalComponent.MaximumLength = (USHORT)((n - last - 1) * 2);
	Info->Stream.Buffer = s + colon;
	Info->Stream.Length = Info->Stream.MaximumLength = (USHORT)((n - colon) * 2);
	Info->Extension.Buffer = dot ? s + dot + 1 : NULL;
	Info->Extension.Length = Info->Extension.MaximumLength = dot ? (USHORT)((colon - dot - 1) * 2) : 0;
	Info->NamesParsed = 0x0f;
	return STATUS_SUCCESS;
}

VOID FLTAPI FltReleaseFileNameInformation(PFLT_FILE_NAME_INFORMATION Info)
{
	if (__atomic_sub_fetch(&gNameInfos, 1, __ATOMIC_SEQ_CST) < 0) ShimBugCheck("FltReleaseFileNameInformation: more releases than gets");
	ExFreePoolWithTag(Info, 0x6d4e6c46);
}

/* \??\C:\x -> \Device\HarddiskVolume3\x; \Device\... as is; else beside the file */
NTSTATUS FLTAPI FltGetDestinationFileNameInformation(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, HANDLE RootDirectory,
						     PWSTR FileName, ULONG FileNameLength, FLT_FILE_NAME_OPTIONS NameOptions,
						     PFLT_FILE_NAME_INFORMATION *Ret)
{
	SHIM_FILE *f = (SHIM_FILE *)FileObject;
	WCHAR buf[2048];
	ULONG n = FileNameLength / 2, at = 0;
	if (Instance != InstanceOf(f)) ShimBugCheck("FltGetDestinationFileNameInformation: another volume's instance");
	if (RootDirectory || FileNameLength % 2 || n == 0 || n > 1024) return STATUS_INVALID_PARAMETER;
	if (n >= 6 && FileName[0] == '\\' && FileName[1] == '?' && FileName[2] == '?' && FileName[3] == '\\' &&
	    Upcase(FileName[4]) == 'C' && FileName[5] == ':') {
		memcpy(buf, gVolumes[0].Name.Buffer, gVolumes[0].Name.Length);
		at = gVolumes[0].Name.Length / 2;
		FileName += 6;
		n -= 6;
	} else if (FileName[0] != '\\') {
		ULONG dir = f->FullBytes / 2;
		while (dir > 0 && f->FullName[dir - 1] != '\\') dir--;
		memcpy(buf, f->FullName, dir * 2);
		at = dir;
	}
	memcpy(buf + at, FileName, n * 2);
	*Ret = NewNameInfo(buf, (USHORT)((at + n) * 2), f->Volume, NameOptions & 0xff);
	return *Ret ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

NTSTATUS FLTAPI FltQueryInformationFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject, PVOID FileInformation, ULONG Length,
					FILE_INFORMATION_CLASS Class, PULONG LengthReturned)
{
	SHIM_FILE *f = (SHIM_FILE *)FileObject;
	if (Instance != InstanceOf(f)) ShimBugCheck("FltQueryInformationFile: another volume's instance");
	if (Class != FileBasicInformation) return STATUS_INVALID_PARAMETER;
	if (Length < sizeof(FILE_BASIC_INFORMATION)) return STATUS_BUFFER_TOO_SMALL;
	memcpy(FileInformation, &f->Basic, sizeof(f->Basic));
	if (LengthReturned) *LengthReturned = sizeof(f->Basic);
	return STATUS_SUCCESS;
}

ULONG FLTAPI FltGetRequestorProcessId(PFLT_CALLBACK_DATA CallbackData)
{
	return CallbackData->Thread ? IoThreadToProcess(CallbackData->Thread)->Pid : Current("FltGetRequestorProcessId")->Process->Pid;
}

FLT_PREOP_CALLBACK_STATUS ShimFltOperation(UCHAR Major, SHIM_FILE *File, FLT_PARAMETERS *Params, NTSTATUS Status,
					    ULONG_PTR Information, BOOLEAN Draining)
{
	const FLT_OPERATION_REGISTRATION *op = NULL;
	FLT_INSTANCE *inst = InstanceOf(File);
	FLT_IO_PARAMETER_BLOCK iopb;
	PVOID ctx = NULL;
	FLT_PREOP_CALLBACK_STATUS pre = FLT_PREOP_SUCCESS_WITH_CALLBACK;
	KIRQL irql = tIrql;

	if (!gFltFilter || !gFltFilter->Filtering || !inst->Attached) return FLT_PREOP_SUCCESS_NO_CALLBACK;
	for (const FLT_OPERATION_REGISTRATION *o = gFltFilter->Registration->OperationRegistration; o->MajorFunction != IRP_MJ_OPERATION_END; o++)
		if (o->MajorFunction == Major) op = o;
	if (!op) return FLT_PREOP_SUCCESS_NO_CALLBACK;
	memset(&iopb, 0, sizeof(iopb));
	iopb.MajorFunction = Major;
	iopb.TargetFileObject = &File->Fo;
	iopb.TargetInstance = inst;
	iopb.Parameters = *Params;
	FLT_CALLBACK_DATA data = { 0x2 /* FLTFL_CALLBACK_DATA_IRP_OPERATION */, Current("a file operation"), &iopb,
				   { { 0 }, 0 }, NULL, { { { NULL, NULL }, { NULL, NULL } } }, UserMode };
	FLT_RELATED_OBJECTS objs = { sizeof(objs), 0, gFltFilter, inst->Volume, inst, &File->Fo, NULL };

	if (op->PreOperation) {
		pre = op->PreOperation(&data, &objs, &ctx);
		CallbackReturned("a minifilter pre-operation", irql);
		if (pre != FLT_PREOP_SUCCESS_WITH_CALLBACK && pre != FLT_PREOP_SUCCESS_NO_CALLBACK && pre != FLT_PREOP_SYNCHRONIZE)
			ShimBugCheck("pre-operation for IRP_MJ 0x%x returned %d", Major, pre);
		if (pre == FLT_PREOP_SUCCESS_NO_CALLBACK && ctx) ShimBugCheck("a completion context without a post-operation (leaked)");
	}
	data.IoStatus.Status = Status;
	data.IoStatus.Information = Information;
	if (op->PostOperation && pre != FLT_PREOP_SUCCESS_NO_CALLBACK) {
		/* FLT_PREOP_SYNCHRONIZE: the post-operation runs at the pre's IRQL, in its thread;
		 * otherwise it may run at DISPATCH_LEVEL (completion), as fltmgr allows */
		tIrql = pre == FLT_PREOP_SYNCHRONIZE || Major == IRP_MJ_CREATE ? irql : DISPATCH_LEVEL;
		op->PostOperation(&data, &objs, ctx, Draining ? FLTFL_POST_OPERATION_DRAINING : 0);
		CallbackReturned("a minifilter post-operation", tIrql);
		tIrql = irql;
	}
	if (__atomic_load_n(&gNameInfos, __ATOMIC_SEQ_CST)) ShimBugCheck("%d file name information(s) not released", gNameInfos);
	return pre;
}

/* What the driver registered, one line each (the tests compare it whole). */
VOID ShimPrintRegistrations(FILE *Out)
{
	char a[256], b[256];
	static const char *const majors[] = { [IRP_MJ_CREATE] = "create", [IRP_MJ_CLOSE] = "close",
		[IRP_MJ_SET_INFORMATION] = "set_information", [IRP_MJ_DEVICE_CONTROL] = "device_control", [IRP_MJ_CLEANUP] = "cleanup" };
	if (gDeviceObject) {
		ToAscii(&gDeviceName, a, sizeof(a));
		fprintf(Out, "device %s type=0x%x characteristics=0x%x exclusive=%u initializing=%u\n", a, gDeviceObject->DeviceType,
			gDeviceObject->Characteristics, gDeviceExclusive, (gDeviceObject->Flags & DO_DEVICE_INITIALIZING) != 0);
		fputs("dispatch", Out);
		for (ULONG m = 0; m <= IRP_MJ_MAXIMUM_FUNCTION; m++)
			if (gDriver.MajorFunction[m]) fprintf(Out, " %s", m < sizeof(majors) / sizeof(*majors) && majors[m] ? majors[m] : "?");
		fputc('\n', Out);
	}
	if (gLinkName.Buffer) {
		ToAscii(&gLinkName, b, sizeof(b));
		fprintf(Out, "link %s\n", b);
	}
	for (ULONG i = 0; i < MAX_NOTIFY; i++) {
		if (gProcessRoutines[i]) fputs("ps process-notify-ex\n", Out);
		if (gThreadRoutines[i]) fputs("ps thread-notify\n", Out);
		if (gImageRoutines[i]) fputs("ps load-image-notify\n", Out);
	}
	for (ULONG i = 0; i < 8; i++) {
		SHIM_OB_REG *r = gObRegs[i];
		if (!r) continue;
		for (USHORT j = 0; j < r->Count; j++)
			fprintf(Out, "ob altitude=%s type=%s create=%u duplicate=%u pre=%u post=%u\n", r->Altitude, (*r->Ops[j].ObjectType)->Name,
				(r->Ops[j].Operations & OB_OPERATION_HANDLE_CREATE) != 0, (r->Ops[j].Operations & OB_OPERATION_HANDLE_DUPLICATE) != 0,
				r->Ops[j].PreOperation != NULL, r->Ops[j].PostOperation != NULL);
	}
	for (ULONG i = 0; i < 8; i++)
		if (gCmRegs[i].Function) fprintf(Out, "cm altitude=%s\n", gCmRegs[i].Altitude);
	if (gFltFilter) {
		const FLT_REGISTRATION *r = gFltFilter->Registration;
		fprintf(Out, "flt version=0x%x flags=0x%x filtering=%u unload=%u setup=%u query_teardown=%u\n", r->Version, r->Flags,
			gFltFilter->Filtering, r->FilterUnloadCallback != NULL, r->InstanceSetupCallback != NULL,
			r->InstanceQueryTeardownCallback != NULL);
		for (const FLT_OPERATION_REGISTRATION *o = r->OperationRegistration; o->MajorFunction != IRP_MJ_OPERATION_END; o++)
			fprintf(Out, "flt op=%s flags=0x%x pre=%u post=%u\n", o->MajorFunction < sizeof(majors) / sizeof(*majors) && majors[o->MajorFunction] ?
				majors[o->MajorFunction] : "?", o->Flags, o->PreOperation != NULL, o->PostOperation != NULL);
		for (ULONG i = 0; i < VOLUMES; i++) {
			ToAscii(&gVolumes[i].Name, a, sizeof(a));
			fprintf(Out, "flt volume %s attached=%u\n", a, gInstances[i].Attached);
		}
	}
	fputs("end\n", Out);
}

/* ---- load, unload, the books ---- */
NTSTATUS ShimDriverLoad(DRIVER_INITIALIZE *Entry, PCWSTR RegistryPath)
{
	UNICODE_STRING path;
	NTSTATUS st;
	KIRQL irql = tIrql;
	SIZE_T n = WLen(RegistryPath);
	if (n >= 200) ShimBugCheck("registry path too long");
	memset(gRegistryPath, 0, sizeof(gRegistryPath));
	memcpy(gRegistryPath, RegistryPath, n * 2);
	memset(&gDriver, 0, sizeof(gDriver));
	gDriver.Type = 4;
	gDriver.Size = sizeof(gDriver);
	RtlInitUnicodeString(&path, gRegistryPath);
	st = Entry(&gDriver, &path);
	CallbackReturned("DriverEntry", irql);
	return st;
}

NTSTATUS ShimDriverUnload(VOID)
{
	NTSTATUS st;
	if (!gFltFilter || !gUnload) ShimBugCheck("unload: the filter is not registered");
	st = gUnload(0);
	CallbackReturned("the filter unload callback", PASSIVE_LEVEL);
	if (NT_SUCCESS(st) && gFltFilter) ShimBugCheck("the unload callback succeeded without FltUnregisterFilter");
	return st;
}

ULONG ShimReportLeaks(VOID)
{
	ULONG n = 0;
#define LEAK(cond, ...) do { if (cond) { fprintf(stderr, "LEAK: " __VA_ARGS__); fputc('\n', stderr); n++; } } while (0)
	for (ULONG i = 0; i < MAX_NOTIFY; i++) {
		LEAK(gProcessRoutines[i], "process notify routine %p still registered", (PVOID)gProcessRoutines[i]);
		LEAK(gThreadRoutines[i], "thread notify routine %p still registered", (PVOID)gThreadRoutines[i]);
		LEAK(gImageRoutines[i], "image notify routine %p still registered", (PVOID)gImageRoutines[i]);
	}
	for (ULONG i = 0; i < 8; i++) {
		LEAK(gObRegs[i], "Ob callbacks %p still registered", (PVOID)gObRegs[i]);
		LEAK(gCmRegs[i].Function, "registry callback %p still registered", (PVOID)gCmRegs[i].Function);
	}
	LEAK(gFltFilter, "minifilter still registered");
	LEAK(gDeviceObject, "device object not deleted");
	LEAK(gLinkName.Buffer, "symbolic link not deleted");
	LEAK(gViews, "%d section view(s) still mapped", gViews);
	LEAK(gLiveByKind[OBJ_SECTION], "%d section object(s) not deleted", gLiveByKind[OBJ_SECTION]);
	LEAK(gLiveByKind[OBJ_KEY], "%d key object(s) not deleted", gLiveByKind[OBJ_KEY]);
	LEAK(gNameInfos, "%d file name information(s) not released", gNameInfos);
	for (ULONG i = 0; i < MAX_HANDLES; i++)
		LEAK(gHandles[i].Object, "%s handle %#x still open (object kind %d)", gHandles[i].Kernel ? "kernel" : "user",
		     (i + 1) * 4, ((SHIM_OBJECT *)gHandles[i].Object)->Kind);
	for (POOL_BLOCK *b = gPool; b; b = b->Next)
		LEAK(1, "pool block %p of %zu bytes, tag %.4s, not freed", b->P, (size_t)b->Bytes, (const char *)&b->Tag);
	/* the machine's own references: one per process/thread in a table, one per thread on
	 * its process; anything above is a reference the driver took and kept */
	for (ULONG i = 0; i < MAX_PROCESSES; i++) {
		PEPROCESS p = gProcesses[i];
		LONG threads = 0;
		if (!p) continue;
		for (ULONG j = 0; j < MAX_THREADS; j++) threads += gThreads[j] && gThreads[j]->Process == p;
		LEAK(p->H.Refs != 1 + threads, "process %u has %d references, expected %d", p->Pid, p->H.Refs, 1 + threads);
		LEAK(p->Token.Refs, "process %u's token referenced %d time(s)", p->Pid, p->Token.Refs);
	}
	for (ULONG i = 0; i < MAX_THREADS; i++)
		LEAK(gThreads[i] && gThreads[i]->H.Refs != 1, "thread %u has %d references, expected 1", gThreads[i]->Tid, gThreads[i]->H.Refs);
#undef LEAK
	return n;
}

/* the objects the machine itself holds, released at exit so LeakSanitizer sees only the driver's */
__attribute__((destructor)) static void ShimTeardownMachine(void)
{
	for (ULONG i = 0; i < MAX_THREADS; i++) if (gThreads[i]) RemoveThread(i);
	for (ULONG i = 0; i < MAX_PROCESSES; i++) if (gProcesses[i]) ShimRemoveProcess(gProcesses[i], 0);
}
