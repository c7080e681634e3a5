/*
 * The kernel shim's <ntifs.h>: what the driver's C (the .c files of driver/windows, through flt.h)
 * uses of the NT, Io, Ps, Ob, Cm, Se, Mm, Rtl and Zw APIs, declared for a user-mode Linux
 * x86-64 build. The driver's sources are compiled unchanged with -I driver/windows/shim, so
 * `#include <ntifs.h>` in flt.h lands here instead of in mingw-w64's DDK.
 *
 * Windows is LLP64 and Linux LP64: every NT type is declared with its Windows size (LONG
 * and ULONG are 32-bit, not `long`), WCHAR is 16-bit (build with -fshort-wchar, so L"..."
 * literals are UTF-16 as in the driver), and NTAPI is the Microsoft x64 calling convention
 * (ms_abi), so every callback the driver hands the kernel is called the way Windows calls
 * it. The structures the driver reads follow the WDK's x64 layouts for the members it
 * touches (pinned below and in flt.h by static asserts); the IRP, device and driver objects
 * are cut down to the members the driver uses. The functions are implemented by shim.c.
 *
 * Where the real header has an intrinsic or a macro reading kernel-only memory, this one
 * calls the shim: KeGetCurrentIrql (reads CR8), KeQueryInterruptTime / KeQuerySystemTime
 * (read KUSER_SHARED_DATA at 0xFFFFF78000000000, a kernel address).
 */
#ifndef SYSMON_TS_SHIM_NTIFS_H
#define SYSMON_TS_SHIM_NTIFS_H

#include <stddef.h>
#include <string.h>

#if !defined(__x86_64__) || !defined(__LP64__)
#error "the kernel shim is built for Linux x86-64"
#endif

#define NTAPI __attribute__((ms_abi))
#define NTKERNELAPI
#define NTSYSAPI
#define CONST const
#define VOID void
#define UNALIGNED
#define POINTER_ALIGNMENT __attribute__((aligned(8)))
#define TRUE 1
#define FALSE 0

/* ---- base types, at their Windows (LLP64) sizes ---- */
typedef void *PVOID;
typedef char CHAR, CCHAR;
typedef unsigned char UCHAR, *PUCHAR, BOOLEAN, KIRQL;
typedef short SHORT, CSHORT;
typedef unsigned short USHORT, *PUSHORT;
typedef int LONG, *PLONG;
typedef unsigned int ULONG, *PULONG, ACCESS_MASK, DEVICE_TYPE;
typedef long long LONGLONG, LONG64;
typedef unsigned long long ULONGLONG, ULONG64, *PULONG64;
typedef unsigned long long ULONG_PTR, *PULONG_PTR, SIZE_T, *PSIZE_T;
typedef wchar_t WCHAR, *PWSTR, *PWCH;
typedef const wchar_t *PCWSTR;
typedef void *HANDLE, **PHANDLE;
typedef LONG NTSTATUS;
typedef CCHAR KPROCESSOR_MODE;
typedef void *PSID, *PACCESS_TOKEN;

_Static_assert(sizeof(LONG) == 4 && sizeof(ULONG) == 4, "LONG/ULONG are 32-bit (LLP64)");
_Static_assert(sizeof(WCHAR) == 2, "WCHAR is UTF-16: build with -fshort-wchar");
_Static_assert(sizeof(L"ab") == 6, "L\"\" literals are UTF-16: build with -fshort-wchar");
_Static_assert(sizeof(ULONG_PTR) == 8 && sizeof(HANDLE) == 8, "pointers are 64-bit");

