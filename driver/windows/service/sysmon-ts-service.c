/*
 * sysmon-ts-service.exe: the Windows service program that runs the agent.
 *
 * node.exe cannot be a service itself (it never calls StartServiceCtrlDispatcher, so the
 * Service Control Manager gives up with error 1053). This program is what the service's
 * binPath names (`sysmon-ts -i` installs it):
 *
 *   sysmon-ts-service.exe --log LOGFILE [--stop-timeout-ms N] -- NODE.EXE BIN.JS run ... --stop-on-stdin-close
 *
 * It answers the SCM, starts the command after `--` as its child with standard input a pipe
 * it holds the only write end of, and standard output and error appended to LOGFILE.
 * SERVICE_CONTROL_STOP / SHUTDOWN close that pipe: the agent sees end of input, stops
 * cleanly (last drain, sinks flushed, event 4 "Stopped") and exits; the service then reports
 * SERVICE_STOPPED with the agent's exit code (0: NO_ERROR, else ERROR_SERVICE_SPECIFIC_ERROR
 * and the code as the service-specific code, which `sc query` shows and which triggers the
 * failure actions when failureflag is set). If the host itself dies, the pipe closes too:
 * the agent never runs on unsupervised. An agent that has not exited N ms (default
 * STOP_TIMEOUT_MS) after the stop request is terminated (exit code STOP_TIMEOUT_EXIT).
 * The SCM gives the service no console; everything it says goes to LOGFILE.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#define SERVICE_NAME L"sysmon-ts"
#define STOP_TIMEOUT_MS 30000
#define STOP_TIMEOUT_EXIT 0x5354 /* "ST": the host had to terminate the agent */

static SERVICE_STATUS_HANDLE g_status_handle;
static SERVICE_STATUS g_status;
static HANDLE g_stop_event;
static HANDLE g_log = INVALID_HANDLE_VALUE;
static DWORD g_stop_timeout_ms = STOP_TIMEOUT_MS;
static int g_argc;
static wchar_t **g_argv;

static void log_line(const char *fmt, ...)
{
	char line[1024];
	SYSTEMTIME t;
	va_list ap;
	int n;
	DWORD written;

	if (g_log == INVALID_HANDLE_VALUE)
		return;
	GetSystemTime(&t);
	n = snprintf(line, sizeof(line), "%04u-%02u-%02u %02u:%02u:%02u.%03u sysmon-ts-service: ",
		     t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, t.wMilliseconds);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 2, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\r';
	line[n++] = '\n';
	WriteFile(g_log, line, n, &written, NULL);
}

static void report(DWORD state, DWORD exit_code, DWORD wait_hint)
{
	g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	g_status.dwCurrentState = state;
	g_status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
	g_status.dwWin32ExitCode = exit_code == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
	g_status.dwServiceSpecificExitCode = exit_code;
	g_status.dwWaitHint = wait_hint;
	g_status.dwCheckPoint = (state == SERVICE_RUNNING || state == SERVICE_STOPPED) ? 0 : g_status.dwCheckPoint + 1;
	SetServiceStatus(g_status_handle, &g_status);
}

static DWORD WINAPI control_handler(DWORD control, DWORD type, void *data, void *ctx)
{
	(void)type; (void)data; (void)ctx;
	switch (control) {
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
		log_line("stop requested (control %lu)", control);
		SetEvent(g_stop_event);
		return NO_ERROR;
	case SERVICE_CONTROL_INTERROGATE:
		return NO_ERROR;
	default:
		return ERROR_CALL_NOT_IMPLEMENTED;
	}
}

/*
 * One argument quoted so that CommandLineToArgvW (and the MSVC runtime node.exe uses) reads
 * it back unchanged: the rule of src/commands/install-windows.ts quoteWindowsArg().
 */
static void append_quoted(wchar_t *out, size_t cap, size_t *len, const wchar_t *arg)
{
	size_t backslashes = 0;
	int quote = arg[0] == 0 || wcspbrk(arg, L" \t\"") != NULL;

#define PUT(c) do { if (*len + 1 < cap) out[(*len)++] = (c); } while (0)
	if (*len > 0)
		PUT(L' ');
	if (!quote) {
		for (; *arg; arg++)
			PUT(*arg);
		out[*len] = 0;
		return;
	}
	PUT(L'"');
	for (; *arg; arg++) {
		if (*arg == L'\\') {
			backslashes++;
			continue;
		}
		if (*arg == L'"') {
			for (size_t i = 0; i < backslashes * 2 + 1; i++)
				PUT(L'\\');
		} else {
			for (size_t i = 0; i < backslashes; i++)
				PUT(L'\\');
		}
		backslashes = 0;
		PUT(*arg);
	}
	for (size_t i = 0; i < backslashes * 2; i++)
		PUT(L'\\');
	PUT(L'"');
	out[*len] = 0;
#undef PUT
}

