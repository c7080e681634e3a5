// The command line's platform-dependent parts, each run with 'win32' and 'linux' passed in:
// default paths, config and output-path checks, the run preflight and the driver-open error,
// the Windows service install plan (exact commands, quoting of paths with spaces, read back
// the way Windows' argv parser reads them), the plan runner, config reload and `status`.
// None of this has run on Windows; what Windows itself does with the commands is the test
// plan's job (driver/windows/README.md).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliPlatform, defaultPaths } from '../../src/platform-paths.js';
import { BUNDLED_CONFIG, cliCommand, ROOT } from '../../src/paths.js';
import {
  checkConfigFile,
  checkOutputPath,
  ensurePrivateDir,
  SecurityError,
  uncheckedNotice,
  windowsUserWritableDirOf,
  windowsUserWritableDirs,
} from '../../src/file-permissions.js';
import { explainDriverOpenError, PreflightError, preflightProblem, type PreflightFacts } from '../../src/commands/preflight.js';
import {
  quoteWindowsArg,
  renderWindowsPlan,
  windowsCommandLine,
  windowsInstallPlan,
  windowsServiceBinPath,
  windowsServiceCommand,
  windowsUninstallPlan,
  windowsInstalledPaths,
  type PlanStep,
} from '../../src/commands/install-windows.js';
import { runPlan } from '../../src/commands/plan-runner.js';
import { requestReload } from '../../src/commands/reload.js';
import { collectStatus, serviceLocations } from '../../src/commands/status.js';
import { installedConfig, isInstalledConfig, runInstall, runUninstall } from '../../src/commands/install.js';

const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-wincli-'));
const sink = () => {
  let text = '';
  return {
    write: (s: string) => {
      text += s;
      return true;
    },
    get text() {
      return text;
    },
  };
};

/** How the MSVC runtime (CommandLineToArgvW) splits a command line: the reader our quoting must satisfy. */
function windowsArgv(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i += 1;
    if (i >= line.length) break;
    let arg = '';
    let quoted = false;
    for (; i < line.length; i += 1) {
      const c = line[i]!;
      if (c === '\\') {
        let n = 0;
        while (line[i] === '\\') {
          n += 1;
          i += 1;
        }
        if (line[i] === '"') {
          arg += '\\'.repeat(Math.floor(n / 2));
          if (n % 2 === 1) {
            arg += '"';
            continue;
          }
          i -= 1;
          continue;
        }
        arg += '\\'.repeat(n);
        i -= 1;
        continue;
      }
      if (c === '"') {
        quoted = !quoted;
        continue;
      }
      if (!quoted && (c === ' ' || c === '\t')) break;
      arg += c;
    }
    out.push(arg);
  }
  return out;
}

describe('default paths by platform', () => {
  it('keeps the Linux paths and their overrides', () => {
    assert.deepEqual(defaultPaths('linux', {}), {
      dataDir: '/var/lib/sysmon-ts',
      journalDir: '/var/lib/sysmon-ts/journal',
      logDir: '/var/log/sysmon-ts',
      jsonl: '/var/log/sysmon-ts/events.jsonl',
      runDir: '/run/sysmon-ts',
      stateFile: '/run/sysmon-ts/agent.json',
      statsFile: '/run/sysmon-ts/stats.json',
    });
    const o = defaultPaths('linux', { SYSMON_TS_DATA_DIR: '/d', SYSMON_TS_LOG_DIR: '/l', SYSMON_TS_RUN_DIR: '/r' });
    assert.deepEqual([o.journalDir, o.jsonl, o.stateFile], ['/d/journal', '/l/events.jsonl', '/r/agent.json']);
    assert.equal(cliPlatform('darwin'), 'linux');
    assert.equal(cliPlatform('win32'), 'win32');
  });

  it('puts everything under %ProgramData%\\sysmon-ts on Windows', () => {
    assert.deepEqual(defaultPaths('win32', { ProgramData: 'D:\\Data' }), {
      dataDir: 'D:\\Data\\sysmon-ts',
      journalDir: 'D:\\Data\\sysmon-ts\\journal',
      logDir: 'D:\\Data\\sysmon-ts\\logs',
      jsonl: 'D:\\Data\\sysmon-ts\\logs\\events.jsonl',
      runDir: 'D:\\Data\\sysmon-ts\\run',
      stateFile: 'D:\\Data\\sysmon-ts\\run\\agent.json',
      statsFile: 'D:\\Data\\sysmon-ts\\run\\stats.json',
    });
    assert.equal(defaultPaths('win32', {}).journalDir, 'C:\\ProgramData\\sysmon-ts\\journal');
    assert.equal(defaultPaths('win32', { SYSMON_TS_RUN_DIR: 'E:\\run' }).stateFile, 'E:\\run\\agent.json');
    // the same folders the install plan creates
    const w = windowsInstalledPaths({ ProgramData: 'D:\\Data' });
    const d = defaultPaths('win32', { ProgramData: 'D:\\Data' });
    assert.deepEqual([w.journal, w.jsonl, w.runDir], [d.journalDir, d.jsonl, d.runDir]);
  });
});

