/*
 * The minifilter: attached to every local disk volume (NTFS, ReFS, FAT, exFAT, and RAW for
 * unmounted volumes), at the altitude the INF gives (see README.md).
 *   IRP_MJ_CREATE, post (PASSIVE_LEVEL, the requestor's thread), on success:
 *     a volume opened with read access (no file name)  -> win_file_record RAW_READ (9)
 *     a file created, superseded or overwritten          -> FILE_CREATE (11), or
 *       FILE_STREAM (15) when the name has a named stream (file.txt:Zone.Identifier)
 *     opened with FILE_DELETE_ON_CLOSE                   -> FILE_DELETE (23/26)
 *   IRP_MJ_SET_INFORMATION: the record is built in the pre-callback (names are still
 *   valid), and written in the post-callback when the call succeeded; the pre-callback
 *   returns FLT_PREOP_SYNCHRONIZE so that the post-callback runs at <= APC_LEVEL:
 *     FileDispositionInformation(Ex) with delete set     -> FILE_DELETE (23/26)
 *     FileRenameInformation(Ex)                          -> FILE_RENAME (11 for the new name)
 *     FileBasicInformation setting CreationTime           -> FILE_TIME (2)
 * Hashing and archiving (what Sysmon does for 15, 23 and 26) are the service's, by path.
 */
#include "sysmon_ts.h"

#ifndef FILE_DISPOSITION_DELETE
#define FILE_DISPOSITION_DELETE 0x00000001
#endif
#define FileDispositionInformationExClass ((FILE_INFORMATION_CLASS)64)
#define FileRenameInformationExClass ((FILE_INFORMATION_CLASS)65)
#define STATUS_FLT_DO_NOT_ATTACH_ ((NTSTATUS)0xC01C000FL)

typedef struct _FILE_DISPOSITION_INFORMATION_EX_ { ULONG Flags; } FILE_DISPOSITION_INFORMATION_EX_;

static PFLT_FILTER gFilter;

static NTSTATUS FLTAPI InstanceSetup(PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_SETUP_FLAGS Flags,
				     DEVICE_TYPE VolumeDeviceType, FLT_FILESYSTEM_TYPE FsType)
{
	if (VolumeDeviceType != FILE_DEVICE_DISK_FILE_SYSTEM) return STATUS_FLT_DO_NOT_ATTACH_;
	switch (FsType) {
	case FLT_FSTYPE_NTFS: case FLT_FSTYPE_REFS: case FLT_FSTYPE_FAT: case FLT_FSTYPE_EXFAT:
	case FLT_FSTYPE_RAW:
		return STATUS_SUCCESS;
	default:
		return STATUS_FLT_DO_NOT_ATTACH_;
	}
}

static NTSTATUS FLTAPI InstanceQueryTeardown(PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags)
{
	return STATUS_SUCCESS;    /* fltmc detach is allowed */
}

/* "::$DATA" (the default stream, named explicitly) is not a named stream */
static BOOLEAN NamedStream(PFLT_FILE_NAME_INFORMATION Name)
{
	UNICODE_STRING data = RTL_CONSTANT_STRING(L"::$DATA");
	return Name && Name->Stream.Length > 0 && !RtlEqualUnicodeString(&Name->Stream, &data, TRUE);
}

static __u64 RequestorStartKey(PFLT_CALLBACK_DATA Data)
{
	return Data->Thread ? ProcessStartKey(IoThreadToProcess(Data->Thread)) : 0;
}

/* A win_file_record for this operation with its path (and second name), or FALSE. */
static BOOLEAN BuildFileRecord(RECORD_BUILDER *B, PFLT_CALLBACK_DATA Data, __u16 Type, __u32 Op,
			       PCUNICODE_STRING Path, PCUNICODE_STRING Second)
{
	if (!BuilderInit(B, sizeof(struct win_file_record),
			 (Path ? Path->Length : 0) + (Second ? Second->Length : 0))) return FALSE;
	struct win_file_record *r = (struct win_file_record *)B->Buf;
	FillHeader(&r->hdr, Type, 0, (HANDLE)(ULONG_PTR)FltGetRequestorProcessId(Data),
		   Data->Thread ? PsGetThreadId(Data->Thread) : PsGetCurrentThreadId());
	r->op = Op;
	r->process_start_key = RequestorStartKey(Data);
	BuilderAppendUnicode(B, offsetof(struct win_file_record, path), Path);
	BuilderAppendUnicode(B, offsetof(struct win_file_record, new_path), Second);
	return TRUE;
}

