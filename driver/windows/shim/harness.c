/*
 * The driver harness: the sysmon-ts Windows driver's own C (the .c files of
 * driver/windows, linked unchanged) loaded into the kernel shim, driven by a scenario on
 * stdin. One command a line, its arguments as tab-separated key=value (values may hold
 * spaces; \t \n \\ and \xHH are escapes, any other backslash is itself; numbers are
 * decimal or 0x hex). Each command fires the driver's callbacks as Windows would and
 * prints one result line; the ring is the driver's section, a file (argv[1]) that the
 * tests read after the run.
 *
 *   clock      interrupt=<100 ns since boot> system=<FILETIME>
 *   ringsize   kb=<Parameters\RingSizeKB> [type=<REG_ type, default REG_DWORD>]   (before load)
 *   routines   present=0|1       MmGetSystemRoutineAddress finds the optional routines  (before load)
 *   load                        DriverEntry; prints the status and the attached volumes
 *   process    pid= ppid= session= rid= create=<FILETIME> key=<start key> sid=S-1-... logon=
 *              [image= cmdline= by_tid=<creating thread> tid=<first thread> start= delete_pending=1
 *              subsystem=1 notoken=1 notify=0]
 *   thread     pid=<target> tid= start= by_tid=<creating thread>
 *   exit       pid= status=
 *   image      pid= path= base= size= [system=1 level=<signing level> by_tid=]
 *   open       by_tid= target=<pid> access= [granted= kernel=1 dup=1 status= frames=a,b,...]
 *   file       by_tid= path= result=created|overwritten|superseded|opened [options= access=
 *              status= ctime= attrs= noname=1 draining=1]
 *   setinfo    by_tid= path= class=disposition|disposition_ex|rename|rename_ex|basic|position
 *              [delete=0|1 target= ctime= prev= attrs= status= draining=1]
 *   reg        op=create|delete|set|delete_value|rename by_tid= key= [value= type= hex=|sz=|dword=|qword=
 *              newname= status= user=1 bad=1]
 *   ioctl      [mode=user|kernel tcb=0|1 code= outlen=]
 *   irql       level=
 *   failalloc  count=
 *   storm      threads= each= pid=     concurrent image loads from N threads
 *   registrations               what the driver registered, one line each, then "end"
 *   fail       api=<kernel API>   its next call fails (DriverEntry's error paths)
 *   pool_leak  [bytes=]          a pool block the harness never frees (the books must see it)
 *   unload                      the filter's unload callback, then the shim's books
 */
#define _GNU_SOURCE
#include "shim.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

DRIVER_INITIALIZE DriverEntry;

#define MAX_ARGS 32
typedef struct ARGS { int n; char *key[MAX_ARGS]; char *val[MAX_ARGS]; } ARGS;

static __attribute__((noreturn, format(printf, 1, 2))) void Fail(const char *fmt, ...)
{
	va_list ap;
	fputs("harness: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void Unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s != '\\' || !s[1]) { *o++ = *s; continue; }
		s++;
		if (*s == 't') *o++ = '\t';
		else if (*s == 'n') *o++ = '\n';
		else if (*s == '\\') *o++ = '\\';
		else if (*s == 'x' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hex[3] = { s[1], s[2], 0 };
			*o++ = (char)strtoul(hex, NULL, 16);
			s += 2;
		} else {                      /* not an escape: both characters as written */
			*o++ = '\\';
			*o++ = *s;
		}
	}
	*o = 0;
}

static const char *Get(const ARGS *a, const char *key)
{
	for (int i = 0; i < a->n; i++) if (!strcmp(a->key[i], key)) return a->val[i];
	return NULL;
}

static ULONG64 Num(const ARGS *a, const char *key, ULONG64 dflt)
{
	const char *v = Get(a, key);
	char *end;
	ULONG64 n;
	if (!v) return dflt;
	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno || *end || end == v) Fail("%s=%s: not a number", key, v);
	return n;
}

static const char *Need(const ARGS *a, const char *key)
{
	const char *v = Get(a, key);
	if (!v) Fail("missing %s=", key);
	return v;
}