describe('config and output checks by platform', () => {
  const env = { TEMP: 'C:\\Users\\alice\\AppData\\Local\\Temp', SystemRoot: 'C:\\Windows', SystemDrive: 'C:', PUBLIC: 'C:\\Users\\Public' };

  it('knows the folders every Windows user can write, case-insensitively and by whole names', () => {
    assert.deepEqual(windowsUserWritableDirs({ ...env, TMP: 'relative\\tmp' }), [
      'C:\\Users\\alice\\AppData\\Local\\Temp',
      'C:\\Windows\\Temp',
      'C:\\Users\\Public',
      'C:\\Users',
    ]);
    assert.equal(windowsUserWritableDirOf('C:\\Users\\alice\\Downloads\\collect all.xml', env), 'C:\\Users');
    assert.equal(windowsUserWritableDirOf('c:\\windows\\temp\\x.xml', env), 'C:\\Windows\\Temp');
    assert.equal(windowsUserWritableDirOf('C:\\Windows\\Temporary\\x.xml', env), null);
    assert.equal(windowsUserWritableDirOf('C:\\UsersX\\x.xml', env), null);
    assert.equal(windowsUserWritableDirOf('C:\\ProgramData\\sysmon-ts\\config.xml', env), null);
    assert.equal(windowsUserWritableDirOf('D:\\tmp\\x.xml', { TEMP: 'D:\\tmp' }), 'D:\\tmp');
  });

  it('applies POSIX owner/mode rules on Linux only', () => {
    const loose = join(dir, 'loose.xml');
    copyFileSync(BUNDLED_CONFIG, loose);
    chmodSync(loose, 0o666);
    assert.throws(() => checkConfigFile(loose, { asRoot: true, platform: 'linux' }), /mode 0666 lets everybody change it/);
    checkConfigFile(loose, { platform: 'win32', env: {} }); // Node shows 0666 for every writable Windows file: not a reason there
    assert.equal(uncheckedNotice('linux'), null);
    assert.match(uncheckedNotice('win32') ?? '', /owner and ACL are not checked.*icacls FILE \/inheritance:r/);
  });

  it('refuses on Windows a config in a user-writable folder, or linked from one', () => {
    const temp = join(dir, 'temp');
    mkdirSync(temp);
    const planted = join(temp, 'c.xml');
    copyFileSync(BUNDLED_CONFIG, planted);
    assert.throws(
      () => checkConfigFile(planted, { platform: 'win32', env: { TEMP: temp } }),
      (e: Error) =>
        e instanceof SecurityError &&
        e.message.includes(`refusing config ${planted}: it is in`) &&
        /which every user can write.*sysmon-ts -i FILE/.test(e.message),
    );
    const link = join(dir, 'link.xml');
    symlinkSync(planted, link);
    assert.throws(() => checkConfigFile(link, { platform: 'win32', env: { TEMP: temp } }), /\(a link to .*c\.xml\): it is in/);
    checkConfigFile(link, { platform: 'win32', env: {} });
    assert.throws(() => checkConfigFile(join(dir, 'missing.xml'), { platform: 'win32', env: {} }), /ENOENT/);
    assert.throws(() => checkConfigFile(temp, { platform: 'win32', env: {} }), /is not a regular file/);
  });

  it('refuses output links planted in user-writable folders on Windows, by folder not by mode', () => {
    const pub = join(dir, 'pub');
    mkdirSync(pub);
    chmodSync(pub, 0o1777);
    writeFileSync(join(dir, 'victim'), 'x');
    const planted = join(pub, 'events.jsonl');
    symlinkSync(join(dir, 'victim'), planted);
    assert.throws(() => checkOutputPath(planted, 'jsonl', { platform: 'linux' }), /world-writable directory/);
    assert.throws(
      () => checkOutputPath(planted, 'jsonl', { platform: 'win32', env: { PUBLIC: pub } }),
      /symbolic link or junction in .*pub, which every user can write/,
    );
    checkOutputPath(planted, 'jsonl', { platform: 'win32', env: {} }); // mode bits say nothing on Windows
    // the journal folder: created either way; only Linux refuses one others can write
    const open = join(dir, 'open-journal');
    mkdirSync(open);
    chmodSync(open, 0o777);
    assert.throws(() => ensurePrivateDir(open, 'journal', { platform: 'linux' }), /lets others write to it/);
    ensurePrivateDir(open, 'journal', { platform: 'win32', env: {} });
    ensurePrivateDir(join(dir, 'new', 'journal'), 'journal', { platform: 'win32', env: {} });
    assert.ok(existsSync(join(dir, 'new', 'journal')));
  });
});

