/*
 * CmRegisterCallbackEx -> win_reg_record: key created (post, on success) or deleted (pre)
 * for Sysmon 12, value set (post, on success) for 13 and deleted (pre) for 12, key renamed
 * (pre) for 14. Names come from CmCallbackGetKeyObjectID (the full \REGISTRY\... path).
 * Value names and data may be the caller's user-mode buffers: they are copied with
 * MmCopyMemory, which fails instead of faulting (Windows 8.1+; without it user-mode
 * buffers are not read and only their sizes are sent).
 */
#include "sysmon_ts.h"

typedef union { PVOID VirtualAddress; PHYSICAL_ADDRESS PhysicalAddress; } COPY_ADDRESS;
typedef NTSTATUS (NTAPI *MM_COPY_MEMORY)(PVOID Target, COPY_ADDRESS Source, SIZE_T Bytes, ULONG Flags,
					 PSIZE_T Copied);
#define COPY_MEMORY_VIRTUAL 0x2

static LARGE_INTEGER gCookie;
static BOOLEAN gRegistered;
static MM_COPY_MEMORY pMmCopyMemory;

/* Copies at most Len bytes from Src (kernel or current process's user memory) safely. */
static ULONG SafeCopy(PVOID Dst, CONST VOID *Src, ULONG Len)
{
	SIZE_T copied = 0;
	COPY_ADDRESS from;

	if (!Src || !Len) return 0;
	if ((ULONG_PTR)Src >= (ULONG_PTR)MmSystemRangeStart) {
		RtlCopyMemory(Dst, Src, Len);
		return Len;
	}
	if (!pMmCopyMemory) return 0;
	from.VirtualAddress = (PVOID)Src;
	if (!NT_SUCCESS(pMmCopyMemory(Dst, from, Len, COPY_MEMORY_VIRTUAL, &copied))) return 0;
	return (ULONG)copied;
}

/* Appends a possibly user-mode string; the UNICODE_STRING itself is captured first. */
static VOID AppendSafe(RECORD_BUILDER *B, ULONG RefOff, PCUNICODE_STRING S, ULONG Max)
{
	UNICODE_STRING s;
	struct str_ref *ref = (struct str_ref *)(B->Buf + RefOff);
	ULONG len, got;

	ref->off = B->Size;
	ref->len = 0;
	if (!S || SafeCopy(&s, S, sizeof(s)) != sizeof(s) || !s.Buffer) return;
	len = s.Length;
	if (len > Max) len = Max;
	if (len > B->Cap - B->Size) len = B->Cap - B->Size;
	got = SafeCopy(B->Buf + B->Size, s.Buffer, len);
	ref->len = got;
	B->Size += got;
}

static VOID Emit(__u16 Type, ULONG Op, PVOID KeyObject, PCUNICODE_STRING Value, PCUNICODE_STRING NewName,
		 PREG_SET_VALUE_KEY_INFORMATION Set)
{
	RECORD_BUILDER b;
	PCUNICODE_STRING key = NULL;
	ULONG dataLen = 0;

	if (!KeyObject || !NT_SUCCESS(CmCallbackGetKeyObjectID(&gCookie, KeyObject, NULL, &key))) key = NULL;
	if (Set) dataLen = Set->DataSize < WIN_REG_DATA_MAX ? Set->DataSize : WIN_REG_DATA_MAX;
	if (!BuilderInit(&b, sizeof(struct win_reg_record),
			 (key ? key->Length : 0) + 512 + 512 + dataLen)) return;
	struct win_reg_record *r = (struct win_reg_record *)b.Buf;
	FillHeader(&r->hdr, Type, 0, PsGetCurrentProcessId(), PsGetCurrentThreadId());
	r->op = Op;
	r->process_start_key = ProcessStartKey(PsGetCurrentProcess());
	BuilderAppendUnicode(&b, offsetof(struct win_reg_record, key), key);
	AppendSafe(&b, offsetof(struct win_reg_record, value), Value, 512);
	if (Set) {
		r->value_type = Set->Type;
		r->data_size = Set->DataSize;
		struct str_ref *ref = (struct str_ref *)(b.Buf + offsetof(struct win_reg_record, data));
		ref->off = b.Size;
		ref->len = 0;
		if (dataLen > b.Cap - b.Size) dataLen = b.Cap - b.Size;
		ref->len = SafeCopy(b.Buf + b.Size, Set->Data, dataLen);
		b.Size += ref->len;
	} else {
		BuilderAppend(&b, offsetof(struct win_reg_record, data), NULL, 0);
	}
	AppendSafe(&b, offsetof(struct win_reg_record, new_name), NewName, 512);
	BuilderOutput(&b);
	BuilderFree(&b);
}

static NTSTATUS NTAPI RegistryCallback(PVOID Context, PVOID Argument1, PVOID Argument2)
{
	REG_NOTIFY_CLASS cls = (REG_NOTIFY_CLASS)(ULONG_PTR)Argument1;

	if (!Argument2) return STATUS_SUCCESS;
	switch (cls) {
	case RegNtPostCreateKeyEx: {
		PREG_POST_OPERATION_INFORMATION post = Argument2;
		if (NT_SUCCESS(post->Status) && post->Object)
			Emit(RECORD_WIN_REG_KEY, cls, post->Object, NULL, NULL, NULL);
		break;
	}
	case RegNtPreDeleteKey: {
		PREG_DELETE_KEY_INFORMATION pre = Argument2;
		Emit(RECORD_WIN_REG_KEY, cls, pre->Object, NULL, NULL, NULL);
		break;
	}
	case RegNtPostSetValueKey: {
		PREG_POST_OPERATION_INFORMATION post = Argument2;
		PREG_SET_VALUE_KEY_INFORMATION set = post->PreInformation;
		if (NT_SUCCESS(post->Status) && set)
			Emit(RECORD_WIN_REG_VALUE, cls, set->Object, set->ValueName, NULL, set);
		break;
	}
	case RegNtPreDeleteValueKey: {
		PREG_DELETE_VALUE_KEY_INFORMATION pre = Argument2;
		Emit(RECORD_WIN_REG_VALUE, cls, pre->Object, pre->ValueName, NULL, NULL);
		break;
	}
	case RegNtPreRenameKey: {
		PREG_RENAME_KEY_INFORMATION pre = Argument2;
		Emit(RECORD_WIN_REG_RENAME, cls, pre->Object, NULL, pre->NewName, NULL);
		break;
	}
	default:
		break;
	}
	return STATUS_SUCCESS;              /* observe only: never change the operation */
}

NTSTATUS RegistryCallbacksRegister(PDRIVER_OBJECT Driver)
{
	UNICODE_STRING altitude, name;
	NTSTATUS st;

	RtlInitUnicodeString(&name, L"MmCopyMemory");
	pMmCopyMemory = (MM_COPY_MEMORY)MmGetSystemRoutineAddress(&name);
	RtlInitUnicodeString(&altitude, SYSMON_TS_ALTITUDE);
	st = CmRegisterCallbackEx(RegistryCallback, &altitude, Driver, NULL, &gCookie, NULL);
	gRegistered = NT_SUCCESS(st);
	return st;
}

VOID RegistryCallbacksUnregister(VOID)
{
	if (gRegistered) CmUnRegisterCallback(gCookie);
	gRegistered = FALSE;
}