/* Starts the agent; returns its process handle (or NULL) and the write end of its stdin. */
static HANDLE start_agent(int first, HANDLE *stdin_write)
{
	static wchar_t cmd[32768];
	size_t len = 0;
	SECURITY_ATTRIBUTES inherit = { sizeof(inherit), NULL, TRUE };
	HANDLE stdin_read = NULL, out = INVALID_HANDLE_VALUE;
	STARTUPINFOW si;
	PROCESS_INFORMATION pi;
	BOOL ok;

	ZeroMemory(&si, sizeof(si));
	si.cb = sizeof(si);
	cmd[0] = 0;
	for (int i = first; i < g_argc; i++)
		append_quoted(cmd, sizeof(cmd) / sizeof(cmd[0]), &len, g_argv[i]);
	if (!CreatePipe(&stdin_read, stdin_write, &inherit, 0)) {
		log_line("CreatePipe failed (error %lu)", GetLastError());
		return NULL;
	}
	/* only the read end goes to the child: the write end is ours alone */
	SetHandleInformation(*stdin_write, HANDLE_FLAG_INHERIT, 0);
	if (g_log != INVALID_HANDLE_VALUE)
		DuplicateHandle(GetCurrentProcess(), g_log, GetCurrentProcess(), &out, 0, TRUE, DUPLICATE_SAME_ACCESS);
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = stdin_read;
	si.hStdOutput = out;
	si.hStdError = out;
	ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi);
	CloseHandle(stdin_read);
	if (out != INVALID_HANDLE_VALUE)
		CloseHandle(out);
	if (!ok) {
		log_line("CreateProcessW(%ls) failed (error %lu)", cmd, GetLastError());
		CloseHandle(*stdin_write);
		*stdin_write = NULL;
		return NULL;
	}
	CloseHandle(pi.hThread);
	log_line("agent started (pid %lu): %ls", pi.dwProcessId, cmd);
	return pi.hProcess;
}

/* argv: [exe] [--log FILE] [--stop-timeout-ms N] -- COMMAND...; returns the index of COMMAND, or 0 */
static int parse_args(const wchar_t **log_path)
{
	int i = 1;
	*log_path = NULL;
	while (i + 1 < g_argc) {
		if (wcscmp(g_argv[i], L"--log") == 0) {
			*log_path = g_argv[i + 1];
		} else if (wcscmp(g_argv[i], L"--stop-timeout-ms") == 0) {
			wchar_t *end;
			unsigned long ms = wcstoul(g_argv[i + 1], &end, 10);
			if (*end || ms == 0 || ms > 600000)
				return 0;
			g_stop_timeout_ms = ms;
		} else {
			break;
		}
		i += 2;
	}
	if (i < g_argc && wcscmp(g_argv[i], L"--") == 0 && i + 1 < g_argc)
		return i + 1;
	return 0;
}

static void WINAPI service_main(DWORD argc, wchar_t **argv)
{
	HANDLE agent, stdin_write = NULL, waits[2];
	DWORD exit_code = 1, which;
	const wchar_t *log_path;
	int first = parse_args(&log_path);

	(void)argc; (void)argv;
	g_status_handle = RegisterServiceCtrlHandlerExW(SERVICE_NAME, control_handler, NULL);
	if (!g_status_handle)
		return;
	report(SERVICE_START_PENDING, 0, 10000);
	if (log_path) {
		g_log = CreateFileW(log_path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
				    NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
	}
	g_stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	agent = first && g_stop_event ? start_agent(first, &stdin_write) : NULL;
	if (!agent) {
		if (!first)
			log_line("usage: sysmon-ts-service.exe [--log FILE] [--stop-timeout-ms 1..600000] -- COMMAND [ARGS...]");
		report(SERVICE_STOPPED, 1, 0);
		return;
	}
	report(SERVICE_RUNNING, 0, 0);

	waits[0] = agent;
	waits[1] = g_stop_event;
	which = WaitForMultipleObjects(2, waits, FALSE, INFINITE);
	if (which == WAIT_OBJECT_0 + 1) {
		ULONGLONG deadline = GetTickCount64() + g_stop_timeout_ms;
		report(SERVICE_STOP_PENDING, 0, g_stop_timeout_ms);
		CloseHandle(stdin_write); /* end of input: the agent's signal to stop */
		stdin_write = NULL;
		while (WaitForSingleObject(agent, 500) == WAIT_TIMEOUT) {
			if (GetTickCount64() >= deadline) {
				log_line("agent did not stop within %lu ms: terminating it", g_stop_timeout_ms);
				TerminateProcess(agent, STOP_TIMEOUT_EXIT);
				WaitForSingleObject(agent, 5000);
				break;
			}
			report(SERVICE_STOP_PENDING, 0, g_stop_timeout_ms);
		}
	}
	GetExitCodeProcess(agent, &exit_code);
	log_line("agent exited with code %lu%s", exit_code, which == WAIT_OBJECT_0 ? " (not asked to stop)" : "");
	CloseHandle(agent);
	if (stdin_write)
		CloseHandle(stdin_write);
	if (g_log != INVALID_HANDLE_VALUE)
		CloseHandle(g_log);
	g_log = INVALID_HANDLE_VALUE;
	report(SERVICE_STOPPED, exit_code, 0);
}

int wmain(int argc, wchar_t **argv)
{
	SERVICE_TABLE_ENTRYW table[] = { { (wchar_t *)SERVICE_NAME, service_main }, { NULL, NULL } };

	g_argc = argc;
	g_argv = argv;
	if (!StartServiceCtrlDispatcherW(table)) {
		DWORD err = GetLastError();
		if (err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT)
			fwprintf(stderr, L"sysmon-ts-service: this program is started by the Service Control Manager "
					 L"(sc.exe start sysmon-ts), not from a shell\n");
		else
			fwprintf(stderr, L"sysmon-ts-service: StartServiceCtrlDispatcherW failed (error %lu)\n", err);
		return 1;
	}
	return 0;
}
