/**
 * `rxtransfer session <id> add | run | list | watch | cancel`: background sessions
 * (`TransferSession`) from the command line.
 *
 * The session id comes before the action, so the `session` command takes its arguments raw and
 * parses them again with a program of its own (commander), whose commands are the actions.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { collectHeader, parseCount, parseSeconds, withoutSecrets } from './arguments.js';
import { CliError, ExitCode } from './exit-codes.js';
import { checkSessionId } from '../internal/session/session-options.js';
import type { CliStreams } from './output.js';
import { SESSION_LOCKED_EXIT } from './session-access.js';
import { runSessionAdd, runSessionCancel, runSessionList, type SessionAddFlags } from './session-actions.js';
import { reportSessionError, sessionExitCode, type SessionCommonFlags } from './session-errors.js';
import { runSessionRun, type SessionRunFlags } from './session-run.js';
import { runSessionWatch, WATCH_INTERVAL_MS, type SessionWatchFlags } from './session-watch.js';

const ACTIONS = ['add', 'run', 'list', 'watch', 'cancel'] as const;

const EXIT_CODES = `Exit codes: 0 ok, 1 other failure, 2 usage (or no such session or task), 3 HTTP error, 4 network,
5 timeout, 6 integrity (run, watch: the first failed task's kind), ${SESSION_LOCKED_EXIT} the session is locked by a
running \`run\` (add, run, cancel), 130 Ctrl-C, 141 stdout closed (run, watch), 143 SIGTERM, 129 SIGHUP.`;

const SESSION_HELP = `
A session is a named, persistent queue of downloads: tasks survive the process, a run that is
interrupted (Ctrl-C, a crash, a reboot) resumes where it stopped, and one process at a time runs it.

Examples:
  $ rxtransfer session backup add https://example.com/big.iso -o big.iso
  $ rxtransfer session backup add https://example.com/small.zip -o downloads/ --priority 5
  $ rxtransfer session backup run                 # run the queue; Ctrl-C, then run again to resume
  $ rxtransfer session backup run --max-concurrent 2 --json
  $ rxtransfer session backup list
  $ rxtransfer session backup watch               # from another terminal, while run is running
  $ rxtransfer session backup cancel <task-id>

Sessions live in --dir (default $RXTRANSFER_HOME/sessions, else ~/.rxtransfer/sessions).
${EXIT_CODES}`;

const ADD_HELP = `
Persists the task and returns at once: nothing is downloaded until \`run\`. Prints the task's id.

Examples:
  $ rxtransfer session backup add https://example.com/big.iso -o big.iso
  $ rxtransfer session backup add https://example.com/a.tgz -o /data/ --id a --priority 10
  $ rxtransfer session backup add https://example.com/a.tgz --integrity sha256-… --json`;

const RUN_HELP = `
Opens the session as its owner and runs its queued tasks (a bar per running task on a terminal,
plain lines otherwise, --json lines tagged with "taskId"), reports and acknowledges every
completion, and exits when the queue is drained. Ctrl-C stops the transfers, keeps their partial
files and exits 130: the next \`run\` resumes them.

Examples:
  $ rxtransfer session backup run
  $ rxtransfer session backup run --max-concurrent 8 --max-per-host 4 --retry 10
  $ rxtransfer session backup run --json | jq -c 'select(.type != "progress")'

Exit codes: 0 every task completed (cancelled ones do not count), else the code of the first
failed task's kind: 3 HTTP, 4 network, 5 timeout, 6 integrity; ${SESSION_LOCKED_EXIT} the session is already
running elsewhere; 2 no such session; 130 Ctrl-C; 141 stdout closed; 143 SIGTERM; 129 SIGHUP.`;

const LIST_HELP = `
Lists the tasks with their state, progress and file. Reads the session without taking its lock,
so it works while a \`run\` holds it (a download counts as running while the run holds its partial file).

Examples:
  $ rxtransfer session backup list
  $ rxtransfer session backup list --json | jq -r 'select(.state == "failed") | .id'`;

const WATCH_HELP = `
Follows a session another process runs, without disturbing it: only one process may own a
session, so watch polls it read-only (the journal and the partial files) every ${WATCH_INTERVAL_MS} ms and
shows the tasks' progress (bars on a terminal, lines otherwise, --json: a task object each
time one changes). It acknowledges nothing. It waits while nobody runs the session, and exits
when no task is left to run (0, or the first failure's code: started during a run or after it,
the tasks already failed count too) or when the run stops early or the session is deleted (1).

Examples:
  $ rxtransfer session backup watch
  $ rxtransfer session backup watch --json`;

const CANCEL_HELP = `
Cancels a queued or suspended task: it ends as cancelled and its partial file is removed (the
next \`run\` reports it). A task that already ended is left as it is (exit 0).

Examples:
  $ rxtransfer session backup cancel 6f1c…
  $ rxtransfer session backup list --json | jq -r 'select(.state == "queued") | .id' | xargs -n1 rxtransfer session backup cancel`;

/** A whole number >= 1. */
function parsePositive(raw: string): number {
  const value = parseCount(raw);
  if (value < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return value;
}

/** An integer, negative allowed (priorities). */
function parseInteger(raw: string): number {
  const value = Number(raw);
  if (!/^[-+]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) throw new InvalidArgumentError('expected a whole number');
  return value;
}

function common(command: Command): Command {
  return command
    .option('--dir <path>', 'the sessions directory (default $RXTRANSFER_HOME/sessions, else ~/.rxtransfer/sessions)')
    .option('--json', 'print one JSON object per line on stdout, and nothing else there');
}

/** The `session` command for the main program: takes its arguments raw (see {@link runSession}). */
export function sessionCommand(streams: CliStreams, exit: { code: number }): Command {
  return new Command('session')
    .description('<id> add <url> -o FILE | run | list | watch | cancel <task>: background sessions, a named queue of resumable downloads (see session --help)')
    .usage('<id> add <url> -o FILE | run | list | watch | cancel <task>')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_options: unknown, command: Command) => {
      exit.code = await runSession(command.args, streams);
    });
}

