/**
 * The `rxtransfer` command line: commander parses, the commands run on the public API
 * (`rxtransfer` and `rxtransfer/node`), and every path ends in an exit code (CONTRACT §5).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { collectHeader, parseCount, parseSeconds, withoutSecrets } from './arguments.js';
import { parsePort, runDemo, type DemoFlags } from './demo-command.js';
import { CliError, ExitCode } from './exit-codes.js';
import { runGet, type GetFlags } from './get-command.js';
import { printError, writeJsonLine, jsonError, type CliStreams } from './output.js';
import { runPut, type PutFlags } from './put-command.js';
import { sessionCommand } from './session-command.js';

const GET_EXAMPLES = `
Examples:
  $ rxtransfer get https://example.com/big.iso
  $ rxtransfer get https://example.com/big.iso -o /tmp/     # into a directory
  $ rxtransfer get https://example.com/big.iso --resume     # after Ctrl-C: continue big.iso.partial
  $ rxtransfer get 'https://example.com/dl?id=7' --content-disposition --retry 3
  $ rxtransfer get https://example.com/a.json -H "Authorization: Bearer $TOKEN" --json | jq .type

Exit codes: 0 ok, 1 local failure (the disk, or stdout could not be written), 2 usage or file exists, 3 HTTP error, 4 network, 5 timeout, 6 integrity, 130 Ctrl-C, 141 stdout closed, 143 SIGTERM, 129 SIGHUP.`;

const PUT_EXAMPLES = `
Examples:
  $ rxtransfer put ./report.pdf https://example.com/files/report.pdf
  $ rxtransfer put ./report.pdf https://example.com/files/      # a path ending in /: the file's name is added
  $ rxtransfer put ./photo.jpg https://example.com/upload --method POST -H 'Content-Type: image/jpeg'
  $ rxtransfer put ./data.bin https://example.com/up --json

Exit codes: 0 ok, 1 the file changed size or could no longer be read while it was sent (or stdout could not be written), 2 usage (or the file cannot be read), 3 HTTP error, 4 network, 5 timeout, 6 integrity (a response cut short), 130 Ctrl-C, 141 stdout closed, 143 SIGTERM, 129 SIGHUP.`;

const DEMO_EXAMPLES = `
Examples:
  $ rxtransfer demo                      # the tour in the terminal: a few seconds, exits 0
  $ rxtransfer demo --web                # the browser demo on http://127.0.0.1:<free port>/
  $ rxtransfer demo --web --port 8080 --no-open

Exit codes: 0 every step did what it shows, 1 one did not, 2 usage (or the port is taken), 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP.`;

const MAIN_EXAMPLES = `
Examples:
  $ rxtransfer get https://example.com/big.iso
  $ rxtransfer put ./big.iso https://example.com/upload/big.iso
  $ rxtransfer demo                  # everything, against an embedded loopback server
  $ rxtransfer get --help`;

/** The package version, read from the package.json above this file; `0.0.0` when not found. */
function packageVersion(): string {
  const start = typeof __dirname === 'string' ? __dirname : dirname(process.argv[1] ?? '.');
  for (let dir = start, i = 0; i < 6; dir = dirname(dir), i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'rxtransfer' && pkg.version) return pkg.version;
    } catch {
      // keep looking upward
    }
  }
  return '0.0.0';
}

/** Options every transfer command shares. */
function addTransferOptions(command: Command): Command {
  return command
    .option('-H, --header <header>', "add a request header 'Name: value' (repeatable)", collectHeader)
    .option('--retry <n>', 'retry network errors, connect/idle timeouts, short bodies and 408/429/500/502/503/504 up to N times, with backoff', parseCount)
    .option('--timeout <s>', 'give up after S seconds in total', parseSeconds)
    .option('--idle-timeout <s>', 'give up when no byte moves for S seconds (default 60)', parseSeconds)
    .option('--connect-timeout <s>', 'give up when connecting takes over S seconds (default 30)', parseSeconds)
    .option('--json', 'print one JSON object per line on stdout: each progress event, then done or error')
    .option('-q, --quiet', 'no progress bar or summary; errors only');
}