/* UTF-8 -> UTF-16 (surrogate pairs above the BMP), NUL-terminated, in malloc'd memory */
static PWSTR Wide(const char *s, USHORT *Bytes)
{
	size_t n = strlen(s);
	PWSTR w = calloc(n * 2 + 1, sizeof(WCHAR));
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;
	if (!w) Fail("out of memory");
	while (*p) {
		unsigned c = *p++;
		int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		c &= more == 3 ? 0x07 : more == 2 ? 0x0f : more == 1 ? 0x1f : 0x7f;
		while (more-- > 0 && (*p & 0xc0) == 0x80) c = (c << 6) | (*p++ & 0x3f);
		if (c >= 0x10000) {
			c -= 0x10000;
			w[o++] = (WCHAR)(0xd800 + (c >> 10));
			w[o++] = (WCHAR)(0xdc00 + (c & 0x3ff));
		} else w[o++] = (WCHAR)c;
	}
	if (o * 2 > 0xfffe) Fail("string of %zu UTF-16 units is longer than a UNICODE_STRING", o);
	if (Bytes) *Bytes = (USHORT)(o * 2);
	return w;
}

static PUNICODE_STRING WideString(const char *s)
{
	PUNICODE_STRING u = calloc(1, sizeof(*u));
	if (!u) Fail("out of memory");
	u->Buffer = Wide(s, &u->Length);
	u->MaximumLength = u->Length;
	return u;
}

static void FreeString(PUNICODE_STRING u)
{
	if (!u) return;
	free(u->Buffer);
	free(u);
}

/* S-1-5-21-1-2-3-1001 -> a binary SID */
static ULONG ParseSid(const char *s, UCHAR *Out)
{
	ULONG64 auth;
	char *end;
	ULONG n = 0;
	if (strncmp(s, "S-1-", 4)) Fail("sid=%s: not S-1-...", s);
	auth = strtoull(s + 4, &end, 10);
	memset(Out, 0, 68);
	Out[0] = 1;
	for (int i = 0; i < 6; i++) Out[2 + i] = (UCHAR)(auth >> (8 * (5 - i)));
	while (*end == '-') {
		ULONG sub = (ULONG)strtoul(end + 1, &end, 10);
		if (n == 15) Fail("sid=%s: too many sub-authorities", s);
		memcpy(Out + 8 + 4 * n++, &sub, 4);
	}
	if (*end) Fail("sid=%s: bad", s);
	Out[1] = (UCHAR)n;
	return 8 + 4 * n;
}

static PETHREAD ThreadArg(const ARGS *a, const char *key)
{
	ULONG tid = (ULONG)Num(a, key, 8);      /* default: the System process's thread */
	PETHREAD t = ShimFindThread(tid);
	if (!t) Fail("%s=%u: no such thread", key, tid);
	return t;
}

static PEPROCESS ProcessArg(const ARGS *a, const char *key)
{
	ULONG pid = (ULONG)Num(a, key, 0);
	PEPROCESS p = ShimFindProcess(pid);
	if (!p) Fail("%s=%u: no such process", key, pid);
	return p;
}

