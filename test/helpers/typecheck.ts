// Type-checks a code example from the docs as if it were a file of this package: the file exists
// only in memory, inside the repository, so that `modelhaul/...` imports resolve to the package's
// own exports (dist/, built by `npm test`) and `electron` to its real typings.
import type { CompilerOptions } from 'typescript';

/** The compiler's messages for `code` kept at `file` (a path inside the repository); none when it type-checks. */
export async function typeErrorsOf(file: string, code: string, options: CompilerOptions): Promise<string[]> {
  const { default: ts } = await import('typescript');
  const all: CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    ...options,
  };
  const host = ts.createCompilerHost(all);
  const disk = ts.createCompilerHost(all);
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, code, language) : disk.getSourceFile(name, language, ...rest));
  host.fileExists = (name) => name === file || disk.fileExists(name);
  host.readFile = (name) => (name === file ? code : disk.readFile(name));
  return ts.getPreEmitDiagnostics(ts.createProgram([file], all, host)).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}
