/*
 * The ring in a section shared with the service, in the Linux BPF ring's layout
 * (driver/include/events.h, "The ring in the section..."): consumer position at 0, producer
 * page at 4096, data area at WIN_RING_HEADER_BYTES. Records get the BPF ring's 8-byte
 * header (u32 length with BUSY/DISCARD, u32 unused), 8-byte alignment, and positions that
 * only grow. The algorithm is bpf_ringbuf_output's:
 *   reserve under a lock: check room against the consumer position, write the header
 *     with BUSY, advance and publish the producer position;
 *   copy the record after the header (split in two where it passes the end of the area);
 *   commit: clear BUSY with an interlocked write.
 * The reader stops at a BUSY header, so a record is never read half-written, and records
 * reserved later but committed earlier wait for it. No room: the record is dropped and
 * counted in win_ring_producer.dropped. test/windows/ring-producer.ts is this algorithm in
 * TypeScript; the ring walker is tested against it.
 *
 * The section memory is pageable, so writers must run at IRQL <= APC_LEVEL (every caller
 * does: process/thread/image/object/registry callbacks, and the minifilter's post-create
 * and synchronized post-set-information). The consumer position is the service's to
 * write: it is read, never trusted (an impossible value is treated as a full ring).
 */
#include "sysmon_ts.h"

static HANDLE gSectionHandle;
static PVOID gSection;
static PUCHAR gView;
static volatile LONG64 *gConsumer;
static struct win_ring_producer *gProducer;
static PUCHAR gData;
static ULONG64 gSize;
static ULONG64 gProducerPos;      /* the driver's own copy: the shared one is not trusted */
static KGUARDED_MUTEX gLock;
static volatile LONG gReady;

