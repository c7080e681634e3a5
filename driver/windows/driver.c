/*
 * sysmon-ts Windows driver: entry, the device the service opens to get the ring's section,
 * and unload. A Filter Manager minifilter (fltmc load/unload) that also registers the
 * process, thread, image, object and registry callbacks; every part writes records of
 * driver/include/events.h into the one ring (ring.c).
 */
#include "sysmon_ts.h"

static PDEVICE_OBJECT gDevice;
static BOOLEAN gLink;

DRIVER_INITIALIZE DriverEntry;

static VOID Teardown(VOID)
{
	UNICODE_STRING link;
	RegistryCallbacksUnregister();
	ObjectCallbacksUnregister();
	ProcessCallbacksUnregister();
	FilterUnregister();                 /* waits for operations in flight */
	if (gLink) {
		RtlInitUnicodeString(&link, SYSMON_TS_LINK);
		IoDeleteSymbolicLink(&link);
		gLink = FALSE;
	}
	if (gDevice) IoDeleteDevice(gDevice);
	gDevice = NULL;
	RingDestroy();
}

static NTSTATUS FLTAPI FilterUnload(FLT_FILTER_UNLOAD_FLAGS Flags)
{
	Teardown();
	return STATUS_SUCCESS;
}

static NTSTATUS Complete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
	Irp->IoStatus.Status = Status;
	Irp->IoStatus.Information = Information;
	IoCompleteRequest(Irp, IO_NO_INCREMENT);
	return Status;
}

/* Only a caller holding SeTcbPrivilege (the service, running as LocalSystem) may open it. */
static NTSTATUS NTAPI DispatchCreateClose(PDEVICE_OBJECT Device, PIRP Irp)
{
	PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
	if (sp->MajorFunction == IRP_MJ_CREATE && Irp->RequestorMode == UserMode) {
		LUID tcb = { SE_TCB_PRIVILEGE, 0 };
		if (!SeSinglePrivilegeCheck(tcb, UserMode)) return Complete(Irp, STATUS_ACCESS_DENIED, 0);
	}
	return Complete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS NTAPI DispatchIoctl(PDEVICE_OBJECT Device, PIRP Irp)
{
	PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
	struct win_ring_info *info = Irp->AssociatedIrp.SystemBuffer;
	NTSTATUS st;

	if (sp->Parameters.DeviceIoControl.IoControlCode != IOCTL_SYSMON_TS_GET_RING)
		return Complete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
	if (sp->Parameters.DeviceIoControl.OutputBufferLength < sizeof(*info) || !info)
		return Complete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
	/* runs in the caller's context (the device is opened directly by the service) */
	st = RingOpenForCaller(info);
	return Complete(Irp, st, NT_SUCCESS(st) ? sizeof(*info) : 0);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT Driver, PUNICODE_STRING RegistryPath)
{
	UNICODE_STRING dev, link;
	NTSTATUS st;

	IdsInit();
	st = RingCreate(RegistryPath);
	if (!NT_SUCCESS(st)) return st;

	RtlInitUnicodeString(&dev, SYSMON_TS_DEVICE);
	st = IoCreateDevice(Driver, 0, &dev, SYSMON_TS_DEVICE_TYPE, FILE_DEVICE_SECURE_OPEN, FALSE, &gDevice);
	if (!NT_SUCCESS(st)) goto fail;
	RtlInitUnicodeString(&link, SYSMON_TS_LINK);
	st = IoCreateSymbolicLink(&link, &dev);
	if (!NT_SUCCESS(st)) goto fail;
	gLink = TRUE;
	Driver->MajorFunction[IRP_MJ_CREATE] = DispatchCreateClose;
	Driver->MajorFunction[IRP_MJ_CLEANUP] = DispatchCreateClose;
	Driver->MajorFunction[IRP_MJ_CLOSE] = DispatchCreateClose;
	Driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = DispatchIoctl;
	gDevice->Flags &= ~DO_DEVICE_INITIALIZING;

	st = FilterRegister(Driver, FilterUnload);
	if (!NT_SUCCESS(st)) goto fail;
	st = ProcessCallbacksRegister();
	if (!NT_SUCCESS(st)) goto fail;
	st = ObjectCallbacksRegister();
	if (!NT_SUCCESS(st)) goto fail;
	st = RegistryCallbacksRegister(Driver);
	if (!NT_SUCCESS(st)) goto fail;
	st = FilterStart();
	if (!NT_SUCCESS(st)) goto fail;
	return STATUS_SUCCESS;
fail:
	Teardown();
	return st;
}