static void Process(const ARGS *a)
{
	SHIM_PROCESS_SPEC spec;
	PEPROCESS p;
	memset(&spec, 0, sizeof(spec));
	spec.Pid = (ULONG)Num(a, "pid", 0);
	spec.Ppid = (ULONG)Num(a, "ppid", 0);
	spec.Session = (ULONG)Num(a, "session", 0);
	spec.Rid = (ULONG)Num(a, "rid", 0x2000);
	spec.CreateTime = (LONGLONG)Num(a, "create", 0);
	spec.StartKey = Num(a, "key", 0);
	if (!Num(a, "notoken", 0)) spec.SidLength = ParseSid(Get(a, "sid") ? Get(a, "sid") : "S-1-5-18", spec.Sid);
	ULONG64 logon = Num(a, "logon", 0x3e7);
	spec.Logon.LowPart = (ULONG)logon;
	spec.Logon.HighPart = (LONG)(logon >> 32);
	if (ShimFindProcess(spec.Pid)) Fail("process %u exists", spec.Pid);
	p = ShimAddProcess(&spec);
	if (Num(a, "notify", 1)) {
		PETHREAD creator = ThreadArg(a, "by_tid");
		PUNICODE_STRING image = Get(a, "image") ? WideString(Get(a, "image")) : NULL;
		PUNICODE_STRING cmdline = Get(a, "cmdline") ? WideString(Get(a, "cmdline")) : NULL;
		FILE_OBJECT fo;
		PS_CREATE_NOTIFY_INFO info;
		memset(&fo, 0, sizeof(fo));
		memset(&info, 0, sizeof(info));
		fo.DeletePending = (BOOLEAN)Num(a, "delete_pending", 0);
		info.Size = sizeof(info);
		info.FileOpenNameAvailable = 1;
		info.IsSubsystemProcess = (ULONG)Num(a, "subsystem", 0);
		info.ParentProcessId = (HANDLE)(ULONG_PTR)spec.Ppid;
		info.CreatingThreadId.UniqueProcess = PsGetProcessId(IoThreadToProcess(creator));
		info.CreatingThreadId.UniqueThread = PsGetThreadId(creator);
		info.FileObject = &fo;
		info.ImageFileName = image;
		info.CommandLine = cmdline;
		ShimSetCurrentThread(creator);
		ShimNotifyProcessCreate(p, &info);
		if (info.CreationStatus) Fail("a process notify routine set CreationStatus (an observer must not block)");
		FreeString(image);
		FreeString(cmdline);
		/* the first thread, created by the creator: no event 8 */
		if (Get(a, "tid")) {
			PETHREAD first = ShimAddThread(p, (ULONG)Num(a, "tid", 0), Num(a, "start", 0));
			ShimSetCurrentThread(creator);
			ShimNotifyThreadCreate(first);
		}
	} else if (Get(a, "tid")) {
		ShimAddThread(p, (ULONG)Num(a, "tid", 0), Num(a, "start", 0));
	}
	printf("process pid=%u\n", spec.Pid);
}

static void Thread(const ARGS *a)
{
	PEPROCESS target = ProcessArg(a, "pid");
	PETHREAD creator = ThreadArg(a, "by_tid");
	PETHREAD t = ShimAddThread(target, (ULONG)Num(a, "tid", 0), Num(a, "start", 0));
	ShimSetCurrentThread(creator);
	ShimNotifyThreadCreate(t);
	printf("thread tid=%u\n", (ULONG)Num(a, "tid", 0));
}

static void Exit(const ARGS *a)
{
	PEPROCESS p = ProcessArg(a, "pid");
	PETHREAD last = ShimAnyThreadOf(p);
	ULONG pid = (ULONG)(ULONG_PTR)PsGetProcessId(p);
	NTSTATUS status = (NTSTATUS)Num(a, "status", 0);
	/* the exit status is set before the notification, which runs in the process's last thread */
	ShimSetExitStatus(p, status);
	ShimSetCurrentThread(last ? last : ShimFindThread(8));
	ShimNotifyProcessExit(p);
	ShimRemoveProcess(p, status);
	ShimSetCurrentThread(ShimFindThread(8));
	printf("exit pid=%u\n", pid);
}

static void Image(const ARGS *a)
{
	PUNICODE_STRING name = WideString(Need(a, "path"));
	IMAGE_INFO info;
	memset(&info, 0, sizeof(info));
	info.ImageAddressingMode = 0;
	info.SystemModeImage = (ULONG)Num(a, "system", 0);
	info.ImageSignatureLevel = (ULONG)Num(a, "level", 0);
	info.ImageSignatureType = info.ImageSignatureLevel ? 1 : 0;
	info.ExtendedInfoPresent = 1;
	info.ImageBase = (PVOID)(ULONG_PTR)Num(a, "base", 0);
	info.ImageSize = Num(a, "size", 0);
	ShimSetCurrentThread(ThreadArg(a, "by_tid"));
	ShimNotifyImageLoad(name, (HANDLE)(ULONG_PTR)Num(a, "pid", 0), &info);
	FreeString(name);
	printf("image\n");
}

