// The tools a scenario compares: rxtransfer and its peers, each as the command line of one
// whole process. `subject` is the tool under test; ratios are taken against it.
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

/**
 * The tools available on this machine. `rxtransferClient` is the file that runs the rxtransfer
 * client (the bundle from build-client.mjs, or clients/rxtransfer.mjs against dist/);
 * `compareClient`, when given, is a second rxtransfer bundle (a patched lib/) measured beside it.
 * Each tool: {name, subject?, reports? (prints the clients/common.mjs result line), argv(mode, url, file)}.
 */
export function availableTools(rxtransferClient, { compareClient } = {}) {
  const node = process.execPath;
  const nodeClient = (file) => (mode, url, path) => [node, file, mode, url, path];
  const tools = [
    { name: 'rxtransfer', subject: true, reports: true, argv: nodeClient(rxtransferClient) },
    ...(compareClient ? [{ name: 'rxtransfer@compare', reports: true, argv: nodeClient(compareClient) }] : []),
    { name: 'node:http', reports: true, argv: nodeClient(join(clients, 'node-http.mjs')) },
    { name: 'axios', reports: true, argv: nodeClient(join(clients, 'axios.mjs')) },
  ];
  if (has('curl')) {
    tools.push({
      name: 'curl',
      argv: (mode, url, path) => (mode === 'download' ? ['curl', '-s', '-f', '-o', path, url] : ['curl', '-s', '-f', '-T', path, url]),
    });
  }
  return tools;
}