typedef union _LARGE_INTEGER {
	struct { ULONG LowPart; LONG HighPart; };
	struct { ULONG LowPart; LONG HighPart; } u;
	LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER, PHYSICAL_ADDRESS;

typedef struct _LUID { ULONG LowPart; LONG HighPart; } LUID, *PLUID;
typedef struct _LIST_ENTRY { struct _LIST_ENTRY *Flink, *Blink; } LIST_ENTRY, *PLIST_ENTRY;

typedef struct _UNICODE_STRING {
	USHORT Length;
	USHORT MaximumLength;
	PWSTR Buffer;
} UNICODE_STRING, *PUNICODE_STRING;
typedef const UNICODE_STRING *PCUNICODE_STRING;
#define RTL_CONSTANT_STRING(s) { sizeof(s) - sizeof((s)[0]), sizeof(s), (PWSTR)(s) }

typedef struct _CLIENT_ID { HANDLE UniqueProcess; HANDLE UniqueThread; } CLIENT_ID;

/* ---- status codes ---- */
#define NT_SUCCESS(s) (((NTSTATUS)(s)) >= 0)
#define STATUS_SUCCESS                ((NTSTATUS)0x00000000)
#define STATUS_REPARSE                ((NTSTATUS)0x00000104)
#define STATUS_BUFFER_OVERFLOW        ((NTSTATUS)0x80000005)
#define STATUS_UNSUCCESSFUL           ((NTSTATUS)0xC0000001)
#define STATUS_INVALID_CID            ((NTSTATUS)0xC000000B)
#define STATUS_INVALID_PARAMETER      ((NTSTATUS)0xC000000D)
#define STATUS_INVALID_DEVICE_REQUEST ((NTSTATUS)0xC0000010)
#define STATUS_ACCESS_DENIED          ((NTSTATUS)0xC0000022)
#define STATUS_BUFFER_TOO_SMALL       ((NTSTATUS)0xC0000023)
#define STATUS_OBJECT_NAME_NOT_FOUND  ((NTSTATUS)0xC0000034)
#define STATUS_OBJECT_NAME_COLLISION  ((NTSTATUS)0xC0000035)
#define STATUS_SECTION_TOO_BIG        ((NTSTATUS)0xC0000040)
#define STATUS_INSUFFICIENT_RESOURCES ((NTSTATUS)0xC000009A)
#define STATUS_DEVICE_NOT_READY       ((NTSTATUS)0xC00000A3)
#define STATUS_INVALID_HANDLE         ((NTSTATUS)0xC0000008)
#define STATUS_NOT_FOUND              ((NTSTATUS)0xC0000225)

/* ---- IRQL, modes, pool, access ---- */
#define PASSIVE_LEVEL 0
#define APC_LEVEL 1
#define DISPATCH_LEVEL 2
#define KernelMode 0
#define UserMode 1
typedef enum _POOL_TYPE { NonPagedPool = 0, PagedPool = 1, NonPagedPoolNx = 512 } POOL_TYPE;
#define GENERIC_READ 0x80000000u
#define GENERIC_ALL 0x10000000u
#define FILE_READ_DATA 0x0001
#define FILE_WRITE_DATA 0x0002
#define FILE_ANY_ACCESS 0
#define KEY_READ 0x20019
#define REG_DWORD 4
#define SECTION_QUERY 0x0001
#define SECTION_MAP_WRITE 0x0002
#define SECTION_MAP_READ 0x0004
#define SECTION_ALL_ACCESS 0xF001F
#define PAGE_READWRITE 0x04
#define SEC_COMMIT 0x8000000
#define OBJ_CASE_INSENSITIVE 0x00000040
#define OBJ_KERNEL_HANDLE 0x00000200
#define SE_TCB_PRIVILEGE 7

typedef struct _OBJECT_ATTRIBUTES {
	ULONG Length;
	HANDLE RootDirectory;
	PUNICODE_STRING ObjectName;
	ULONG Attributes;
	PVOID SecurityDescriptor;
	PVOID SecurityQualityOfService;
} OBJECT_ATTRIBUTES, *POBJECT_ATTRIBUTES;
#define InitializeObjectAttributes(p, n, a, r, s) do { \
	(p)->Length = sizeof(OBJECT_ATTRIBUTES); (p)->RootDirectory = (r); (p)->Attributes = (a); \
	(p)->ObjectName = (n); (p)->SecurityDescriptor = (s); (p)->SecurityQualityOfService = NULL; } while (0)

/* ---- objects the shim defines ---- */
typedef struct _EPROCESS *PEPROCESS;
typedef struct _ETHREAD *PETHREAD;
typedef struct _OBJECT_TYPE *POBJECT_TYPE;
typedef struct _DEVICE_OBJECT *PDEVICE_OBJECT;
typedef struct _DRIVER_OBJECT *PDRIVER_OBJECT;
typedef struct _IRP *PIRP;

/* ---- files ---- */
typedef struct _IO_STATUS_BLOCK {
	union { NTSTATUS Status; PVOID Pointer; };
	ULONG_PTR Information;
} IO_STATUS_BLOCK, *PIO_STATUS_BLOCK;

