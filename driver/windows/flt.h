/*
 * The Filter Manager API this driver uses, declared here because mingw-w64 ships no
 * fltKernel.h. Layouts follow the WDK's fltKernel.h (x64); the offsets this driver reads
 * are pinned by the static asserts at the end. Imported from FLTMGR.SYS through the import
 * library made from fltmgr.def.
 */
#ifndef SYSMON_TS_FLT_H
#define SYSMON_TS_FLT_H

#include <ntifs.h>

#define FLTAPI NTAPI
#ifndef POINTER_ALIGNMENT
#define POINTER_ALIGNMENT __attribute__((aligned(8)))
#endif

typedef struct _FLT_FILTER *PFLT_FILTER;
typedef struct _FLT_VOLUME *PFLT_VOLUME;
typedef struct _FLT_INSTANCE *PFLT_INSTANCE;
typedef PVOID PFLT_CONTEXT;

typedef USHORT FLT_CONTEXT_TYPE;
typedef ULONG FLT_FILTER_UNLOAD_FLAGS;
typedef ULONG FLT_INSTANCE_SETUP_FLAGS;
typedef ULONG FLT_INSTANCE_QUERY_TEARDOWN_FLAGS;
typedef ULONG FLT_INSTANCE_TEARDOWN_FLAGS;
typedef ULONG FLT_POST_OPERATION_FLAGS;
typedef ULONG FLT_OPERATION_REGISTRATION_FLAGS;
typedef ULONG FLT_REGISTRATION_FLAGS;
typedef ULONG FLT_CALLBACK_DATA_FLAGS;
typedef ULONG FLT_FILE_NAME_OPTIONS;
typedef USHORT FLT_FILE_NAME_PARSED_FLAGS;

typedef enum _FLT_FILESYSTEM_TYPE {
	FLT_FSTYPE_UNKNOWN, FLT_FSTYPE_RAW, FLT_FSTYPE_NTFS, FLT_FSTYPE_FAT, FLT_FSTYPE_CDFS,
	FLT_FSTYPE_UDFS, FLT_FSTYPE_LANMAN, FLT_FSTYPE_WEBDAV, FLT_FSTYPE_RDPDR, FLT_FSTYPE_NFS,
	FLT_FSTYPE_MS_NETWARE, FLT_FSTYPE_NETWARE, FLT_FSTYPE_BSUDF, FLT_FSTYPE_MUP,
	FLT_FSTYPE_RSFX, FLT_FSTYPE_ROUXFS, FLT_FSTYPE_INCD, FLT_FSTYPE_INCD_FAT, FLT_FSTYPE_EXFAT,
	FLT_FSTYPE_PSFS, FLT_FSTYPE_GPFS, FLT_FSTYPE_NPFS, FLT_FSTYPE_MSFS, FLT_FSTYPE_CSVFS,
	FLT_FSTYPE_REFS, FLT_FSTYPE_OPENAFS, FLT_FSTYPE_CIMFS
} FLT_FILESYSTEM_TYPE;

typedef enum _FLT_PREOP_CALLBACK_STATUS {
	FLT_PREOP_SUCCESS_WITH_CALLBACK, FLT_PREOP_SUCCESS_NO_CALLBACK, FLT_PREOP_PENDING,
	FLT_PREOP_DISALLOW_FASTIO, FLT_PREOP_COMPLETE, FLT_PREOP_SYNCHRONIZE,
	FLT_PREOP_DISALLOW_FSFILTER_IO
} FLT_PREOP_CALLBACK_STATUS;

typedef enum _FLT_POSTOP_CALLBACK_STATUS {
	FLT_POSTOP_FINISHED_PROCESSING, FLT_POSTOP_MORE_PROCESSING_REQUIRED,
	FLT_POSTOP_DISALLOW_FSFILTER_IO
} FLT_POSTOP_CALLBACK_STATUS;

