// The tools a scenario compares: rxtransfer and its peers, each as the command line of one
// whole process. `subject` marks rxtransfer itself; ratios are rxtransfer ÷ tool.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const clients = join(dirname(fileURLToPath(import.meta.url)), 'clients');

function has(command) {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function resolvable(name) {
  try {
    execFileSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(name)})`], { cwd: join(clients, '..', '..', '..'), stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The tools of the benchmark. `rxtransferClient` runs the rxtransfer client (the
 * bundle from build-client.mjs, or clients/rxtransfer.mjs against dist/); `microClient` the
 * microbenchmarks; `compareClient`/`compareMicro`, when given, a patched lib/ measured beside it.
 * Each tool: {name, subject?, reports (prints the clients/common.mjs result line), kinds,
 * argv(scenario, url, file)}; a peer this machine lacks (got, undici, curl) is listed as
 * {name, unavailable: why}, so that the runner can say what it leaves out (notRun()).
 */
export function availableTools({ rxtransferClient, microClient, compareClient, compareMicro }) {
  const node = process.execPath;
  const lanes = (s) => `${s.count}x${s.inflight}`;
  const transfer = (file, extra = []) => (s, url, path) => [node, file, s.kind, url, ...(s.kind === 'small' ? [lanes(s)] : s.kind === 'files' ? [path, lanes(s)] : [path]), ...extra];
  const micro = (file, suffix = '') => (s) => [node, file, s.variant + suffix, String(s.count)];
  const tools = [
    { name: 'rxtransfer', subject: true, argv: transfer(rxtransferClient) },
    { name: 'rxtransfer progress off', argv: transfer(rxtransferClient, ['--progress', 'off']) },
    // Scenario 7: the subject is the session; its peer, plain `download(url, { to })` from the same bundle.
    { name: 'rxtransfer session', subject: true, argv: transfer(rxtransferClient, ['--session']) },
    { name: 'rxtransfer durable off', argv: transfer(rxtransferClient, ['--durable', 'off']) },
    { name: 'rxtransfer durable & progress off', argv: transfer(rxtransferClient, ['--durable', 'off', '--progress', 'off']) },
    { name: 'node:http', argv: transfer(join(clients, 'node-http.mjs')) },
    { name: 'node:http + rxjs/axios loaded', argv: transfer(join(clients, 'node-http.mjs'), ['--load-peers']) },
    { name: 'axios', argv: transfer(join(clients, 'axios.mjs')) },
    { name: 'axios + rxjs loaded', argv: transfer(join(clients, 'axios.mjs'), ['--load-peers']) },
    { name: 'rxtransfer pipeline', subject: true, argv: micro(microClient) },
    { name: 'bare Subject', argv: micro(microClient, '-bare') },
    { name: 'toEap→fromEap', subject: true, argv: micro(microClient) },
    { name: 'bare transfer', argv: micro(microClient, '-bare') },
  ];
  if (compareClient) {
    tools.push({ name: 'rxtransfer@compare', compare: true, argv: transfer(compareClient) });
    tools.push({ name: 'rxtransfer session@compare', compare: true, argv: transfer(compareClient, ['--session']) });
    tools.push({ name: 'rxtransfer pipeline@compare', compare: true, argv: micro(compareMicro) });
    tools.push({ name: 'toEap→fromEap@compare', compare: true, argv: micro(compareMicro) });
  }
  const missing = (name) => ({ name, unavailable: `not installed (npm install --save-dev ${name})` });
  tools.push(resolvable('got') ? { name: 'got', argv: transfer(join(clients, 'got.mjs')) } : missing('got'));
  tools.push(resolvable('undici') ? { name: 'undici', argv: transfer(join(clients, 'undici.mjs')) } : missing('undici'));
  tools.push(
    has('curl')
      ? {
          name: 'curl',
          external: true,
          argv: (s, url, path) => (s.kind === 'download' ? ['curl', '-s', '-f', '-o', path, url] : ['curl', '-s', '-f', '-T', path, url]),
        }
      : { name: 'curl', unavailable: 'not found on PATH' },
  );
  for (const tool of tools) tool.reports ??= !tool.external;
  return tools;
}

/** The tools of a scenario that run here (a compare tool follows the subject it shadows). */
export function toolsFor(scenario, tools) {
  const names = [...scenario.tools];
  const subject = names[0];
  const shadow = tools.find((t) => t.compare && t.name === `${subject}@compare`);
  if (shadow) names.splice(1, 0, shadow.name);
  return names.map((n) => tools.find((t) => t.name === n)).filter((t) => t && !t.unavailable && !t.unwanted);
}

/** The tools of a scenario that cannot run here, and why: [{tool, reason}] (not those `unwanted`: left out by --tools). */
export function notRun(scenario, tools) {
  return scenario.tools
    .map((name) => ({ name, tool: tools.find((t) => t.name === name) }))
    .filter(({ tool }) => !tool || (tool.unavailable && !tool.unwanted))
    .map(({ name, tool }) => ({ tool: name, reason: tool ? tool.unavailable : 'no such tool in tools.mjs' }));
}