/**
 * Builds the program. Actions store their exit code in `exit.code`; commander's own usage
 * errors are thrown (exitOverride) and mapped to 2 by {@link runCli}.
 */
export function createProgram(streams: CliStreams, exit: { code: number }): Command {
  const program = new Command('rxtransfer')
    .description('HTTP transfers with progress, resume, retries and safe file names (rxtransfer).')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
      outputError: () => undefined, // runCli prints usage errors as one line
    })
    .addHelpText('after', MAIN_EXAMPLES);

  const get = program
    .command('get')
    .description('download a URL to a file, with a progress bar on a terminal')
    .argument('<url>', 'http:// or https:// URL to download')
    .option('-o, --output <path>', "write to this file, or into this directory (an existing one, or a path ending in '/')")
    .option('--resume', "continue the '<file>.partial' an interrupted run left (Range + If-Range), or, with none, keep a <file> the server says is complete (as curl -C -); may replace <file>")
    .option('-f, --force', 'replace the file if it exists (never replaced otherwise)')
    .option('-J, --content-disposition', "name the file from the response's Content-Disposition header (ignored with -o FILE)")
    .option('--integrity <sri>', 'expected digest, e.g. sha256-<base64>; a mismatch exits 6 and keeps nothing');
  addTransferOptions(get)
    .addHelpText('after', GET_EXAMPLES)
    .action(async (url: string, flags: GetFlags) => {
      exit.code = await runGet(url, flags, streams);
    });

  const put = program
    .command('put')
    .description('upload a file (streamed from disk) to a URL, with a progress bar on a terminal')
    .argument('<file>', 'file to send')
    .argument('<url>', "http:// or https:// URL to send it to (a path ending in '/' gets the file's name, as curl -T)")
    .option('-X, --method <method>', 'HTTP method: PUT or POST', 'PUT')
    .option('--no-expect', 'send the file at once, without Expect: 100-continue (sent for files over 1 MiB, so that a refusal comes before the body)');
  addTransferOptions(put)
    .addHelpText('after', PUT_EXAMPLES)
    .action(async (file: string, url: string, flags: PutFlags) => {
      exit.code = await runPut(file, url, flags, streams);
    });

  program
    .command('demo')
    .description('a tour of rxtransfer against an embedded loopback server (what `npm start` runs); --web: the browser demo')
    .option('--web', 'serve the browser demo page on 127.0.0.1 until Ctrl-C, and print its URL')
    .option('--port <n>', 'with --web: the port to listen on (default: a free one)', parsePort)
    .option('--no-open', 'with --web: do not open a browser')
    .addHelpText('after', DEMO_EXAMPLES)
    .action(async (flags: DemoFlags) => {
      exit.code = await runDemo(flags, streams);
    });

  program.addCommand(sessionCommand(streams, exit));

  return program;
}

/** Runs the command line with `argv` (without `node` and the script); resolves with the exit code. */
export async function runCli(argv: readonly string[], streams: CliStreams): Promise<number> {
  const exit = { code: ExitCode.ok as number };
  const program = createProgram(streams, exit);
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return ExitCode.usage;
    }
    // `help session` is `session --help`: the stub the main program holds for `session` has no help of its own.
    const args = argv[0] === 'help' && argv[1] === 'session' ? ['session', ...argv.slice(2), '--help'] : argv;
    await program.parseAsync([...args], { from: 'user' });
    return exit.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      if (error.code === 'commander.help') return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      const usage = new CliError('usage', `${withoutSecrets(error.message.replace(/^error:\s*/, ''))} (see rxtransfer ${commandName(argv)}--help)`);
      if (argv.includes('--json')) writeJsonLine(streams, jsonError(usage));
      printError(streams, usage);
      return ExitCode.usage;
    }
    printError(streams, error);
    return ExitCode.failure;
  }
}

function commandName(argv: readonly string[]): string {
  const first = argv.find((a) => !a.startsWith('-'));
  return first === 'get' || first === 'put' || first === 'demo' ? `${first} ` : '';
}
