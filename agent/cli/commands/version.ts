import { VERSION } from '../../version.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit.js';

export const version: Command = {
  name: 'version',
  summary: 'print the version',
  description: 'Prints the package version of this pi-agent, one line, nothing else.',
  options: {},
  needsConfig: false,
  async run() {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.OK;
  },
};
