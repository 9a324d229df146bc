import { Command, CommanderError } from 'commander';
import { MODELHAUL_VERSION } from '../version.js';
import { EXIT } from './exit-codes.js';
import type { CliContext } from './context.js';
// Each commands/<name>.ts only defines its command (options, help, examples) and stays cheap to
// load; its action imports commands/<name>-action.ts, and with it the engine, when it runs. So
// `--help` loads commander alone and `status` no network or display code (test/cli-startup.test.ts).
import { registerInstall } from './commands/install.js';
import { registerStatus } from './commands/status.js';
import { registerVerify } from './commands/verify.js';
import { registerDemo } from './commands/demo.js';
import { registerBundles } from './commands/bundles.js';
import { registerGc } from './commands/gc.js';
import { registerRemove } from './commands/remove.js';
import { registerImport } from './commands/import.js';
import { registerManifest } from './commands/manifest.js';
import { registerPush } from './commands/push.js';
import { registerLogin, registerLogout } from './commands/login.js';
import { applyErrorGuidance } from './error-guidance.js';

/**
 * Runs the CLI with `argv` (without node and script) and resolves to the exit code. It never
 * calls process.exit itself, except on a second Ctrl+C during an install.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  let exitCode: number = EXIT.ok;
  const setExitCode = (code: number): void => {
    exitCode = code;
  };
  const program = new Command('modelhaul')
    .description('Install the model files of a local AI app: resumable, verified, atomic.')
    .version(MODELHAUL_VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: context.out,
      writeErr: context.err,
      outputError: (text, write) => write(context.paintErr('red', text)),
    })
    .exitOverride();
  program.addHelpText(
    'after',
    `
Examples:
  $ modelhaul install                         # the built-in voice-assistant bundle
  $ modelhaul install -m models.json -d ./models
  $ modelhaul status -m models.json -d ./models
  $ modelhaul bundles                         # what the built-in bundles hold
  $ modelhaul manifest add URL -m models.json # start a manifest of your own
  $ modelhaul gc -m models.json -d ./models   # what is no longer needed (--yes removes it)
  $ modelhaul push oci://HOST/models/voice:1.0 -m models.json -d ./models
  $ modelhaul install -m oci://HOST/models/voice:1.0 -d ./models
  $ modelhaul help install`,
  );
  for (const register of [registerInstall, registerStatus, registerVerify, registerDemo, registerBundles, registerGc, registerRemove, registerImport, registerManifest, registerPush, registerLogin, registerLogout]) {
    register(program, context, setExitCode);
  }
  applyErrorGuidance(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    throw error;
  }
  return exitCode;
}