/* wdm.h's x64 FILE_OBJECT */
typedef struct _FILE_OBJECT {
	CSHORT Type;
	CSHORT Size;
	PDEVICE_OBJECT DeviceObject;
	PVOID Vpb;
	PVOID FsContext;
	PVOID FsContext2;
	PVOID SectionObjectPointer;
	PVOID PrivateCacheMap;
	NTSTATUS FinalStatus;
	struct _FILE_OBJECT *RelatedFileObject;
	BOOLEAN LockOperation;
	BOOLEAN DeletePending;
	BOOLEAN ReadAccess;
	BOOLEAN WriteAccess;
	BOOLEAN DeleteAccess;
	BOOLEAN SharedRead;
	BOOLEAN SharedWrite;
	BOOLEAN SharedDelete;
	ULONG Flags;
	UNICODE_STRING FileName;
	LARGE_INTEGER CurrentByteOffset;
	/* ... Waiters, Busy, LastLock, Lock, Event, CompletionContext, ... (unused) */
	UCHAR Rest[0x68];
} FILE_OBJECT, *PFILE_OBJECT;
_Static_assert(offsetof(FILE_OBJECT, RelatedFileObject) == 0x40, "FILE_OBJECT.RelatedFileObject");
_Static_assert(offsetof(FILE_OBJECT, DeletePending) == 0x49, "FILE_OBJECT.DeletePending");
_Static_assert(offsetof(FILE_OBJECT, FileName) == 0x58, "FILE_OBJECT.FileName");
_Static_assert(sizeof(FILE_OBJECT) == 0xd8, "FILE_OBJECT");

typedef struct _IO_SECURITY_CONTEXT {
	PVOID SecurityQos;
	PVOID AccessState;
	ACCESS_MASK DesiredAccess;
	ULONG FullCreateOptions;
} IO_SECURITY_CONTEXT, *PIO_SECURITY_CONTEXT;

typedef enum _FILE_INFORMATION_CLASS {
	FileDirectoryInformation = 1, FileBasicInformation = 4, FileRenameInformation = 10,
	FileDispositionInformation = 13, FileMaximumInformation = 80
} FILE_INFORMATION_CLASS;

typedef struct _FILE_BASIC_INFORMATION {
	LARGE_INTEGER CreationTime, LastAccessTime, LastWriteTime, ChangeTime;
	ULONG FileAttributes;
} FILE_BASIC_INFORMATION, *PFILE_BASIC_INFORMATION;
_Static_assert(sizeof(FILE_BASIC_INFORMATION) == 40, "FILE_BASIC_INFORMATION");

typedef struct _FILE_DISPOSITION_INFORMATION { BOOLEAN DeleteFile; } FILE_DISPOSITION_INFORMATION, *PFILE_DISPOSITION_INFORMATION;

typedef struct _FILE_RENAME_INFORMATION {
	union { BOOLEAN ReplaceIfExists; ULONG Flags; };
	HANDLE RootDirectory;
	ULONG FileNameLength;
	WCHAR FileName[1];
} FILE_RENAME_INFORMATION, *PFILE_RENAME_INFORMATION;
_Static_assert(offsetof(FILE_RENAME_INFORMATION, FileName) == 20, "FILE_RENAME_INFORMATION.FileName");

#define FILE_SUPERSEDED 0
#define FILE_OPENED 1
#define FILE_CREATED 2
#define FILE_OVERWRITTEN 3
#define FILE_DELETE_ON_CLOSE 0x00001000
#define FILE_DEVICE_DISK_FILE_SYSTEM 0x00000008
#define FILE_DEVICE_NETWORK_FILE_SYSTEM 0x00000014
#define FILE_DEVICE_SECURE_OPEN 0x00000100
#define METHOD_BUFFERED 0
#define CTL_CODE(t, f, m, a) (((t) << 16) | ((a) << 14) | ((f) << 2) | (m))

/* ---- driver, device, IRP (cut down to what the driver touches) ---- */
#define IRP_MJ_CREATE 0x00
#define IRP_MJ_CLOSE 0x02
#define IRP_MJ_SET_INFORMATION 0x06
#define IRP_MJ_DEVICE_CONTROL 0x0e
#define IRP_MJ_CLEANUP 0x12
#define IRP_MJ_MAXIMUM_FUNCTION 0x1b
#define IO_NO_INCREMENT 0
#define DO_DEVICE_INITIALIZING 0x00000080

typedef NTSTATUS NTAPI DRIVER_DISPATCH(PDEVICE_OBJECT Device, PIRP Irp);
typedef DRIVER_DISPATCH *PDRIVER_DISPATCH;
typedef NTSTATUS NTAPI DRIVER_INITIALIZE(PDRIVER_OBJECT Driver, PUNICODE_STRING RegistryPath);
typedef VOID NTAPI DRIVER_UNLOAD(PDRIVER_OBJECT Driver);