/** Runs `rxtransfer session <args…>`; resolves with the exit code. Never throws. */
export async function runSession(args: readonly string[], streams: CliStreams): Promise<number> {
  const json = args.includes('--json');
  const code = { value: ExitCode.ok as number };
  const [id, ...given] = args;
  const rest = optionsAfterAction(given);
  const named = id !== undefined && !id.startsWith('-') && id !== 'help' && checkSessionId(id) === undefined;
  // Usage lines name the session as typed (quoted for a shell when it must be), or `<id>` when it is what is missing or wrong.
  const program = actionsProgram(id ?? '', named ? shellWord(id) : '<id>', streams, code);
  const action = (ACTIONS as readonly string[]).includes(rest[0] ?? '') ? rest[0] : rest.find((a) => (ACTIONS as readonly string[]).includes(a));
  /** The usage line of `what` (an action; undefined: any), for this session or (`anyId`) for `<id>`. */
  const usage = (what: string | undefined, anyId = false) => {
    const head = anyId ? 'rxtransfer session <id>' : program.name();
    const sub = what === undefined ? undefined : program.commands.find((c) => c.name() === what);
    return sub ? `usage: ${head} ${sub.name()} ${sub.usage()}` : `usage: ${head} <${ACTIONS.join('|')}> [options]`;
  };
  try {
    if (id === undefined || id === '-h' || id === '--help' || id === 'help') {
      program.outputHelp({ error: id === undefined });
      return id === undefined ? ExitCode.usage : ExitCode.ok;
    }
    if (id.startsWith('-')) throw new CliError('usage', `the session id comes first; ${usage(action)} (see rxtransfer session --help)`);
    // No action after the id: only options (--dir, --json), or nothing.
    const noAction = rest.length === 0 || rest[0]!.startsWith('-');
    const help = rest.includes('--help') || rest.includes('-h');
    if (noAction && !help && (ACTIONS as readonly string[]).includes(id)) {
      throw new CliError('usage', `the session id is missing (or the action after "${id}"); ${usage(id, true)} (see rxtransfer session --help)`);
    }
    const invalid = checkSessionId(id);
    if (invalid !== undefined && !help) {
      throw new CliError('usage', `invalid session id: ${invalid.replace(/^id /, '')}; ${usage(action)} (see rxtransfer session --help)`);
    }
    if (noAction && !help) throw new CliError('usage', `what to do with session "${id}"? ${ACTIONS.join(', ')}; ${usage(undefined)} (see ${program.name()} --help)`);
    if (rest[0] === '-h' || rest[0] === '--help') {
      program.outputHelp();
      return ExitCode.ok;
    }
    if ((ACTIONS as readonly string[]).includes(id) && !(ACTIONS as readonly string[]).includes(rest[0]!)) {
      throw new CliError('usage', `the session id comes first; ${usage(id, true)} (see rxtransfer session --help)`);
    }
    await program.parseAsync([...rest], { from: 'user' });
    return code.value;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      if (error.code === 'commander.help') return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      const known = error.code === 'commander.unknownCommand' ? undefined : action;
      const message = new CliError('usage', `${withoutSecrets(error.message.replace(/^error:\s*/, '').replace(/\.$/, ''))}; ${withoutSecrets(usage(known))} (see ${program.name()} ${known ? `${known} ` : ''}--help)`);
      reportSessionError(streams, message, json);
      return ExitCode.usage;
    }
    const shown = error instanceof TypeError ? new CliError('usage', error.message) : error;
    reportSessionError(streams, shown, json);
    return sessionExitCode(shown);
  }
}