/* Parameters\RingSizeKB (REG_DWORD), rounded down to a power of two in [64 KiB, 1 GiB]. */
static ULONG64 RingBytes(PUNICODE_STRING RegistryPath)
{
	ULONG64 bytes = RING_DEFAULT_BYTES;
	UNICODE_STRING name;
	OBJECT_ATTRIBUTES oa;
	HANDLE key;
	WCHAR path[512];
	UNICODE_STRING params = { 0, sizeof(path), path };

	if (RegistryPath && (SIZE_T)RegistryPath->Length + 32 < sizeof(path)) {
		RtlCopyUnicodeString(&params, RegistryPath);
		RtlAppendUnicodeToString(&params, L"\\Parameters");
		InitializeObjectAttributes(&oa, &params, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
		if (NT_SUCCESS(ZwOpenKey(&key, KEY_READ, &oa))) {
			UCHAR buf[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + sizeof(ULONG)];
			PKEY_VALUE_PARTIAL_INFORMATION v = (PKEY_VALUE_PARTIAL_INFORMATION)buf;
			ULONG got;
			RtlInitUnicodeString(&name, L"RingSizeKB");
			if (NT_SUCCESS(ZwQueryValueKey(key, &name, KeyValuePartialInformation, v, sizeof(buf), &got)) &&
			    v->Type == REG_DWORD && v->DataLength == sizeof(ULONG))
				bytes = (ULONG64)*(ULONG UNALIGNED *)v->Data << 10;
			ZwClose(key);
		}
	}
	if (bytes < 65536) bytes = 65536;
	if (bytes > (1ull << 30)) bytes = 1ull << 30;
	while (bytes & (bytes - 1)) bytes &= bytes - 1;
	return bytes;
}

NTSTATUS RingCreate(PUNICODE_STRING RegistryPath)
{
	OBJECT_ATTRIBUTES oa;
	LARGE_INTEGER max;
	SIZE_T viewSize = 0;
	NTSTATUS st;

	gSize = RingBytes(RegistryPath);
	max.QuadPart = (LONGLONG)(WIN_RING_HEADER_BYTES + gSize);
	InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
	st = ZwCreateSection(&gSectionHandle, SECTION_ALL_ACCESS, &oa, &max, PAGE_READWRITE, SEC_COMMIT, NULL);
	if (!NT_SUCCESS(st)) return st;
	st = ObReferenceObjectByHandle(gSectionHandle, SECTION_ALL_ACCESS, NULL, KernelMode, &gSection, NULL);
	if (!NT_SUCCESS(st)) goto close;
	st = MmMapViewInSystemSpace(gSection, (PVOID *)&gView, &viewSize);
	if (!NT_SUCCESS(st)) goto deref;
	if (viewSize < WIN_RING_HEADER_BYTES + gSize) { st = STATUS_SECTION_TOO_BIG; goto unmap; }

	/* a new SEC_COMMIT section is zero-filled */
	gConsumer = (volatile LONG64 *)(gView + WIN_RING_CONSUMER_OFF);
	gProducer = (struct win_ring_producer *)(gView + WIN_RING_PRODUCER_OFF);
	gData = gView + WIN_RING_HEADER_BYTES;
	gProducer->data_size = gSize;
	gProducer->abi_version = EVENTS_ABI_VERSION;
	gProducer->magic = WIN_RING_MAGIC;
	gProducerPos = 0;
	KeInitializeGuardedMutex(&gLock);
	InterlockedExchange(&gReady, 1);
	return STATUS_SUCCESS;
unmap:
	MmUnmapViewInSystemSpace(gView);
deref:
	ObDereferenceObject(gSection);
close:
	ZwClose(gSectionHandle);
	gView = NULL;
	gSection = NULL;
	return st;
}

VOID RingDestroy(VOID)
{
	if (!gView) return;
	InterlockedExchange(&gReady, 0);
	/* every callback is unregistered by now (the unregister calls wait for running ones) */
	MmUnmapViewInSystemSpace(gView);
	ObDereferenceObject(gSection);
	ZwClose(gSectionHandle);
	gView = NULL;
}

static VOID Dropped(VOID)
{
	InterlockedIncrement64((volatile LONG64 *)&gProducer->dropped);
}

VOID RingOutput(CONST VOID *Record, ULONG Size)
{
	ULONG64 cons, prod, total, at, off, first;
	volatile LONG *hdr;

	if (!gReady) return;
	if (KeGetCurrentIrql() > APC_LEVEL || Size == 0 || (ULONG64)Size + 8 > gSize ||
	    (Size & (WIN_RING_BUSY | WIN_RING_DISCARD))) {
		Dropped();
		return;
	}
	total = ((ULONG64)Size + 8 + 7) & ~7ull;

	KeAcquireGuardedMutex(&gLock);
	cons = (ULONG64)*gConsumer;                      /* x64 loads are acquire loads */
	prod = gProducerPos;
	if (cons > prod || prod - cons > gSize || total > gSize - (prod - cons)) {
		KeReleaseGuardedMutex(&gLock);
		Dropped();
		return;
	}
	at = prod & (gSize - 1);
	hdr = (volatile LONG *)(gData + at);
	hdr[1] = 0;                                       /* pg_off: unused by the reader */
	InterlockedExchange(&hdr[0], (LONG)(Size | WIN_RING_BUSY));
	gProducerPos = prod + total;
	InterlockedExchange64((volatile LONG64 *)&gProducer->producer_pos, (LONG64)gProducerPos);
	KeReleaseGuardedMutex(&gLock);

	off = (at + 8) & (gSize - 1);                     /* at + 8 may be the end: wrap to 0 */
	first = gSize - off;
	if (first >= Size) {
		RtlCopyMemory(gData + off, Record, Size);
	} else {
		RtlCopyMemory(gData + off, Record, (SIZE_T)first);
		RtlCopyMemory(gData, (CONST UCHAR *)Record + first, (SIZE_T)(Size - first));
	}
	InterlockedExchange(&hdr[0], (LONG)Size);         /* commit: BUSY cleared, a full barrier */
}

NTSTATUS RingOpenForCaller(struct win_ring_info *Info)
{
	HANDLE h;
	NTSTATUS st;

	if (!gReady) return STATUS_DEVICE_NOT_READY;
	/* a handle in the current (calling) process's table, with only the rights to map */
	st = ObOpenObjectByPointer(gSection, 0, NULL, SECTION_MAP_READ | SECTION_MAP_WRITE | SECTION_QUERY,
				   NULL, KernelMode, &h);
	if (!NT_SUCCESS(st)) return st;
	Info->section_handle = (__u64)(ULONG_PTR)h;
	Info->data_size = gSize;
	Info->header_bytes = WIN_RING_HEADER_BYTES;
	Info->abi_version = EVENTS_ABI_VERSION;
	return STATUS_SUCCESS;
}

/* ---- record building ---- */

BOOLEAN BuilderInit(RECORD_BUILDER *B, ULONG FixedSize, ULONG StringBytes)
{
	ULONG cap = FixedSize + StringBytes;
	B->Buf = ExAllocatePoolWithTag(NonPagedPoolNx, cap, SYSMON_TS_TAG);
	B->Size = FixedSize;
	B->Cap = cap;
	if (!B->Buf) {
		Dropped();
		return FALSE;
	}
	RtlZeroMemory(B->Buf, FixedSize);
	return TRUE;
}

VOID BuilderFree(RECORD_BUILDER *B)
{
	if (B->Buf) ExFreePoolWithTag(B->Buf, SYSMON_TS_TAG);
	B->Buf = NULL;
}

VOID BuilderAppend(RECORD_BUILDER *B, ULONG RefOff, CONST VOID *Bytes, ULONG Len)
{
	struct str_ref *ref = (struct str_ref *)(B->Buf + RefOff);
	if (Len > B->Cap - B->Size) Len = B->Cap - B->Size;   /* cut, never overflow */
	ref->off = B->Size;
	ref->len = Len;
	if (Len) RtlCopyMemory(B->Buf + B->Size, Bytes, Len);
	B->Size += Len;
}

VOID BuilderAppendUnicode(RECORD_BUILDER *B, ULONG RefOff, PCUNICODE_STRING S)
{
	if (S && S->Buffer) BuilderAppend(B, RefOff, S->Buffer, S->Length);
	else BuilderAppend(B, RefOff, NULL, 0);
}

VOID BuilderOutput(RECORD_BUILDER *B)
{
	((struct record_header *)B->Buf)->size = B->Size;
	RingOutput(B->Buf, B->Size);
}