typedef struct _DRIVER_OBJECT {
	CSHORT Type;
	CSHORT Size;
	PDEVICE_OBJECT DeviceObject;
	ULONG Flags;
	UNICODE_STRING DriverName;
	DRIVER_UNLOAD *DriverUnload;
	PDRIVER_DISPATCH MajorFunction[IRP_MJ_MAXIMUM_FUNCTION + 1];
} DRIVER_OBJECT;

typedef struct _DEVICE_OBJECT {
	CSHORT Type;
	USHORT Size;
	LONG ReferenceCount;
	PDRIVER_OBJECT DriverObject;
	ULONG Flags;
	ULONG Characteristics;
	DEVICE_TYPE DeviceType;
	PVOID DeviceExtension;
} DEVICE_OBJECT;

typedef struct _IO_STACK_LOCATION {
	UCHAR MajorFunction;
	UCHAR MinorFunction;
	UCHAR Flags;
	UCHAR Control;
	union {
		struct {
			ULONG OutputBufferLength;
			ULONG POINTER_ALIGNMENT InputBufferLength;
			ULONG POINTER_ALIGNMENT IoControlCode;
			PVOID Type3InputBuffer;
		} DeviceIoControl;
		struct { PVOID Argument1, Argument2, Argument3, Argument4; } Others;
	} Parameters;
	PDEVICE_OBJECT DeviceObject;
	PFILE_OBJECT FileObject;
} IO_STACK_LOCATION, *PIO_STACK_LOCATION;

typedef struct _IRP {
	CSHORT Type;
	USHORT Size;
	ULONG Flags;
	union { struct _IRP *MasterIrp; LONG IrpCount; PVOID SystemBuffer; } AssociatedIrp;
	IO_STATUS_BLOCK IoStatus;
	KPROCESSOR_MODE RequestorMode;
	PIO_STACK_LOCATION CurrentStackLocation;   /* Tail.Overlay.CurrentStackLocation */
} IRP;
static inline PIO_STACK_LOCATION IoGetCurrentIrpStackLocation(PIRP Irp) { return Irp->CurrentStackLocation; }

NTKERNELAPI NTSTATUS NTAPI IoCreateDevice(PDRIVER_OBJECT Driver, ULONG ExtensionSize, PUNICODE_STRING Name,
	DEVICE_TYPE Type, ULONG Characteristics, BOOLEAN Exclusive, PDEVICE_OBJECT *Device);
NTKERNELAPI VOID NTAPI IoDeleteDevice(PDEVICE_OBJECT Device);
NTKERNELAPI NTSTATUS NTAPI IoCreateSymbolicLink(PUNICODE_STRING Link, PUNICODE_STRING Device);
NTKERNELAPI NTSTATUS NTAPI IoDeleteSymbolicLink(PUNICODE_STRING Link);
NTKERNELAPI VOID NTAPI IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost);
#define IoCompleteRequest(i, b) IofCompleteRequest(i, b)
NTKERNELAPI PEPROCESS NTAPI IoThreadToProcess(PETHREAD Thread);
NTKERNELAPI PEPROCESS NTAPI IoGetCurrentProcess(VOID);
#define PsGetCurrentProcess IoGetCurrentProcess

/* ---- Ke / Ex / Mm / Ob ---- */
typedef struct _KGUARDED_MUTEX { __attribute__((aligned(8))) UCHAR Opaque[56]; } KGUARDED_MUTEX, *PKGUARDED_MUTEX;
NTKERNELAPI VOID NTAPI KeInitializeGuardedMutex(PKGUARDED_MUTEX Mutex);
NTKERNELAPI VOID NTAPI KeAcquireGuardedMutex(PKGUARDED_MUTEX Mutex);
NTKERNELAPI VOID NTAPI KeReleaseGuardedMutex(PKGUARDED_MUTEX Mutex);
/* intrinsics / KUSER_SHARED_DATA readers in the WDK; shim functions here */
KIRQL NTAPI KeGetCurrentIrql(VOID);
ULONG64 NTAPI ShimInterruptTime(VOID);
ULONG64 NTAPI ShimSystemTime(VOID);
#define KeQueryInterruptTime() ShimInterruptTime()
#define KeQuerySystemTime(t) ((t)->QuadPart = (LONGLONG)ShimSystemTime())

static inline LONG InterlockedExchange(volatile LONG *Target, LONG Value) { return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST); }
static inline LONG64 InterlockedExchange64(volatile LONG64 *Target, LONG64 Value) { return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST); }
static inline LONG64 InterlockedIncrement64(volatile LONG64 *Target) { return __atomic_add_fetch(Target, 1, __ATOMIC_SEQ_CST); }
#define RtlCopyMemory(d, s, n) memcpy((d), (s), (n))
#define RtlZeroMemory(d, n) memset((d), 0, (n))

