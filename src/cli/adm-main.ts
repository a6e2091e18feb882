#!/usr/bin/env node
/**
 * The `leofs-adm` executable: LeoFS's administration commands against a running cluster's manager.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { admCommands } from './adm-command.js';

try {
  await admCommands(yargs(hideBin(process.argv)).scriptName('leofs-adm'))
    .demandCommand(1, 'name a command, e.g. leofs-adm status')
    .strict()
    .help()
    .parseAsync();
} catch (error) {
  process.stderr.write(`leofs-adm: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
