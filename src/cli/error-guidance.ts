import type { Command } from 'commander';

/**
 * Makes every command, nested ones included, report usage mistakes the same way: through the
 * program's output (so colour and NO_COLOR apply), as a thrown CommanderError that `runCli` turns
 * into exit code 2, and followed by a pointer to the right help page. An unknown command lists
 * the commands there are; commander adds "Did you mean ...?" for a near miss of a command or
 * an option.
 */
export function applyErrorGuidance(program: Command): void {
  const names = program.commands.map((command) => command.name());
  program.showHelpAfterError(`(commands: ${names.join(', ')}; run "${program.name()} --help" for usage and examples)`);
  const visit = (parent: Command, prefix: string): void => {
    for (const command of parent.commands) {
      const path = `${prefix} ${command.name()}`;
      command
        .exitOverride()
        .configureOutput(program.configureOutput())
        .showSuggestionAfterError(true)
        .showHelpAfterError(`(run "${path} --help" for its options and examples)`);
      visit(command, path);
    }
  };
  visit(program, program.name());
}