NTKERNELAPI PVOID NTAPI ExAllocatePoolWithTag(POOL_TYPE Type, SIZE_T Bytes, ULONG Tag);
NTKERNELAPI VOID NTAPI ExFreePoolWithTag(PVOID P, ULONG Tag);
NTKERNELAPI VOID NTAPI ExFreePool(PVOID P);

extern PVOID MmSystemRangeStart;
NTKERNELAPI PVOID NTAPI MmGetSystemRoutineAddress(PUNICODE_STRING Name);
NTKERNELAPI NTSTATUS NTAPI MmMapViewInSystemSpace(PVOID Section, PVOID *MappedBase, PSIZE_T ViewSize);
NTKERNELAPI NTSTATUS NTAPI MmUnmapViewInSystemSpace(PVOID MappedBase);

extern POBJECT_TYPE *PsProcessType;
extern POBJECT_TYPE *PsThreadType;
NTKERNELAPI NTSTATUS NTAPI ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK Access, POBJECT_TYPE Type,
	KPROCESSOR_MODE Mode, PVOID *Object, PVOID HandleInformation);
NTKERNELAPI NTSTATUS NTAPI ObOpenObjectByPointer(PVOID Object, ULONG HandleAttributes, PVOID PassedAccessState,
	ACCESS_MASK DesiredAccess, POBJECT_TYPE Type, KPROCESSOR_MODE Mode, PHANDLE Handle);
NTKERNELAPI LONGLONG NTAPI ObfDereferenceObject(PVOID Object);
#define ObDereferenceObject(o) ObfDereferenceObject(o)

typedef ULONG OB_OPERATION;
#define OB_OPERATION_HANDLE_CREATE 0x00000001
#define OB_OPERATION_HANDLE_DUPLICATE 0x00000002
#define OB_FLT_REGISTRATION_VERSION 0x0100
typedef enum _OB_PREOP_CALLBACK_STATUS { OB_PREOP_SUCCESS } OB_PREOP_CALLBACK_STATUS;
typedef struct _OB_PRE_CREATE_HANDLE_INFORMATION { ACCESS_MASK DesiredAccess, OriginalDesiredAccess; } OB_PRE_CREATE_HANDLE_INFORMATION;
typedef struct _OB_PRE_DUPLICATE_HANDLE_INFORMATION {
	ACCESS_MASK DesiredAccess, OriginalDesiredAccess;
	PVOID SourceProcess, TargetProcess;
} OB_PRE_DUPLICATE_HANDLE_INFORMATION;
typedef union _OB_PRE_OPERATION_PARAMETERS {
	OB_PRE_CREATE_HANDLE_INFORMATION CreateHandleInformation;
	OB_PRE_DUPLICATE_HANDLE_INFORMATION DuplicateHandleInformation;
} OB_PRE_OPERATION_PARAMETERS, *POB_PRE_OPERATION_PARAMETERS;
typedef struct _OB_PRE_OPERATION_INFORMATION {
	OB_OPERATION Operation;
	union { ULONG Flags; struct { ULONG KernelHandle : 1; ULONG Reserved : 31; }; };
	PVOID Object;
	POBJECT_TYPE ObjectType;
	PVOID CallContext;
	POB_PRE_OPERATION_PARAMETERS Parameters;
} OB_PRE_OPERATION_INFORMATION, *POB_PRE_OPERATION_INFORMATION;
typedef struct _OB_POST_CREATE_HANDLE_INFORMATION { ACCESS_MASK GrantedAccess; } OB_POST_CREATE_HANDLE_INFORMATION;
typedef struct _OB_POST_DUPLICATE_HANDLE_INFORMATION { ACCESS_MASK GrantedAccess; } OB_POST_DUPLICATE_HANDLE_INFORMATION;
typedef union _OB_POST_OPERATION_PARAMETERS {
	OB_POST_CREATE_HANDLE_INFORMATION CreateHandleInformation;
	OB_POST_DUPLICATE_HANDLE_INFORMATION DuplicateHandleInformation;
} OB_POST_OPERATION_PARAMETERS, *POB_POST_OPERATION_PARAMETERS;
typedef struct _OB_POST_OPERATION_INFORMATION {
	OB_OPERATION Operation;
	union { ULONG Flags; struct { ULONG KernelHandle : 1; ULONG Reserved : 31; }; };
	PVOID Object;
	POBJECT_TYPE ObjectType;
	PVOID CallContext;
	NTSTATUS ReturnStatus;
	POB_POST_OPERATION_PARAMETERS Parameters;
} OB_POST_OPERATION_INFORMATION, *POB_POST_OPERATION_INFORMATION;
_Static_assert(offsetof(OB_POST_OPERATION_INFORMATION, ReturnStatus) == 32, "OB_POST_OPERATION_INFORMATION.ReturnStatus");
_Static_assert(offsetof(OB_POST_OPERATION_INFORMATION, Parameters) == 40, "OB_POST_OPERATION_INFORMATION.Parameters");
typedef OB_PREOP_CALLBACK_STATUS (NTAPI *POB_PRE_OPERATION_CALLBACK)(PVOID Context, POB_PRE_OPERATION_INFORMATION Info);
typedef VOID (NTAPI *POB_POST_OPERATION_CALLBACK)(PVOID Context, POB_POST_OPERATION_INFORMATION Info);
typedef struct _OB_OPERATION_REGISTRATION {
	POBJECT_TYPE *ObjectType;
	OB_OPERATION Operations;
	POB_PRE_OPERATION_CALLBACK PreOperation;
	POB_POST_OPERATION_CALLBACK PostOperation;
} OB_OPERATION_REGISTRATION, *POB_OPERATION_REGISTRATION;
typedef struct _OB_CALLBACK_REGISTRATION {
	USHORT Version;
	USHORT OperationRegistrationCount;
	UNICODE_STRING Altitude;
	PVOID RegistrationContext;
	OB_OPERATION_REGISTRATION *OperationRegistration;
} OB_CALLBACK_REGISTRATION, *POB_CALLBACK_REGISTRATION;
NTKERNELAPI NTSTATUS NTAPI ObRegisterCallbacks(POB_CALLBACK_REGISTRATION Registration, PVOID *Handle);
NTKERNELAPI VOID NTAPI ObUnRegisterCallbacks(PVOID Handle);