static ULONG ParseFrames(const char *s, ULONG64 *Out)
{
	ULONG n = 0;
	char *end;
	while (s && *s && n < 64) {
		Out[n++] = strtoull(s, &end, 16);
		if (*end != ',' && *end) Fail("frames=%s: bad", s);
		s = *end ? end + 1 : end;
	}
	return n;
}

static void Open(const ARGS *a)
{
	ULONG64 frames[64];
	ULONG n = ParseFrames(Get(a, "frames"), frames);
	ULONG access = (ULONG)Num(a, "access", 0x1410);
	ShimSetStackFrames(frames, n);
	ShimSetCurrentThread(ThreadArg(a, "by_tid"));
	ShimNotifyProcessHandle(ProcessArg(a, "target"), (BOOLEAN)Num(a, "dup", 0), (BOOLEAN)Num(a, "kernel", 0), access,
				(ULONG)Num(a, "granted", access), (NTSTATUS)Num(a, "status", 0));
	printf("open\n");
}

static ULONG Result(const char *r)
{
	if (!strcmp(r, "superseded")) return FILE_SUPERSEDED;
	if (!strcmp(r, "opened")) return FILE_OPENED;
	if (!strcmp(r, "created")) return FILE_CREATED;
	if (!strcmp(r, "overwritten")) return FILE_OVERWRITTEN;
	Fail("result=%s", r);
}

static void File(const ARGS *a)
{
	PWSTR path = Wide(Need(a, "path"), NULL);
	SHIM_FILE *f = ShimFileOpen(path, (LONGLONG)Num(a, "ctime", 0), (ULONG)Num(a, "attrs", 0x20), !Num(a, "noname", 0));
	IO_SECURITY_CONTEXT sc;
	FLT_PARAMETERS params;
	FLT_PREOP_CALLBACK_STATUS pre;
	memset(&sc, 0, sizeof(sc));
	memset(&params, 0, sizeof(params));
	sc.DesiredAccess = (ACCESS_MASK)Num(a, "access", 0x12019f);
	params.Create.SecurityContext = &sc;
	params.Create.Options = (ULONG)Num(a, "options", 0);
	ShimSetCurrentThread(ThreadArg(a, "by_tid"));
	pre = ShimFltOperation(IRP_MJ_CREATE, f, &params, (NTSTATUS)Num(a, "status", 0), Result(Get(a, "result") ? Get(a, "result") : "created"),
			       (BOOLEAN)Num(a, "draining", 0));
	ShimFileClose(f);
	free(path);
	printf("file pre=%d\n", pre);
}

