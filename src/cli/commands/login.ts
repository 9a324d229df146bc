import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export interface LoginCommandOptions {
  username?: string;
  passwordStdin?: boolean;
  allowHttp?: boolean;
  json?: boolean;
}

export function registerLogin(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  program
    .command('login')
    .argument('<host>', 'the registry: HOST or HOST:PORT')
    .description('check credentials against an OCI registry and save them in the Docker config file')
    .option('-u, --username <name>', 'user name (asked for on a terminal when not given)')
    .option('--password-stdin', 'read the password or access token from standard input')
    .option('--allow-http', 'talk plain http to a registry that is not on loopback')
    .option('--json', 'print the outcome as one JSON object')
    .addHelpText(
      'after',
      `
The credentials are checked first (a refused password is not saved), then written to
$DOCKER_CONFIG/config.json, else ~/.docker/config.json, under "auths", where docker, oras, helm and
crane find them too. The file is readable by you only.

Examples:
  $ echo "$REGISTRY_TOKEN" | modelhaul login registry.example.com -u ci-bot --password-stdin
  $ modelhaul login 127.0.0.1:5000 -u alice`,
    )
    .action(async (host: string, options: LoginCommandOptions) => {
      const { runLogin } = await import('./login-action.js');
      setExitCode(await runLogin(host, options, context));
    });
}

export function registerLogout(program: Command, context: CliContext, setExitCode: (code: number) => void): void {
  program
    .command('logout')
    .argument('<host>', 'the registry: HOST or HOST:PORT')
    .description('remove the credentials of an OCI registry from the Docker config file')
    .option('--json', 'print the outcome as one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ modelhaul logout registry.example.com`,
    )
    .action(async (host: string, options: { json?: boolean }) => {
      const { runLogout } = await import('./login-action.js');
      setExitCode(await runLogout(host, options, context));
    });
}