/* A record of a create's outcome (the file made, or opened to be deleted on close), sent. */
static VOID OutputCreateRecord(RECORD_BUILDER *B, PFLT_CALLBACK_DATA Data, __u16 Type, __u32 Op,
			       PFLT_FILE_NAME_INFORMATION Name, BOOLEAN Stream, ULONG Result, ULONG Access,
			       const FILE_BASIC_INFORMATION *Basic)
{
	if (!BuildFileRecord(B, Data, Type, Op, Name ? &Name->Name : NULL, Stream ? &Name->Stream : NULL))
		return;
	struct win_file_record *r = (struct win_file_record *)B->Buf;
	r->create_result = Result;
	r->desired_access = Access;
	r->attributes = Basic->FileAttributes;
	r->creation_time = (__u64)Basic->CreationTime.QuadPart;
	BuilderOutput(B);
	BuilderFree(B);
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI PreCreate(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
						  PVOID *CompletionContext)
{
	*CompletionContext = NULL;
	return FLT_PREOP_SUCCESS_WITH_CALLBACK;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI PostCreate(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
						    PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags)
{
	PFILE_OBJECT fo = FltObjects->FileObject;
	ULONG options, access, result;
	BOOLEAN volumeOpen, created, deleteOnClose;
	PFLT_FILE_NAME_INFORMATION name = NULL;
	FILE_BASIC_INFORMATION basic;
	RECORD_BUILDER b;

	if ((Flags & FLTFL_POST_OPERATION_DRAINING) || !NT_SUCCESS(Data->IoStatus.Status) ||
	    Data->IoStatus.Status == STATUS_REPARSE || !fo)
		return FLT_POSTOP_FINISHED_PROCESSING;
	options = Data->Iopb->Parameters.Create.Options;
	access = Data->Iopb->Parameters.Create.SecurityContext ?
		 Data->Iopb->Parameters.Create.SecurityContext->DesiredAccess : 0;
	result = (ULONG)Data->IoStatus.Information;
	volumeOpen = fo->FileName.Length == 0 && fo->RelatedFileObject == NULL;
	created = result == FILE_CREATED || result == FILE_OVERWRITTEN || result == FILE_SUPERSEDED;
	deleteOnClose = (options & FILE_DELETE_ON_CLOSE) != 0;
	if (volumeOpen ? !(access & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL)) : !(created || deleteOnClose))
		return FLT_POSTOP_FINISHED_PROCESSING;

	if (!NT_SUCCESS(FltGetFileNameInformation(Data, (volumeOpen ? FLT_FILE_NAME_OPENED : FLT_FILE_NAME_NORMALIZED) |
						  FLT_FILE_NAME_QUERY_DEFAULT, &name)))
		name = NULL;
	if (name) FltParseFileNameInformation(name);
	RtlZeroMemory(&basic, sizeof(basic));
	if (!volumeOpen)
		FltQueryInformationFile(FltObjects->Instance, fo, &basic, sizeof(basic), FileBasicInformation, NULL);

	if (volumeOpen) {
		if (BuildFileRecord(&b, Data, RECORD_WIN_FILE_RAW_READ, WIN_FILE_OP_CREATE, name ? &name->Name : NULL, NULL)) {
			((struct win_file_record *)b.Buf)->desired_access = access;
			BuilderOutput(&b);
			BuilderFree(&b);
		}
	} else {
		if (created) {
			BOOLEAN stream = NamedStream(name);
			OutputCreateRecord(&b, Data, stream ? RECORD_WIN_FILE_STREAM : RECORD_WIN_FILE_CREATE, WIN_FILE_OP_CREATE,
					   name, stream, result, access, &basic);
		}
		if (deleteOnClose)
			OutputCreateRecord(&b, Data, RECORD_WIN_FILE_DELETE, WIN_FILE_OP_DELETE_ON_CLOSE, name, FALSE, result,
					   access, &basic);
	}
	if (name) FltReleaseFileNameInformation(name);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static FLT_PREOP_CALLBACK_STATUS FLTAPI PreSetInformation(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
							  PVOID *CompletionContext)
{
	FILE_INFORMATION_CLASS cls = Data->Iopb->Parameters.SetFileInformation.FileInformationClass;
	PVOID info = Data->Iopb->Parameters.SetFileInformation.InfoBuffer;
	PFLT_FILE_NAME_INFORMATION name = NULL, dest = NULL;
	FILE_BASIC_INFORMATION before;
	RECORD_BUILDER b = { 0 };
	BOOLEAN built = FALSE;

	*CompletionContext = NULL;
	if (!info) return FLT_PREOP_SUCCESS_NO_CALLBACK;
	if (cls == FileDispositionInformation || cls == FileDispositionInformationExClass) {
		BOOLEAN del = cls == FileDispositionInformation ? ((PFILE_DISPOSITION_INFORMATION)info)->DeleteFile
				: (((FILE_DISPOSITION_INFORMATION_EX_ *)info)->Flags & FILE_DISPOSITION_DELETE) != 0;
		if (!del) return FLT_PREOP_SUCCESS_NO_CALLBACK;
		if (NT_SUCCESS(FltGetFileNameInformation(Data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &name)))
			built = BuildFileRecord(&b, Data, RECORD_WIN_FILE_DELETE, WIN_FILE_OP_DISPOSITION, &name->Name, NULL);
	} else if (cls == FileRenameInformation || cls == FileRenameInformationExClass) {
		PFILE_RENAME_INFORMATION ri = info;
		if (NT_SUCCESS(FltGetFileNameInformation(Data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &name)) &&
		    NT_SUCCESS(FltGetDestinationFileNameInformation(FltObjects->Instance, FltObjects->FileObject,
				ri->RootDirectory, ri->FileName, ri->FileNameLength,
				FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &dest)))
			built = BuildFileRecord(&b, Data, RECORD_WIN_FILE_RENAME, WIN_FILE_OP_RENAME, &name->Name, &dest->Name);
	} else if (cls == FileBasicInformation) {
		LONGLONG t = ((PFILE_BASIC_INFORMATION)info)->CreationTime.QuadPart;
		if (t == 0 || t == -1 || t == -2) return FLT_PREOP_SUCCESS_NO_CALLBACK;  /* not set */
		RtlZeroMemory(&before, sizeof(before));
		FltQueryInformationFile(FltObjects->Instance, FltObjects->FileObject, &before, sizeof(before),
					FileBasicInformation, NULL);
		if (NT_SUCCESS(FltGetFileNameInformation(Data, FLT_FILE_NAME_NORMALIZED | FLT_FILE_NAME_QUERY_DEFAULT, &name)) &&
		    BuildFileRecord(&b, Data, RECORD_WIN_FILE_TIME, WIN_FILE_OP_BASIC_INFO, &name->Name, NULL)) {
			struct win_file_record *r = (struct win_file_record *)b.Buf;
			r->creation_time = (__u64)t;
			r->prev_creation_time = (__u64)before.CreationTime.QuadPart;
			r->attributes = before.FileAttributes;
			built = TRUE;
		}
	} else {
		return FLT_PREOP_SUCCESS_NO_CALLBACK;
	}
	if (dest) FltReleaseFileNameInformation(dest);
	if (name) FltReleaseFileNameInformation(name);
	if (!built) return FLT_PREOP_SUCCESS_NO_CALLBACK;
	((struct record_header *)b.Buf)->size = b.Size;   /* the post-callback writes it as is */
	*CompletionContext = b.Buf;        /* the record; written or freed in the post-callback */
	return FLT_PREOP_SYNCHRONIZE;
}

static FLT_POSTOP_CALLBACK_STATUS FLTAPI PostSetInformation(PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects,
							    PVOID CompletionContext, FLT_POST_OPERATION_FLAGS Flags)
{
	RECORD_BUILDER b;
	if (!CompletionContext) return FLT_POSTOP_FINISHED_PROCESSING;
	b.Buf = CompletionContext;
	b.Size = ((struct record_header *)b.Buf)->size;
	if (!(Flags & FLTFL_POST_OPERATION_DRAINING) && NT_SUCCESS(Data->IoStatus.Status))
		RingOutput(b.Buf, b.Size);
	BuilderFree(&b);
	return FLT_POSTOP_FINISHED_PROCESSING;
}

static CONST FLT_OPERATION_REGISTRATION gOperations[] = {
	{ IRP_MJ_CREATE, 0, PreCreate, PostCreate, NULL },
	{ IRP_MJ_SET_INFORMATION, FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO, PreSetInformation, PostSetInformation, NULL },
	{ IRP_MJ_OPERATION_END, 0, NULL, NULL, NULL },
};

NTSTATUS FilterRegister(PDRIVER_OBJECT Driver, PFLT_FILTER_UNLOAD_CALLBACK Unload)
{
	static FLT_REGISTRATION reg;
	reg.Size = sizeof(reg);
	reg.Version = FLT_REGISTRATION_VERSION_0202;
	reg.Flags = 0;
	reg.OperationRegistration = gOperations;
	reg.FilterUnloadCallback = Unload;
	reg.InstanceSetupCallback = InstanceSetup;
	reg.InstanceQueryTeardownCallback = InstanceQueryTeardown;
	return FltRegisterFilter(Driver, &reg, &gFilter);
}

NTSTATUS FilterStart(VOID)
{
	return FltStartFiltering(gFilter);
}

VOID FilterUnregister(VOID)
{
	if (gFilter) FltUnregisterFilter(gFilter);
	gFilter = NULL;
}