static void SetInfo(const ARGS *a)
{
	PWSTR path = Wide(Need(a, "path"), NULL);
	SHIM_FILE *f = ShimFileOpen(path, (LONGLONG)Num(a, "prev", 0), (ULONG)Num(a, "attrs", 0x20), !Num(a, "noname", 0));
	const char *cls = Need(a, "class");
	FLT_PARAMETERS params;
	FLT_PREOP_CALLBACK_STATUS pre;
	union { FILE_DISPOSITION_INFORMATION d; ULONG dx; FILE_BASIC_INFORMATION b; UCHAR raw[4096]; } *buf = calloc(1, 4096);
	if (!buf) Fail("out of memory");
	memset(&params, 0, sizeof(params));
	params.SetFileInformation.InfoBuffer = buf;
	if (!strcmp(cls, "disposition")) {
		buf->d.DeleteFile = (BOOLEAN)Num(a, "delete", 1);
		params.SetFileInformation.FileInformationClass = FileDispositionInformation;
		params.SetFileInformation.Length = sizeof(buf->d);
	} else if (!strcmp(cls, "disposition_ex")) {
		buf->dx = (ULONG)Num(a, "flags", 1);
		params.SetFileInformation.FileInformationClass = (FILE_INFORMATION_CLASS)64;
		params.SetFileInformation.Length = sizeof(ULONG);
	} else if (!strcmp(cls, "rename") || !strcmp(cls, "rename_ex")) {
		USHORT bytes;
		PWSTR target = Wide(Need(a, "target"), &bytes);
		PFILE_RENAME_INFORMATION ri = (PFILE_RENAME_INFORMATION)buf;
		if (offsetof(FILE_RENAME_INFORMATION, FileName) + bytes > 4096) Fail("target too long");
		ri->ReplaceIfExists = TRUE;
		ri->FileNameLength = bytes;
		memcpy(ri->FileName, target, bytes);
		free(target);
		params.SetFileInformation.FileInformationClass = !strcmp(cls, "rename") ? FileRenameInformation : (FILE_INFORMATION_CLASS)65;
		params.SetFileInformation.Length = (ULONG)offsetof(FILE_RENAME_INFORMATION, FileName) + bytes;
	} else if (!strcmp(cls, "basic")) {
		buf->b.CreationTime.QuadPart = (LONGLONG)Num(a, "ctime", 0);
		buf->b.FileAttributes = (ULONG)Num(a, "attrs", 0);
		params.SetFileInformation.FileInformationClass = FileBasicInformation;
		params.SetFileInformation.Length = sizeof(buf->b);
	} else if (!strcmp(cls, "position")) {
		params.SetFileInformation.FileInformationClass = (FILE_INFORMATION_CLASS)14;
		params.SetFileInformation.Length = 8;
	} else Fail("class=%s", cls);
	ShimSetCurrentThread(ThreadArg(a, "by_tid"));
	pre = ShimFltOperation(IRP_MJ_SET_INFORMATION, f, &params, (NTSTATUS)Num(a, "status", 0), 0, (BOOLEAN)Num(a, "draining", 0));
	ShimFileClose(f);
	free(path);
	free(buf);
	printf("setinfo pre=%d\n", pre);
}

/* a UNICODE_STRING in user memory (user=1) or kernel memory (user=0); bad=1: its buffer faults */
static PUNICODE_STRING CallerString(const char *s, BOOLEAN User, BOOLEAN Bad, PVOID *Free1, PVOID *Free2)
{
	USHORT bytes;
	PWSTR w = Wide(s, &bytes);
	PUNICODE_STRING u;
	*Free1 = *Free2 = NULL;
	if (User) {
		u = ShimUserAlloc(sizeof(*u));
		u->Buffer = Bad ? ShimUserBadPointer() : ShimUserAlloc(bytes ? bytes : 1);
		if (!Bad) memcpy(u->Buffer, w, bytes);
		free(w);
	} else {
		u = calloc(1, sizeof(*u));
		if (!u) Fail("out of memory");
		u->Buffer = w;
		*Free1 = u;
		*Free2 = w;
	}
	u->Length = u->MaximumLength = bytes;
	return u;
}