#define FLTFL_POST_OPERATION_DRAINING 0x00000001
#define FLTFL_OPERATION_REGISTRATION_SKIP_PAGING_IO 0x00000001
#define FLTFL_INSTANCE_TEARDOWN_MANUAL 0x00000001
#define FLT_REGISTRATION_VERSION_0202 0x0202
#define IRP_MJ_OPERATION_END ((UCHAR)0x80)

#define FLT_FILE_NAME_NORMALIZED 0x01
#define FLT_FILE_NAME_OPENED 0x02
#define FLT_FILE_NAME_QUERY_DEFAULT 0x0100
#define FLT_FILE_NAME_QUERY_CACHE_ONLY 0x0200
#define FLT_FILE_NAME_QUERY_FILESYSTEM_ONLY 0x0300
#define FLT_FILE_NAME_QUERY_ALWAYS_ALLOW_CACHE_LOOKUP 0x0400

typedef struct _FLT_RELATED_OBJECTS {
	USHORT CONST Size;
	USHORT CONST TransactionContext;
	PFLT_FILTER CONST Filter;
	PFLT_VOLUME CONST Volume;
	PFLT_INSTANCE CONST Instance;
	PFILE_OBJECT CONST FileObject;
	PVOID CONST Transaction; /* PKTRANSACTION */
} FLT_RELATED_OBJECTS, *PFLT_RELATED_OBJECTS;
typedef CONST struct _FLT_RELATED_OBJECTS *PCFLT_RELATED_OBJECTS;

/* Only the members this driver reads; every member of the real union starts at 0. */
typedef union _FLT_PARAMETERS {
	struct {
		PIO_SECURITY_CONTEXT SecurityContext;
		ULONG Options;
		USHORT POINTER_ALIGNMENT FileAttributes;
		USHORT ShareAccess;
		ULONG POINTER_ALIGNMENT EaLength;
		PVOID EaBuffer;
		LARGE_INTEGER AllocationSize;
	} Create;
	struct {
		ULONG Length;
		FILE_INFORMATION_CLASS POINTER_ALIGNMENT FileInformationClass;
		PFILE_OBJECT ParentOfTarget;
		union {
			struct {
				BOOLEAN ReplaceIfExists;
				BOOLEAN AdvanceOnly;
			};
			ULONG ClusterCount;
			HANDLE DeleteHandle;
		};
		PVOID InfoBuffer;
	} SetFileInformation;
	struct {
		PVOID Argument1, Argument2, Argument3, Argument4, Argument5;
		LARGE_INTEGER Argument6;
	} Others;
} FLT_PARAMETERS, *PFLT_PARAMETERS;

typedef struct _FLT_IO_PARAMETER_BLOCK {
	ULONG IrpFlags;
	UCHAR MajorFunction;
	UCHAR MinorFunction;
	UCHAR OperationFlags;
	UCHAR Reserved;
	PFILE_OBJECT TargetFileObject;
	PFLT_INSTANCE TargetInstance;
	FLT_PARAMETERS Parameters;
} FLT_IO_PARAMETER_BLOCK, *PFLT_IO_PARAMETER_BLOCK;

typedef struct _FLT_CALLBACK_DATA {
	FLT_CALLBACK_DATA_FLAGS Flags;
	PETHREAD CONST Thread;
	PFLT_IO_PARAMETER_BLOCK CONST Iopb;
	IO_STATUS_BLOCK IoStatus;
	struct _FLT_TAG_DATA_BUFFER *TagData;
	union {
		struct {
			LIST_ENTRY QueueLinks;
			PVOID QueueContext[2];
		};
		PVOID FilterContext[4];
	};
	KPROCESSOR_MODE RequestorMode;
} FLT_CALLBACK_DATA, *PFLT_CALLBACK_DATA;

typedef struct _FLT_FILE_NAME_INFORMATION {
	USHORT Size;
	FLT_FILE_NAME_PARSED_FLAGS NamesParsed;
	FLT_FILE_NAME_OPTIONS Format;
	UNICODE_STRING Name;
	UNICODE_STRING Volume;
	UNICODE_STRING Share;
	UNICODE_STRING Extension;
	UNICODE_STRING Stream;
	UNICODE_STRING FinalComponent;
	UNICODE_STRING ParentDir;
} FLT_FILE_NAME_INFORMATION, *PFLT_FILE_NAME_INFORMATION;