/* ---- sections, keys, threads (Zw) ---- */
NTSYSAPI NTSTATUS NTAPI ZwCreateSection(PHANDLE Section, ACCESS_MASK Access, POBJECT_ATTRIBUTES Attributes,
	PLARGE_INTEGER MaximumSize, ULONG Protection, ULONG AllocationAttributes, HANDLE File);
NTSYSAPI NTSTATUS NTAPI ZwClose(HANDLE Handle);
NTSYSAPI NTSTATUS NTAPI ZwOpenKey(PHANDLE Key, ACCESS_MASK Access, POBJECT_ATTRIBUTES Attributes);
typedef enum _KEY_VALUE_INFORMATION_CLASS { KeyValueBasicInformation, KeyValueFullInformation,
	KeyValuePartialInformation } KEY_VALUE_INFORMATION_CLASS;
typedef struct _KEY_VALUE_PARTIAL_INFORMATION {
	ULONG TitleIndex;
	ULONG Type;
	ULONG DataLength;
	UCHAR Data[1];
} KEY_VALUE_PARTIAL_INFORMATION, *PKEY_VALUE_PARTIAL_INFORMATION;
NTSYSAPI NTSTATUS NTAPI ZwQueryValueKey(HANDLE Key, PUNICODE_STRING Name, KEY_VALUE_INFORMATION_CLASS Class,
	PVOID Info, ULONG Length, PULONG ResultLength);

/* ---- Ps ---- */
typedef struct _PS_CREATE_NOTIFY_INFO {
	SIZE_T Size;
	union { ULONG Flags; struct { ULONG FileOpenNameAvailable : 1; ULONG IsSubsystemProcess : 1; ULONG Reserved : 30; }; };
	HANDLE ParentProcessId;
	CLIENT_ID CreatingThreadId;
	PFILE_OBJECT FileObject;
	PCUNICODE_STRING ImageFileName;
	PCUNICODE_STRING CommandLine;
	NTSTATUS CreationStatus;
} PS_CREATE_NOTIFY_INFO, *PPS_CREATE_NOTIFY_INFO;
_Static_assert(sizeof(PS_CREATE_NOTIFY_INFO) == 72, "PS_CREATE_NOTIFY_INFO");

typedef struct _IMAGE_INFO {
	union {
		ULONG Properties;
		struct {
			ULONG ImageAddressingMode : 8;
			ULONG SystemModeImage : 1;
			ULONG ImageMappedToAllPids : 1;
			ULONG ExtendedInfoPresent : 1;
			ULONG MachineTypeMismatch : 1;
			ULONG ImageSignatureLevel : 4;
			ULONG ImageSignatureType : 3;
			ULONG ImagePartialMap : 1;
			ULONG Reserved : 12;
		};
	};
	PVOID ImageBase;
	ULONG ImageSelector;
	SIZE_T ImageSize;
	ULONG ImageSectionNumber;
} IMAGE_INFO, *PIMAGE_INFO;
_Static_assert(sizeof(IMAGE_INFO) == 40, "IMAGE_INFO");