describe('run preflight and the driver-open error', () => {
  const ready: PreflightFacts = { isRoot: true, hasBtf: true, missingObjects: [], arch: 'x64' };

  it('Linux: root, BTF, driver objects, in that order, with the old messages', () => {
    assert.equal(preflightProblem('linux', ready), null);
    assert.match(preflightProblem('linux', { ...ready, isRoot: false, hasBtf: false }) ?? '', /^sysmon-ts run needs root: it loads eBPF programs/);
    assert.match(preflightProblem('linux', { ...ready, hasBtf: false }) ?? '', /exposes no BTF \(\/sys\/kernel\/btf\/vmlinux is missing\)/);
    assert.match(
      preflightProblem('linux', { ...ready, missingObjects: ['/x/a.bpf.o', '/x/b.bpf.o'] }) ?? '',
      /^driver object \/x\/a\.bpf\.o is missing: build it with "make -C driver\/linux"/,
    );
  });

  it('Windows: no root, BTF or .bpf.o; an x64 Node', () => {
    assert.equal(preflightProblem('win32', { isRoot: false, hasBtf: false, missingObjects: [], arch: 'x64' }), null);
    assert.match(preflightProblem('win32', { ...ready, arch: 'arm64' }) ?? '', /built for x64 only and this Node is arm64.*fltmc load SysmonTs.*LocalSystem/);
  });

  it('turns the device open error into what to do, on Windows only', () => {
    const open = (code: number) => new Error(`CreateFileW(\\\\.\\SysmonTs) failed (error ${code}): is the driver loaded?`);
    const notLoaded = explainDriverOpenError(open(2), 'win32');
    assert.ok(notLoaded instanceof PreflightError);
    assert.match(
      notLoaded.message,
      /^cannot open the SysmonTs driver's device \\\\\.\\SysmonTs: the device does not exist: the SysmonTs driver is not loaded\. Load it with: fltmc load SysmonTs/,
    );
    assert.match(
      (explainDriverOpenError(open(5), 'win32') as Error).message,
      /access denied: the driver admits only LocalSystem.*sc\.exe start sysmon-ts.*psexec -s/,
    );
    assert.match((explainDriverOpenError(open(87), 'win32') as Error).message, /Win32 error 87 \(net helpmsg 87/);
    assert.match(
      (explainDriverOpenError(new Error('ring ABI version 9, this reader knows 1'), 'win32') as Error).message,
      /reinstall the driver built from this checkout/,
    );
    const linux = open(2);
    assert.equal(explainDriverOpenError(linux, 'linux'), linux);
    const other = new Error('journal is locked');
    assert.equal(explainDriverOpenError(other, 'win32'), other);
  });

  it('matches the messages the Windows ring really throws (src/kernel/windows/section.ts)', () => {
    const src = readFileSync(join(ROOT, 'src', 'kernel', 'windows', 'section.ts'), 'utf8');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
    assert.ok(src.includes('`CreateFileW(${device}) failed (error ${'), 'section.ts changed its CreateFileW error: update explainDriverOpenError');
    assert.ok(src.includes('`IOCTL_SYSMON_TS_GET_RING failed (error ${'), 'section.ts changed its IOCTL error: update explainDriverOpenError');
    assert.ok(src.includes('`ring ABI version ${'));
  });
});

describe('Windows service install plan', () => {
  const input = {
    nodeExe: 'C:\\Program Files\\nodejs\\node.exe',
    checkout: 'C:\\src\\sysmon ts',
    config: 'C:\\Users\\Admin\\My Configs\\collect all.xml',
    env: { ProgramData: 'C:\\ProgramData' },
  };

  it('quotes arguments so that Windows reads them back unchanged', () => {
    assert.equal(quoteWindowsArg('C:\\ProgramData\\x'), 'C:\\ProgramData\\x');
    assert.equal(quoteWindowsArg('C:\\Program Files\\nodejs\\node.exe'), '"C:\\Program Files\\nodejs\\node.exe"');
    assert.equal(quoteWindowsArg('C:\\dir with space\\'), '"C:\\dir with space\\\\"');
    assert.equal(quoteWindowsArg('say "hi"'), '"say \\"hi\\""');
    assert.equal(quoteWindowsArg(''), '""');
    const hard = ['C:\\Program Files\\node.exe', '', 'a"b', 'a\\"b', 'trail\\', 'trail space\\', 'x\\\\y', 'tab\there', 'a&b', '\\\\server\\share\\x y'];
    assert.deepEqual(windowsArgv(windowsCommandLine(hard)), hard);
  });

  it("runs this checkout's CLI as the service, with the installed files", () => {
    const cmd = windowsServiceCommand(input, windowsInstalledPaths(input.env));
    assert.deepEqual(cmd, [
      'C:\\Program Files\\nodejs\\node.exe',
      'C:\\src\\sysmon ts\\src\\bin.js',
      'run',
      '--config',
      'C:\\ProgramData\\sysmon-ts\\config.xml',
      '--journal',
      'C:\\ProgramData\\sysmon-ts\\journal',
      '--jsonl',
      'C:\\ProgramData\\sysmon-ts\\logs\\events.jsonl',
      '--no-console',
      '--stop-on-stdin-close',
    ]);
    // the service program runs it: the SCM starts sysmon-ts-service.exe, which starts the agent after `--`
    assert.deepEqual(windowsServiceBinPath(input, windowsInstalledPaths(input.env)), [
      'C:\\ProgramData\\sysmon-ts\\bin\\sysmon-ts-service.exe',
      '--log',
      'C:\\ProgramData\\sysmon-ts\\logs\\service.log',
      '--',
      ...cmd,
    ]);
  });

  it('gives the exact commands, in order', () => {
    const plan = windowsInstallPlan(input);
    const binPath =
      'C:\\ProgramData\\sysmon-ts\\bin\\sysmon-ts-service.exe --log C:\\ProgramData\\sysmon-ts\\logs\\service.log -- ' +
      '"C:\\Program Files\\nodejs\\node.exe" "C:\\src\\sysmon ts\\src\\bin.js" run --config C:\\ProgramData\\sysmon-ts\\config.xml ' +
      '--journal C:\\ProgramData\\sysmon-ts\\journal --jsonl C:\\ProgramData\\sysmon-ts\\logs\\events.jsonl --no-console --stop-on-stdin-close';
    const settings = [
      'binPath=',
      binPath,
      'type=',
      'own',
      'start=',
      'auto',
      'error=',
      'normal',
      'obj=',
      'LocalSystem',
      'depend=',
      'SysmonTs',
      'DisplayName=',
      'sysmon-ts',
    ];
    const runs = plan.filter((s): s is Extract<PlanStep, { kind: 'run' }> => s.kind === 'run').map((s) => s.argv);
    assert.deepEqual(runs, [
      ['icacls.exe', 'C:\\ProgramData\\sysmon-ts', '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'],
      ['RUNDLL32.EXE', 'SETUPAPI.DLL,InstallHinfSection', 'DefaultInstall.NTamd64', '132', 'C:\\ProgramData\\sysmon-ts\\driver\\sysmon-ts.inf'],
      ['fltmc.exe', 'load', 'SysmonTs'],
      ['sc.exe', 'create', 'sysmon-ts', ...settings],
      ['sc.exe', 'config', 'sysmon-ts', ...settings],
      ['sc.exe', 'description', 'sysmon-ts', 'Sysmon-compatible system activity logger (sysmon-ts)'],
      ['sc.exe', 'failure', 'sysmon-ts', 'reset=', '86400', 'actions=', 'restart/2000/restart/2000/restart/60000'],
      ['sc.exe', 'failureflag', 'sysmon-ts', '1'],
      ['sc.exe', 'start', 'sysmon-ts'],
    ]);
    const copies = plan.filter((s): s is Extract<PlanStep, { kind: 'copy' }> => s.kind === 'copy').map((s) => [s.from, s.to]);
    assert.deepEqual(copies, [
      ['C:\\Users\\Admin\\My Configs\\collect all.xml', 'C:\\ProgramData\\sysmon-ts\\config.xml'],
      ['C:\\src\\sysmon ts\\driver\\windows\\service\\build\\sysmon-ts-service.exe', 'C:\\ProgramData\\sysmon-ts\\bin\\sysmon-ts-service.exe'],
      ['C:\\src\\sysmon ts\\driver\\windows\\build\\sysmon-ts.sys', 'C:\\ProgramData\\sysmon-ts\\driver\\sysmon-ts.sys'],
      ['C:\\src\\sysmon ts\\driver\\windows\\sysmon-ts.inf', 'C:\\ProgramData\\sysmon-ts\\driver\\sysmon-ts.inf'],
    ]);
    // the ACL is reset before anything is put in the folder; the driver is in before the service starts
    const at = (pred: (s: PlanStep) => boolean) => plan.findIndex(pred);
    assert.ok(at((s) => s.kind === 'run' && s.argv[0] === 'icacls.exe') < at((s) => s.kind === 'copy'));
    assert.ok(at((s) => s.kind === 'mkdir' && s.path.endsWith('journal')) > at((s) => s.kind === 'run' && s.argv[0] === 'icacls.exe'));
    assert.ok(at((s) => s.kind === 'run' && s.argv[0] === 'fltmc.exe') < at((s) => s.kind === 'run' && s.argv[1] === 'start'));
    const create = plan.find((s) => s.kind === 'run' && s.argv[1] === 'create');
    assert.deepEqual(create?.kind === 'run' && create.okExitCodes, [0, 1073]);
  });

  it('prints it as cmd.exe lines that Windows splits back into the same arguments', () => {
    const text = renderWindowsPlan(windowsInstallPlan(input));
    const line = text.split('\n').find((l) => l.startsWith('sc.exe create'))!;
    assert.equal(
      line.slice(0, line.indexOf(' type=')),
      'sc.exe create sysmon-ts binPath= "C:\\ProgramData\\sysmon-ts\\bin\\sysmon-ts-service.exe --log C:\\ProgramData\\sysmon-ts\\logs\\service.log -- ' +
        '\\"C:\\Program Files\\nodejs\\node.exe\\" \\"C:\\src\\sysmon ts\\src\\bin.js\\" run ' +
        '--config C:\\ProgramData\\sysmon-ts\\config.xml --journal C:\\ProgramData\\sysmon-ts\\journal --jsonl C:\\ProgramData\\sysmon-ts\\logs\\events.jsonl --no-console --stop-on-stdin-close"',
    );
    // what the SCM then runs: binPath split again
    const binPath = windowsArgv(line)[4]!;
    assert.deepEqual(windowsArgv(binPath), windowsServiceBinPath(input, windowsInstalledPaths(input.env)));
    assert.ok(text.includes('copy /y "C:\\Users\\Admin\\My Configs\\collect all.xml" C:\\ProgramData\\sysmon-ts\\config.xml\n'));
    assert.match(text, /^REM the service's folder\nmkdir C:\\ProgramData\\sysmon-ts\n/);
  });

  it('uninstalls, deleting data only with --purge', () => {
    const keep = windowsUninstallPlan({ env: input.env, purge: false });
    assert.deepEqual(
      keep.filter((s) => s.kind === 'run').map((s) => s.kind === 'run' && s.argv.join(' ')),
      [
        'sc.exe stop sysmon-ts',
        'sc.exe delete sysmon-ts',
        'fltmc.exe unload SysmonTs',
        'RUNDLL32.EXE SETUPAPI.DLL,InstallHinfSection DefaultUninstall.NTamd64 132 C:\\ProgramData\\sysmon-ts\\driver\\sysmon-ts.inf',
      ],
    );
    assert.ok(keep.some((s) => s.kind === 'rmdir' && s.path === 'C:\\ProgramData\\sysmon-ts\\bin'));
    assert.ok(!keep.some((s) => s.kind === 'rmdir' && s.path === 'C:\\ProgramData\\sysmon-ts'));
    assert.ok(keep.some((s) => s.kind === 'delete' && s.path === 'C:\\ProgramData\\sysmon-ts\\config.xml'));
    assert.ok(renderWindowsPlan(keep).includes('\ndel /f /q C:\\ProgramData\\sysmon-ts\\config.xml\n'));
    assert.ok(windowsUninstallPlan({ env: input.env, purge: true }).some((s) => s.kind === 'rmdir' && s.path === 'C:\\ProgramData\\sysmon-ts'));
  });

  it('-i/-u --dry-run print the plan for the platform and change nothing', () => {
    const out = sink();
    assert.equal(runInstall({ platform: 'win32', dryRun: true, env: input.env, out }), 0);
    assert.match(out.text, /^REM sysmon-ts -i \(Windows service\): nothing was changed \(--dry-run\)\n/);
    assert.match(out.text, /\nsc\.exe create sysmon-ts binPath= /);
    assert.ok(out.text.includes(`copy /y ${BUNDLED_CONFIG} C:\\ProgramData\\sysmon-ts\\config.xml`));
    const bad = join(dir, 'bad.xml');
    writeFileSync(bad, '<Sysmon schemaversion="4.90"><EventFiltering><Nope/></EventFiltering></Sysmon');
    assert.throws(() => runInstall({ platform: 'win32', dryRun: true, env: input.env, config: bad, out: sink() }), /bad\.xml/);
    const root = join(dir, 'root');
    const lin = sink();
    assert.equal(runInstall({ platform: 'linux', dryRun: true, root, out: lin }), 0);
    assert.match(lin.text, /^# sysmon-ts -i \(systemd\): nothing was changed/);
    assert.ok(lin.text.includes(`write ${join(root, 'etc/systemd/system/sysmon-ts.service')} (0644):\n    # Installed by "sysmon-ts -i"`));
    assert.ok(lin.text.includes('systemctl daemon-reload && systemctl enable sysmon-ts.service && systemctl restart sysmon-ts.service'));
    assert.equal(existsSync(root), false);
    const u = sink();
    assert.equal(runUninstall({ platform: 'win32', dryRun: true, env: input.env, purge: true, out: u }), 0);
    assert.match(u.text, /\nsc\.exe delete sysmon-ts\n[\s\S]*\nrmdir \/s \/q C:\\ProgramData\\sysmon-ts\n$/);
  });
});

describe('the plan runner', () => {
  it('runs steps in order, accepts the listed exit codes, stops at the first failure', () => {
    const calls: string[] = [];
    const codes: Record<string, number | null> = { create: 1073, load: -2145452025 /* 0x801F0007 as a signed int */, bad: 5 };
    const run = (argv: readonly string[]) => {
      calls.push(argv[1]!);
      return { status: codes[argv[1]!] ?? 0, output: argv[1] === 'bad' ? 'Access is denied.' : '' };
    };
    const target = join(dir, 'plan', 'a');
    const steps: PlanStep[] = [
      { kind: 'mkdir', path: target, why: 'folder' },
      { kind: 'copy', from: BUNDLED_CONFIG, to: join(target, 'c.xml'), why: 'copy' },
      { kind: 'copy', from: BUNDLED_CONFIG, to: join(target, 'd.xml'), why: 'copy' },
      { kind: 'delete', path: join(target, 'd.xml'), why: 'delete' },
      { kind: 'run', argv: ['fltmc.exe', 'load'], okExitCodes: [0, 0x801f0007], why: 'load' },
      { kind: 'run', argv: ['sc.exe', 'create'], okExitCodes: [0, 1073], why: 'create' },
      { kind: 'run', argv: ['sc.exe', 'bad'], why: 'needs admin' },
      { kind: 'run', argv: ['sc.exe', 'never'], why: 'not reached' },
    ];
    const out = sink();
    assert.equal(runPlan(steps, out, run), 1);
    assert.deepEqual(calls, ['load', 'create', 'bad']);
    assert.ok(existsSync(join(target, 'c.xml')));
    assert.ok(!existsSync(join(target, 'd.xml')));
    assert.match(out.text, /\[7\/8\] failed: sc\.exe bad \(needs admin\): exit 5 \(0x5\): Access is denied\.\n$/);
    assert.equal(runPlan(steps.slice(0, 6), sink(), run), 0);
    assert.equal(runPlan([{ kind: 'copy', from: join(dir, 'absent'), to: join(dir, 'x'), why: 'copy' }], out, run), 1);
  });
});

describe('config reload and status by platform', () => {
  it('signals the agent on Linux, never on Windows (Node would kill it there)', () => {
    const sent: [number, string][] = [];
    const kill = (pid: number, sig: NodeJS.Signals) => {
      sent.push([pid, sig]);
    };
    assert.deepEqual(requestReload(42, 'linux', kill), { signalled: true });
    const win = requestReload(42, 'win32', kill);
    assert.equal(win.signalled, false);
    assert.match(!win.signalled ? win.howTo : '', /no SIGHUP: restart sysmon-ts \(pid 42\).*sc\.exe stop sysmon-ts && sc\.exe start sysmon-ts/);
    assert.deepEqual(sent, [[42, 'SIGHUP']]);
  });

  it('-c FILE replaces the config where -i put it, by platform', () => {
    assert.deepEqual(installedConfig('/', 'win32', { ProgramData: 'D:\\PD' }), { configDir: 'D:\\PD\\sysmon-ts', config: 'D:\\PD\\sysmon-ts\\config.xml' });
    assert.deepEqual(installedConfig('/r', 'linux', {}), { configDir: '/r/etc/sysmon-ts', config: '/r/etc/sysmon-ts/config.xml' });
    assert.equal(isInstalledConfig('c:\\programdata\\SYSMON-TS\\config.xml', '/', 'win32'), true);
    assert.equal(isInstalledConfig('C:\\ProgramData\\sysmon-ts\\other.xml', '/', 'win32'), false);
    assert.equal(isInstalledConfig('/r/etc/sysmon-ts/config.xml', '/r', 'linux'), true);
    assert.equal(isInstalledConfig('/r/etc/sysmon-ts/CONFIG.xml', '/r', 'linux'), false);
  });

  it('finds the state file and the installed service where each platform keeps them', async () => {
    assert.deepEqual(serviceLocations('win32', '/', { ProgramData: 'C:\\ProgramData' }), {
      service: 'Windows service sysmon-ts',
      marker: 'C:\\ProgramData\\sysmon-ts\\config.xml',
      config: 'C:\\ProgramData\\sysmon-ts\\config.xml',
      journal: 'C:\\ProgramData\\sysmon-ts\\journal',
      jsonl: 'C:\\ProgramData\\sysmon-ts\\logs\\events.jsonl',
    });
    assert.equal(serviceLocations('linux', '/x', {}).service, '/x/etc/systemd/system/sysmon-ts.service');
    const run = join(dir, 'run');
    mkdirSync(run);
    writeFileSync(join(run, 'agent.json'), JSON.stringify({ pid: process.pid, config: null, journal: join(dir, 'j'), jsonl: null }));
    // the win32 state file path itself (defaultPaths, above) cannot exist on this Linux host: given here
    const win = await collectStatus({ platform: 'win32', stateFile: join(run, 'agent.json'), env: { ProgramData: 'C:\\ProgramData' } });
    assert.equal(win.running, true);
    assert.equal(win.pid, process.pid);
    assert.deepEqual(win.service, { unit: 'Windows service sysmon-ts', installed: false });
    const lin = await collectStatus({ platform: 'linux', env: { SYSMON_TS_RUN_DIR: join(dir, 'no-run') }, root: join(dir, 'noroot') });
    assert.equal(lin.running, false);
    assert.equal(lin.service.unit, join(dir, 'noroot', 'etc/systemd/system/sysmon-ts.service'));
  });
});

describe('the real CLI, on this (Linux) host', () => {
  it('-i/-u --dry-run print the systemd plan, need no root and change nothing', () => {
    const root = join(dir, 'cli-root');
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const i = cli('-accepteula', '-i', '--dry-run', '--root', root);
    assert.equal(i.status, 0, i.stderr);
    assert.ok(i.stdout.startsWith('# sysmon-ts -i (systemd): nothing was changed (--dry-run)\n'), i.stdout);
    assert.ok(i.stdout.includes(`check ${BUNDLED_CONFIG} and copy it to ${join(root, 'etc/sysmon-ts/config.xml')}`));
    assert.ok(i.stdout.includes(`\n    ExecStart=${cliCommand().join(' ')} run --config `), i.stdout);
    const u = cli('-u', '--dry-run', '--purge', '--root', root);
    assert.equal(u.status, 0, u.stderr);
    assert.ok(u.stdout.includes(`rm -r ${join(root, 'var/lib/sysmon-ts')} ${join(root, 'var/log/sysmon-ts')}`), u.stdout);
    assert.equal(existsSync(root), false);
  });
});