static void Reg(const ARGS *a)
{
	const char *op = Need(a, "op");
	PWSTR keyName = Wide(Need(a, "key"), NULL);
	PVOID key = ShimKeyObject(keyName);
	BOOLEAN user = (BOOLEAN)Num(a, "user", 1), bad = (BOOLEAN)Num(a, "bad", 0);
	NTSTATUS status = (NTSTATUS)Num(a, "status", 0), st = 0;
	PVOID f1 = NULL, f2 = NULL, f3 = NULL;
	UCHAR data[4096];
	ULONG dataLen = 0, type = (ULONG)Num(a, "type", 1);
	PVOID dataAt = NULL;

	ShimSetCurrentThread(ThreadArg(a, "by_tid"));
	if (!strcmp(op, "create")) {
		REG_POST_OPERATION_INFORMATION post;
		memset(&post, 0, sizeof(post));
		post.Object = NT_SUCCESS(status) ? key : NULL;
		post.Status = status;
		st = ShimNotifyRegistry(RegNtPostCreateKeyEx, &post);
	} else if (!strcmp(op, "delete")) {
		REG_DELETE_KEY_INFORMATION pre;
		memset(&pre, 0, sizeof(pre));
		pre.Object = key;
		st = ShimNotifyRegistry(RegNtPreDeleteKey, &pre);
	} else if (!strcmp(op, "set")) {
		REG_SET_VALUE_KEY_INFORMATION set;
		REG_POST_OPERATION_INFORMATION post;
		if (Get(a, "sz")) {
			USHORT b;
			PWSTR w = Wide(Get(a, "sz"), &b);
			dataLen = b + 2u;                   /* with its NUL, as RegSetValueExW stores it */
			memcpy(data, w, dataLen);
			free(w);
		} else if (Get(a, "dword")) {
			ULONG v = (ULONG)Num(a, "dword", 0);
			memcpy(data, &v, dataLen = 4);
		} else if (Get(a, "qword")) {
			ULONG64 v = Num(a, "qword", 0);
			memcpy(data, &v, dataLen = 8);
		} else if (Get(a, "hex")) {
			const char *h = Get(a, "hex");
			while (h[0] && h[1] && dataLen < sizeof(data)) {
				char two[3] = { h[0], h[1], 0 };
				data[dataLen++] = (UCHAR)strtoul(two, NULL, 16);
				h += 2;
			}
		}
		if (Get(a, "size")) dataLen = (ULONG)Num(a, "size", 0);
		if (dataLen > sizeof(data)) Fail("size=%u: more than the harness holds", dataLen);
		if (user) {
			dataAt = ShimUserAlloc(dataLen ? dataLen : 1);
			memcpy(dataAt, data, dataLen);
		} else {
			dataAt = f3 = malloc(dataLen ? dataLen : 1);
			if (!dataAt) Fail("out of memory");
			memcpy(dataAt, data, dataLen);
		}
		memset(&set, 0, sizeof(set));
		set.Object = key;
		set.ValueName = CallerString(Get(a, "value") ? Get(a, "value") : "", user, bad, &f1, &f2);
		set.Type = type;
		set.Data = dataAt;
		set.DataSize = dataLen;
		memset(&post, 0, sizeof(post));
		post.Object = key;
		post.Status = status;
		post.PreInformation = &set;
		st = ShimNotifyRegistry(RegNtPreSetValueKey, &set);
		if (NT_SUCCESS(st)) st = ShimNotifyRegistry(RegNtPostSetValueKey, &post);
	} else if (!strcmp(op, "delete_value")) {
		REG_DELETE_VALUE_KEY_INFORMATION pre;
		memset(&pre, 0, sizeof(pre));
		pre.Object = key;
		pre.ValueName = CallerString(Get(a, "value") ? Get(a, "value") : "", user, bad, &f1, &f2);
		st = ShimNotifyRegistry(RegNtPreDeleteValueKey, &pre);
	} else if (!strcmp(op, "rename")) {
		REG_RENAME_KEY_INFORMATION pre;
		memset(&pre, 0, sizeof(pre));
		pre.Object = key;
		pre.NewName = CallerString(Need(a, "newname"), user, bad, &f1, &f2);
		st = ShimNotifyRegistry(RegNtPreRenameKey, &pre);
	} else Fail("op=%s", op);
	free(f1);
	free(f2);
	free(f3);
	ShimKeyRelease(key);
	free(keyName);
	printf("reg status=0x%08x\n", (ULONG)st);
}