typedef VOID (NTAPI *PCREATE_PROCESS_NOTIFY_ROUTINE_EX)(PEPROCESS Process, HANDLE ProcessId, PPS_CREATE_NOTIFY_INFO CreateInfo);
typedef VOID (NTAPI *PCREATE_THREAD_NOTIFY_ROUTINE)(HANDLE ProcessId, HANDLE ThreadId, BOOLEAN Create);
typedef VOID (NTAPI *PLOAD_IMAGE_NOTIFY_ROUTINE)(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO Info);
NTKERNELAPI NTSTATUS NTAPI PsSetCreateProcessNotifyRoutineEx(PCREATE_PROCESS_NOTIFY_ROUTINE_EX Routine, BOOLEAN Remove);
NTKERNELAPI NTSTATUS NTAPI PsSetCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE Routine);
NTKERNELAPI NTSTATUS NTAPI PsRemoveCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE Routine);
NTKERNELAPI NTSTATUS NTAPI PsSetLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE Routine);
NTKERNELAPI NTSTATUS NTAPI PsRemoveLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE Routine);
NTKERNELAPI HANDLE NTAPI PsGetCurrentProcessId(VOID);
NTKERNELAPI HANDLE NTAPI PsGetCurrentThreadId(VOID);
NTKERNELAPI HANDLE NTAPI PsGetProcessId(PEPROCESS Process);
NTKERNELAPI HANDLE NTAPI PsGetThreadId(PETHREAD Thread);
NTKERNELAPI NTSTATUS NTAPI PsLookupProcessByProcessId(HANDLE ProcessId, PEPROCESS *Process);
NTKERNELAPI NTSTATUS NTAPI PsLookupThreadByThreadId(HANDLE ThreadId, PETHREAD *Thread);
NTKERNELAPI PACCESS_TOKEN NTAPI PsReferencePrimaryToken(PEPROCESS Process);
NTKERNELAPI VOID NTAPI PsDereferencePrimaryToken(PACCESS_TOKEN Token);

/* ---- Se ---- */
typedef enum _TOKEN_INFORMATION_CLASS { TokenUser = 1, TokenIntegrityLevel = 25 } TOKEN_INFORMATION_CLASS;
typedef struct _SID_AND_ATTRIBUTES { PSID Sid; ULONG Attributes; } SID_AND_ATTRIBUTES;
typedef struct _TOKEN_USER { SID_AND_ATTRIBUTES User; } TOKEN_USER, *PTOKEN_USER;
typedef struct _TOKEN_MANDATORY_LABEL { SID_AND_ATTRIBUTES Label; } TOKEN_MANDATORY_LABEL, *PTOKEN_MANDATORY_LABEL;
NTKERNELAPI NTSTATUS NTAPI SeQueryInformationToken(PACCESS_TOKEN Token, TOKEN_INFORMATION_CLASS Class, PVOID *Info);
NTKERNELAPI NTSTATUS NTAPI SeQueryAuthenticationIdToken(PACCESS_TOKEN Token, PLUID Luid);
NTKERNELAPI BOOLEAN NTAPI SeSinglePrivilegeCheck(LUID Privilege, KPROCESSOR_MODE Mode);