typedef FLT_PREOP_CALLBACK_STATUS (FLTAPI *PFLT_PRE_OPERATION_CALLBACK)(
	PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID *CompletionContext);
typedef FLT_POSTOP_CALLBACK_STATUS (FLTAPI *PFLT_POST_OPERATION_CALLBACK)(
	PFLT_CALLBACK_DATA Data, PCFLT_RELATED_OBJECTS FltObjects, PVOID CompletionContext,
	FLT_POST_OPERATION_FLAGS Flags);
typedef NTSTATUS (FLTAPI *PFLT_FILTER_UNLOAD_CALLBACK)(FLT_FILTER_UNLOAD_FLAGS Flags);
typedef NTSTATUS (FLTAPI *PFLT_INSTANCE_SETUP_CALLBACK)(
	PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_SETUP_FLAGS Flags,
	DEVICE_TYPE VolumeDeviceType, FLT_FILESYSTEM_TYPE VolumeFilesystemType);
typedef NTSTATUS (FLTAPI *PFLT_INSTANCE_QUERY_TEARDOWN_CALLBACK)(
	PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_QUERY_TEARDOWN_FLAGS Flags);
typedef VOID (FLTAPI *PFLT_INSTANCE_TEARDOWN_CALLBACK)(
	PCFLT_RELATED_OBJECTS FltObjects, FLT_INSTANCE_TEARDOWN_FLAGS Reason);

typedef struct _FLT_OPERATION_REGISTRATION {
	UCHAR MajorFunction;
	FLT_OPERATION_REGISTRATION_FLAGS Flags;
	PFLT_PRE_OPERATION_CALLBACK PreOperation;
	PFLT_POST_OPERATION_CALLBACK PostOperation;
	PVOID Reserved1;
} FLT_OPERATION_REGISTRATION, *PFLT_OPERATION_REGISTRATION;

typedef struct _FLT_REGISTRATION {
	USHORT Size;
	USHORT Version;
	FLT_REGISTRATION_FLAGS Flags;
	CONST VOID *ContextRegistration;          /* FLT_CONTEXT_REGISTRATION[], unused */
	CONST FLT_OPERATION_REGISTRATION *OperationRegistration;
	PFLT_FILTER_UNLOAD_CALLBACK FilterUnloadCallback;
	PFLT_INSTANCE_SETUP_CALLBACK InstanceSetupCallback;
	PFLT_INSTANCE_QUERY_TEARDOWN_CALLBACK InstanceQueryTeardownCallback;
	PFLT_INSTANCE_TEARDOWN_CALLBACK InstanceTeardownStartCallback;
	PFLT_INSTANCE_TEARDOWN_CALLBACK InstanceTeardownCompleteCallback;
	PVOID GenerateFileNameCallback;
	PVOID NormalizeNameComponentCallback;
	PVOID NormalizeContextCleanupCallback;
	PVOID TransactionNotificationCallback;
	PVOID NormalizeNameComponentExCallback;
	PVOID SectionNotificationCallback;
} FLT_REGISTRATION, *PFLT_REGISTRATION;

typedef VOID (FLTAPI *PFLT_COMPLETED_ASYNC_IO_CALLBACK)(PFLT_CALLBACK_DATA, PFLT_CONTEXT);

NTSTATUS FLTAPI FltRegisterFilter(PDRIVER_OBJECT Driver, CONST FLT_REGISTRATION *Registration,
	PFLT_FILTER *RetFilter);
NTSTATUS FLTAPI FltStartFiltering(PFLT_FILTER Filter);
VOID FLTAPI FltUnregisterFilter(PFLT_FILTER Filter);
NTSTATUS FLTAPI FltGetFileNameInformation(PFLT_CALLBACK_DATA CallbackData,
	FLT_FILE_NAME_OPTIONS NameOptions, PFLT_FILE_NAME_INFORMATION *FileNameInformation);
