#!/usr/bin/env node
/**
 * The `leofs` executable: one binary, the role chosen by a flag.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { admCommands } from './adm-command.js';
import { ConfigError } from './config.js';
import { devCommandOptions, runDev } from './dev-command.js';
import { loadNodeConfig, nodeCommandOptions, runNode, type NodeFlags } from './node-command.js';
import { runShell, shellCommandOptions } from './shell-command.js';
import { StoreFormatError } from '../store/store-format.js';

function fail(error: unknown): never {
  if (error instanceof ConfigError || error instanceof StoreFormatError) {
    process.stderr.write(`leofs: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`leofs: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}

await yargs(hideBin(process.argv))
  .scriptName('leofs')
  .command(
    'node',
    'start one node of a cluster (manager, storage or gateway)',
    (args) => nodeCommandOptions(args),
    async (argv) => {
      try {
        await runNode(loadNodeConfig(argv as NodeFlags), { cookieOnCommandLine: argv.cookie !== undefined, ...(typeof argv.restore === 'string' ? { restoreFrom: argv.restore } : {}) });
      } catch (error) {
        fail(error);
      }
    },
  )
  .command(
    'dev',
    'run a whole cluster on this machine: a manager (or several), storage nodes and a gateway on loopback',
    (args) => devCommandOptions(args),
    async (argv) => {
      try {
        await runDev({
          dataDir: String(argv.data),
          managerPort: Number(argv['manager-port']),
          managers: Number(argv.managers),
          storageNodes: Number(argv['storage-nodes']),
          logLevel: String(argv['log-level']),
          httpPort: Number(argv['http-port']),
          metricsPort: Number(argv['metrics-port']),
          ...(argv['nfs-port'] === undefined ? {} : { nfsPort: Number(argv['nfs-port']) }),
          ...(argv['rest-port'] === undefined ? {} : { restPort: Number(argv['rest-port']) }),
          ...(argv['gateway-config'] === undefined ? {} : { gatewayConfig: String(argv['gateway-config']) }),
          ...(argv['storage-config'] === undefined ? {} : { storageConfig: String(argv['storage-config']) }),
          ...(argv['console-port'] === undefined ? {} : { consolePort: Number(argv['console-port']) }),
          ...(argv['traffic-sample-interval-ms'] === undefined ? {} : { trafficSampleIntervalMs: Number(argv['traffic-sample-interval-ms']) }),
        });
      } catch (error) {
        fail(error);
      }
    },
  )
  .command('adm', 'administer a running cluster (the commands of leofs-adm)', (args) => admCommands(args).demandCommand(1, 'name a command, e.g. leofs adm status'))
  .command(
    'shell',
    "the remote actor shell: list nodes and their actors, send an actor a message, follow a node's log, run leofs-adm commands",
    (args) => shellCommandOptions(args),
    async (argv) => {
      try {
        process.exit(await runShell(argv));
      } catch (error) {
        fail(error);
      }
    },
  )
  .demandCommand(1, 'name a command: node, dev, adm or shell')
  .strict()
  .help()
  .parseAsync();