/* ---- Cm ---- */
typedef enum _REG_NOTIFY_CLASS {
	RegNtDeleteKey, RegNtPreDeleteKey = RegNtDeleteKey, RegNtSetValueKey, RegNtPreSetValueKey = RegNtSetValueKey,
	RegNtDeleteValueKey, RegNtPreDeleteValueKey = RegNtDeleteValueKey, RegNtSetInformationKey,
	RegNtPreSetInformationKey = RegNtSetInformationKey, RegNtRenameKey, RegNtPreRenameKey = RegNtRenameKey,
	RegNtEnumerateKey, RegNtPreEnumerateKey = RegNtEnumerateKey, RegNtEnumerateValueKey,
	RegNtPreEnumerateValueKey = RegNtEnumerateValueKey, RegNtQueryKey, RegNtPreQueryKey = RegNtQueryKey,
	RegNtQueryValueKey, RegNtPreQueryValueKey = RegNtQueryValueKey, RegNtQueryMultipleValueKey,
	RegNtPreQueryMultipleValueKey = RegNtQueryMultipleValueKey, RegNtPreCreateKey, RegNtPostCreateKey,
	RegNtPreOpenKey, RegNtPostOpenKey, RegNtKeyHandleClose, RegNtPreKeyHandleClose = RegNtKeyHandleClose,
	RegNtPostDeleteKey, RegNtPostSetValueKey, RegNtPostDeleteValueKey, RegNtPostSetInformationKey,
	RegNtPostRenameKey, RegNtPostEnumerateKey, RegNtPostEnumerateValueKey, RegNtPostQueryKey,
	RegNtPostQueryValueKey, RegNtPostQueryMultipleValueKey, RegNtPostKeyHandleClose, RegNtPreCreateKeyEx,
	RegNtPostCreateKeyEx, RegNtPreOpenKeyEx, RegNtPostOpenKeyEx
} REG_NOTIFY_CLASS;
_Static_assert(RegNtPostSetValueKey == 16 && RegNtPostCreateKeyEx == 27, "REG_NOTIFY_CLASS values (wdm.h)");
typedef struct _REG_POST_OPERATION_INFORMATION {
	PVOID Object;
	NTSTATUS Status;
	PVOID PreInformation;
	NTSTATUS ReturnStatus;
	PVOID CallContext;
	PVOID ObjectContext;
	PVOID Reserved;
} REG_POST_OPERATION_INFORMATION, *PREG_POST_OPERATION_INFORMATION;
typedef struct _REG_DELETE_KEY_INFORMATION {
	PVOID Object;
	PVOID CallContext;
	PVOID ObjectContext;
	PVOID Reserved;
} REG_DELETE_KEY_INFORMATION, *PREG_DELETE_KEY_INFORMATION;
typedef struct _REG_SET_VALUE_KEY_INFORMATION {
	PVOID Object;
	PUNICODE_STRING ValueName;
	ULONG TitleIndex;
	ULONG Type;
	PVOID Data;
	ULONG DataSize;
	PVOID CallContext;
	PVOID ObjectContext;
	PVOID Reserved;
} REG_SET_VALUE_KEY_INFORMATION, *PREG_SET_VALUE_KEY_INFORMATION;
typedef struct _REG_DELETE_VALUE_KEY_INFORMATION {
	PVOID Object;
	PUNICODE_STRING ValueName;
	PVOID CallContext;
	PVOID ObjectContext;
	PVOID Reserved;
} REG_DELETE_VALUE_KEY_INFORMATION, *PREG_DELETE_VALUE_KEY_INFORMATION;
typedef struct _REG_RENAME_KEY_INFORMATION {
	PVOID Object;
	PUNICODE_STRING NewName;
	PVOID CallContext;
	PVOID ObjectContext;
	PVOID Reserved;
} REG_RENAME_KEY_INFORMATION, *PREG_RENAME_KEY_INFORMATION;
typedef NTSTATUS (NTAPI *PEX_CALLBACK_FUNCTION)(PVOID Context, PVOID Argument1, PVOID Argument2);
NTKERNELAPI NTSTATUS NTAPI CmRegisterCallbackEx(PEX_CALLBACK_FUNCTION Function, PCUNICODE_STRING Altitude,
	PVOID Driver, PVOID Context, PLARGE_INTEGER Cookie, PVOID Reserved);
NTKERNELAPI NTSTATUS NTAPI CmUnRegisterCallback(LARGE_INTEGER Cookie);
NTKERNELAPI NTSTATUS NTAPI CmCallbackGetKeyObjectID(PLARGE_INTEGER Cookie, PVOID Object, PULONG_PTR ObjectId,
	PCUNICODE_STRING *ObjectName);

/* ---- Rtl ---- */
NTSYSAPI VOID NTAPI RtlInitUnicodeString(PUNICODE_STRING Destination, PCWSTR Source);
NTSYSAPI VOID NTAPI RtlCopyUnicodeString(PUNICODE_STRING Destination, PCUNICODE_STRING Source);
NTSYSAPI NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source);
NTSYSAPI BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING A, PCUNICODE_STRING B, BOOLEAN CaseInsensitive);
NTSYSAPI BOOLEAN NTAPI RtlValidSid(PSID Sid);
NTSYSAPI ULONG NTAPI RtlLengthSid(PSID Sid);
NTSYSAPI PUCHAR NTAPI RtlSubAuthorityCountSid(PSID Sid);
NTSYSAPI PULONG NTAPI RtlSubAuthoritySid(PSID Sid, ULONG SubAuthority);
NTSYSAPI ULONG NTAPI RtlWalkFrameChain(PVOID *Callers, ULONG Count, ULONG Flags);

#endif