static void Ioctl(const ARGS *a)
{
	const char *mode = Get(a, "mode") ? Get(a, "mode") : "user";
	ULONG outlen = (ULONG)Num(a, "outlen", sizeof(struct win_ring_info));
	ULONG code = (ULONG)Num(a, "code", IOCTL_SYSMON_TS_GET_RING);
	ULONG_PTR info = 0;
	NTSTATUS create, st;
	/* METHOD_BUFFERED: the I/O manager's system buffer holds max(input, output) bytes */
	UCHAR *buf = outlen ? malloc(outlen) : NULL;
	ShimSetTcbPrivilege((BOOLEAN)Num(a, "tcb", 1));
	ShimSetCurrentThread(ThreadArg(a, "by_tid"));
	create = ShimDeviceCreate(!strcmp(mode, "kernel") ? KernelMode : UserMode, &info);
	if (!NT_SUCCESS(create)) {
		printf("ioctl create=0x%08x\n", (ULONG)create);
		free(buf);
		return;
	}
	if (buf) memset(buf, 0xab, outlen);
	st = ShimDeviceIoctl(code, buf, outlen, &info);
	printf("ioctl create=0x%08x status=0x%08x information=%llu", (ULONG)create, (ULONG)st, (unsigned long long)info);
	if (NT_SUCCESS(st)) {
		struct win_ring_info ri;
		ULONG64 bytes = 0;
		NTSTATUS taken;
		if (info != sizeof(ri) || outlen < sizeof(ri)) Fail("IOCTL succeeded with %llu bytes", (unsigned long long)info);
		memcpy(&ri, buf, sizeof(ri));
		taken = ShimTakeSectionHandle((HANDLE)(ULONG_PTR)ri.section_handle, &bytes);
		printf(" handle=0x%08x section_bytes=%llu data_size=%llu header_bytes=%u abi=%u", (ULONG)taken,
		       (unsigned long long)bytes, (unsigned long long)ri.data_size, ri.header_bytes, ri.abi_version);
	}
	putchar('\n');
	free(buf);
}

typedef struct STORM { ULONG Tid, Pid, Each; } STORM;
static void *StormThread(void *Arg)
{
	STORM *s = Arg;
	WCHAR name[64];
	UNICODE_STRING u;
	char ascii[64];
	ShimSetCurrentThread(ShimFindThread(s->Tid));
	for (ULONG i = 0; i < s->Each; i++) {
		IMAGE_INFO info;
		int n = snprintf(ascii, sizeof(ascii), "\\Device\\HarddiskVolume3\\storm\\t%u-%u.dll", s->Tid, i);
		for (int j = 0; j <= n; j++) name[j] = (WCHAR)ascii[j];
		RtlInitUnicodeString(&u, name);
		memset(&info, 0, sizeof(info));
		info.ImageBase = (PVOID)(ULONG_PTR)(0x10000000ull * s->Tid + 0x1000ull * i);
		info.ImageSize = 0x1000;
		ShimNotifyImageLoad(&u, (HANDLE)(ULONG_PTR)s->Pid, &info);
	}
	return NULL;
}

