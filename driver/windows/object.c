/*
 * ObRegisterCallbacks on process handles -> access_record (Sysmon 10). Post-operation, so
 * `granted` is the access the handle really got (what Sysmon reports as GrantedAccess),
 * after every other callback's and the object manager's decisions. Kernel handles and a
 * process opening itself are not reported (Sysmon does neither).
 */
#include "sysmon_ts.h"

static PVOID gObHandle;

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