NTSTATUS FLTAPI FltParseFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation);
VOID FLTAPI FltReleaseFileNameInformation(PFLT_FILE_NAME_INFORMATION FileNameInformation);
NTSTATUS FLTAPI FltGetDestinationFileNameInformation(PFLT_INSTANCE Instance,
	PFILE_OBJECT FileObject, HANDLE RootDirectory, PWSTR FileName, ULONG FileNameLength,
	FLT_FILE_NAME_OPTIONS NameOptions, PFLT_FILE_NAME_INFORMATION *RetFileNameInformation);
NTSTATUS FLTAPI FltQueryInformationFile(PFLT_INSTANCE Instance, PFILE_OBJECT FileObject,
	PVOID FileInformation, ULONG Length, FILE_INFORMATION_CLASS FileInformationClass,
	PULONG LengthReturned);
ULONG FLTAPI FltGetRequestorProcessId(PFLT_CALLBACK_DATA CallbackData);

/* The offsets this driver reads, as fltKernel.h lays them out on x64. */
_Static_assert(sizeof(FLT_RELATED_OBJECTS) == 48, "FLT_RELATED_OBJECTS");
_Static_assert(__builtin_offsetof(FLT_RELATED_OBJECTS, Instance) == 24, "FltObjects->Instance");
_Static_assert(__builtin_offsetof(FLT_RELATED_OBJECTS, FileObject) == 32, "FltObjects->FileObject");
_Static_assert(__builtin_offsetof(FLT_CALLBACK_DATA, Iopb) == 16, "Data->Iopb");
_Static_assert(__builtin_offsetof(FLT_CALLBACK_DATA, IoStatus) == 24, "Data->IoStatus");
_Static_assert(__builtin_offsetof(FLT_CALLBACK_DATA, RequestorMode) == 80, "Data->RequestorMode");
_Static_assert(__builtin_offsetof(FLT_IO_PARAMETER_BLOCK, MajorFunction) == 4, "Iopb->MajorFunction");
_Static_assert(__builtin_offsetof(FLT_IO_PARAMETER_BLOCK, TargetFileObject) == 8, "Iopb->TargetFileObject");
_Static_assert(__builtin_offsetof(FLT_IO_PARAMETER_BLOCK, Parameters) == 24, "Iopb->Parameters");
_Static_assert(__builtin_offsetof(FLT_PARAMETERS, Create.Options) == 8, "Create.Options");
_Static_assert(__builtin_offsetof(FLT_PARAMETERS, Create.FileAttributes) == 16, "Create.FileAttributes");
_Static_assert(__builtin_offsetof(FLT_PARAMETERS, Create.EaLength) == 24, "Create.EaLength");
_Static_assert(__builtin_offsetof(FLT_PARAMETERS, Create.AllocationSize) == 40, "Create.AllocationSize");
_Static_assert(__builtin_offsetof(FLT_PARAMETERS, SetFileInformation.FileInformationClass) == 8, "SetFileInformation.FileInformationClass");
_Static_assert(__builtin_offsetof(FLT_PARAMETERS, SetFileInformation.ParentOfTarget) == 16, "SetFileInformation.ParentOfTarget");
_Static_assert(__builtin_offsetof(FLT_PARAMETERS, SetFileInformation.InfoBuffer) == 32, "SetFileInformation.InfoBuffer");
_Static_assert(sizeof(FLT_OPERATION_REGISTRATION) == 32, "FLT_OPERATION_REGISTRATION");
_Static_assert(sizeof(FLT_REGISTRATION) == 112, "FLT_REGISTRATION (version 0x0202)");
_Static_assert(__builtin_offsetof(FLT_FILE_NAME_INFORMATION, Name) == 8, "FLT_FILE_NAME_INFORMATION.Name");
_Static_assert(__builtin_offsetof(FLT_FILE_NAME_INFORMATION, Stream) == 72, "FLT_FILE_NAME_INFORMATION.Stream");

#endif