static void Storm(const ARGS *a)
{
	ULONG threads = (ULONG)Num(a, "threads", 2), each = (ULONG)Num(a, "each", 100);
	PEPROCESS p = ProcessArg(a, "pid");
	pthread_t th[16];
	STORM s[16];
	if (threads > 16) Fail("threads=%u: at most 16", threads);
	for (ULONG i = 0; i < threads; i++) {
		s[i].Tid = 60000 + i;
		s[i].Pid = (ULONG)(ULONG_PTR)PsGetProcessId(p);
		s[i].Each = each;
		if (!ShimFindThread(s[i].Tid)) ShimAddThread(p, s[i].Tid, 0);
		if (pthread_create(&th[i], NULL, StormThread, &s[i])) Fail("pthread_create");
	}
	for (ULONG i = 0; i < threads; i++) pthread_join(th[i], NULL);
	printf("storm records=%u\n", threads * each);
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	BOOLEAN loaded = FALSE;
	SHIM_PROCESS_SPEC system;
	int rc = 0;

	if (argc != 2) Fail("usage: %s RING_FILE < scenario", argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ShimSetSectionFile(argv[1]);
	/* the System process (pid 4, thread 8): DriverEntry and unload run in it */
	memset(&system, 0, sizeof(system));
	system.Pid = 4;
	system.SidLength = ParseSid("S-1-5-18", system.Sid);
	system.Rid = 0x4000;
	system.Logon.LowPart = 0x3e7;
	ShimAddThread(ShimAddProcess(&system), 8, 0);
	ShimSetCurrentThread(ShimFindThread(8));

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		ARGS a = { 0 };
		char *save, *tok, *cmd;
		if (len && line[len - 1] == '\n') line[--len] = 0;
		if (!line[0] || line[0] == '#') continue;
		cmd = strtok_r(line, "\t", &save);
		while ((tok = strtok_r(NULL, "\t", &save))) {
			char *eq = strchr(tok, '=');
			if (!eq || a.n == MAX_ARGS) Fail("%s: bad argument '%s'", cmd, tok);
			*eq = 0;
			a.key[a.n] = tok;
			a.val[a.n] = eq + 1;
			Unescape(a.val[a.n++]);
		}
		/* settings answer "ok CMD": every command prints one line, so a driver of the
		 * harness can wait for each answer */
		if (!strcmp(cmd, "clock")) ShimSetClock(Num(&a, "interrupt", 0), Num(&a, "system", 0)), printf("ok %s\n", cmd);
		else if (!strcmp(cmd, "ringsize"))
			ShimSetRingSizeKB(TRUE, (ULONG)Num(&a, "type", REG_DWORD), (ULONG)Num(&a, "kb", 0)), printf("ok %s\n", cmd);
		else if (!strcmp(cmd, "routines")) ShimSetOptionalRoutines((BOOLEAN)Num(&a, "present", 1)), printf("ok %s\n", cmd);
		else if (!strcmp(cmd, "irql")) ShimSetIrql((KIRQL)Num(&a, "level", 0)), printf("ok %s\n", cmd);
		else if (!strcmp(cmd, "failalloc")) ShimFailAllocations((ULONG)Num(&a, "count", 1)), printf("ok %s\n", cmd);
		else if (!strcmp(cmd, "fail")) ShimFailNext(Need(&a, "api")), printf("ok %s\n", cmd);
		else if (!strcmp(cmd, "pool_leak")) {
			/* a negative control for the books: a block nobody frees must be reported */
			printf("pool_leak %p\n", ExAllocatePoolWithTag(NonPagedPoolNx, (SIZE_T)Num(&a, "bytes", 16), 0x6b61654c));
		}
		else if (!strcmp(cmd, "load")) {
			NTSTATUS st;
			ShimSetCurrentThread(ShimFindThread(8));
			st = ShimDriverLoad(DriverEntry, L"\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services\\SysmonTs");
			loaded = NT_SUCCESS(st);
			printf("load status=0x%08x volumes=0x%x\n", (ULONG)st, ShimFltAttachedVolumes());
			if (!loaded) {
				ULONG leaks = ShimReportLeaks();
				printf("failed-load leaks=%u\n", leaks);
				if (leaks) rc = 3;
			}
		} else if (!strcmp(cmd, "unload")) {
			NTSTATUS st;
			ULONG leaks;
			ShimSetCurrentThread(ShimFindThread(8));
			st = ShimDriverUnload();
			leaks = ShimReportLeaks();
			printf("unload status=0x%08x leaks=%u\n", (ULONG)st, leaks);
			loaded = FALSE;
			if (leaks) rc = 3;
		} else if (!strcmp(cmd, "registrations")) ShimPrintRegistrations(stdout);
		else if (!loaded) Fail("%s: the driver is not loaded", cmd);
		else if (!strcmp(cmd, "process")) Process(&a);
		else if (!strcmp(cmd, "thread")) Thread(&a);
		else if (!strcmp(cmd, "exit")) Exit(&a);
		else if (!strcmp(cmd, "image")) Image(&a);
		else if (!strcmp(cmd, "open")) Open(&a);
		else if (!strcmp(cmd, "file")) File(&a);
		else if (!strcmp(cmd, "setinfo")) SetInfo(&a);
		else if (!strcmp(cmd, "reg")) Reg(&a);
		else if (!strcmp(cmd, "ioctl")) Ioctl(&a);
		else if (!strcmp(cmd, "storm")) Storm(&a);
		else Fail("unknown command %s", cmd);
	}
	free(line);
	if (loaded) Fail("the scenario ended without unload");
	return rc;
}