/** `word` as one word for a POSIX shell: as it is when nothing in it is special, else in single quotes. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9._+:@%/=,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Every action takes `--dir <path>` and `--json`: given before the action (`session x --dir D
 * list`), they are moved to just after it, where the action's own parser reads them.
 */
function optionsAfterAction(args: readonly string[]): string[] {
  const moved: string[] = [];
  let at = 0;
  for (; at < args.length; at++) {
    const arg = args[at]!;
    if (arg === '--json' || arg.startsWith('--dir=')) moved.push(arg);
    else if (arg === '--dir' && at + 1 < args.length) moved.push(arg, args[++at]!);
    else break;
  }
  // Right after the action, not at the end: after a `--` they would be operands.
  return at < args.length ? [args[at]!, ...moved, ...args.slice(at + 1)] : moved;
}

/** The actions, as a program of their own named `rxtransfer session <id>` (for the help's usage lines). */
function actionsProgram(id: string, shown: string, streams: CliStreams, code: { value: number }): Command {
  const program = new Command(`rxtransfer session ${shown}`)
    .description('background sessions: named, persistent, resumable download queues')
    .usage('<command> [options]')
    .helpOption('-h, --help', 'show help')
    .helpCommand(false)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
      outputError: () => undefined,
    })
    .addHelpText('after', SESSION_HELP);

  common(
    program
      .command('add')
      .description('add a download to the session (persisted before it returns); prints the task id')
      .argument('<url>', 'http:// or https:// URL to download')
      .option('-o, --output <path>', "the file to write, or a directory to write into (an existing one, or a path ending in '/'); default: the URL's name here")
      .option('--priority <n>', 'higher runs first (default 0)', parseInteger)
      .option('--id <task>', 'the task id (default: a random one); adding an id that exists changes nothing')
      .option('-H, --header <header>', "add a request header 'Name: value' (repeatable; stored with the task)", collectHeader)
      .option('--integrity <sri>', 'expected digest, e.g. sha256-<base64>, checked before the task completes')
      .option('-f, --force', 'replace the file if it exists when the task runs (refused otherwise)'),
  )
    .addHelpText('after', ADD_HELP)
    .action(async (url: string, flags: SessionAddFlags) => {
      code.value = await runSessionAdd(id, url, flags, streams);
    });

  common(
    program
      .command('run')
      .description('run the queued tasks until the queue is drained, acknowledging what finished')
      .option('--max-concurrent <n>', 'tasks running at once (default 4)', parsePositive)
      .option('--max-per-host <n>', 'tasks running at once against one host:port (default 2)', parsePositive)
      .option('--retry <n>', 'retries of each transfer: network errors, connect/idle timeouts, short bodies, 408/429/500/502/503/504 (default 5)', parseCount)
      .option('--timeout <s>', 'give up a transfer after S seconds in total', parseSeconds)
      .option('--idle-timeout <s>', 'give up a transfer when no byte moves for S seconds (default 60)', parseSeconds)
      .option('--connect-timeout <s>', 'give up when connecting takes over S seconds (default 30)', parseSeconds)
      .option('-q, --quiet', 'no bars or summaries; errors only'),
  )
    .addHelpText('after', RUN_HELP)
    .action(async (flags: SessionRunFlags) => {
      code.value = await runSessionRun(id, flags, streams);
    });

  common(program.command('list').description('list the tasks: state, progress, file (works while the session runs)'))
    .addHelpText('after', LIST_HELP)
    .action(async (flags: SessionCommonFlags) => {
      code.value = await runSessionList(id, flags, streams);
    });

  common(
    program
      .command('watch')
      .description('follow the session while another process runs it (read-only)')
      .option('-q, --quiet', 'no bars or lines; failures only'),
  )
    .addHelpText('after', WATCH_HELP)
    .action(async (flags: SessionWatchFlags) => {
      code.value = await runSessionWatch(id, flags, streams);
    });

  common(program.command('cancel').description('cancel a task: it ends as cancelled, its partial file removed').argument('<task>', 'the task id (see list)'))
    .addHelpText('after', CANCEL_HELP)
    .action(async (task: string, flags: SessionCommonFlags) => {
      code.value = await runSessionCancel(id, task, flags, streams);
    });

  return program;
}
