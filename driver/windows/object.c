/*
 * ObRegisterCallbacks on process handles -> access_record (Sysmon 10). Post-operation, so
 * `granted` is the access the handle really got (what Sysmon reports as GrantedAccess),
 * after every other callback's and the object manager's decisions. Kernel handles and a
 * process opening itself are not reported (Sysmon does neither). Each access_record is
 * followed by a win_stack_record with the opener's user-mode return addresses (CallTrace).
 */
#include "sysmon_ts.h"

static PVOID gObHandle;

/* The caller's user-mode stack (Sysmon's CallTrace), in a record that follows Of. */
static VOID StackOutput(CONST struct record_header *Of)
{
	struct {
		struct win_stack_record rec;
		PVOID frames[WIN_STACK_MAX];
	} s;
	ULONG n = RtlWalkFrameChain(s.frames, WIN_STACK_MAX, 1 /* user-mode frames */);

	if (n == 0 || n > WIN_STACK_MAX) return;
	RtlZeroMemory(&s.rec, sizeof(s.rec));
	s.rec.hdr = *Of;                      /* same boot_ns, tgid, tid: the pairing key */
	s.rec.hdr.type = RECORD_WIN_STACK;
	s.rec.hdr.size = sizeof(s.rec) + n * sizeof(PVOID);
	s.rec.for_type = Of->type;
	s.rec.frames.off = sizeof(s.rec);
	s.rec.frames.len = n * sizeof(PVOID);
	RingOutput(&s, s.rec.hdr.size);
}

static VOID NTAPI ProcessHandlePost(PVOID Context, POB_POST_OPERATION_INFORMATION Info)
{
	PEPROCESS target = (PEPROCESS)Info->Object;
	struct access_record r;

	if (Info->KernelHandle || !NT_SUCCESS(Info->ReturnStatus) || target == PsGetCurrentProcess()) return;
	RtlZeroMemory(&r, sizeof(r));
	FillHeader(&r.hdr, RECORD_PROCESS_ACCESS, sizeof(r), PsGetCurrentProcessId(), PsGetCurrentThreadId());
	FillProcessIds(&r.ids, PsGetCurrentProcess());
	FillTargetIds(&r.target, target, 0);
	if (Info->Operation == OB_OPERATION_HANDLE_CREATE) {
		r.granted = Info->Parameters->CreateHandleInformation.GrantedAccess;
		r.how = ACCESS_VIA_WIN_OPEN;
	} else {
		r.granted = Info->Parameters->DuplicateHandleInformation.GrantedAccess;
		r.how = ACCESS_VIA_WIN_DUPLICATE;
	}
	RingOutput(&r, sizeof(r));
	StackOutput(&r.hdr);
}

static OB_PREOP_CALLBACK_STATUS NTAPI ProcessHandlePre(PVOID Context, POB_PRE_OPERATION_INFORMATION Info)
{
	return OB_PREOP_SUCCESS;
}

NTSTATUS ObjectCallbacksRegister(VOID)
{
	static OB_OPERATION_REGISTRATION ops[1];
	static OB_CALLBACK_REGISTRATION reg;

	ops[0].ObjectType = PsProcessType;
	ops[0].Operations = OB_OPERATION_HANDLE_CREATE | OB_OPERATION_HANDLE_DUPLICATE;
	ops[0].PreOperation = ProcessHandlePre;
	ops[0].PostOperation = ProcessHandlePost;
	reg.Version = OB_FLT_REGISTRATION_VERSION;
	reg.OperationRegistrationCount = 1;
	RtlInitUnicodeString(&reg.Altitude, SYSMON_TS_ALTITUDE);
	reg.RegistrationContext = NULL;
	reg.OperationRegistration = ops;
	return ObRegisterCallbacks(&reg, &gObHandle);
}

VOID ObjectCallbacksUnregister(VOID)
{
	if (gObHandle) ObUnRegisterCallbacks(gObHandle);
	gObHandle = NULL;
}
