// Node module hooks that let child processes in tests run our TypeScript directly (Node 20 has no type stripping).
// Transpiles with oxc through rolldown (vitest's own toolchain, fast to load); falls back to typescript.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

let transpile;
try {
  const { transformSync } = await import('rolldown/experimental');
  transpile = (file, source) => {
    const r = transformSync(file, source, { sourcemap: false });
    if (r.errors.length > 0) throw new Error(`${file}: ${r.errors.map((e) => e.message).join('; ')}`);
    return r.code;
  };
} catch {
  const ts = (await import('typescript')).default;
  const compilerOptions = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 };
  transpile = (file, source) => ts.transpileModule(source, { compilerOptions, fileName: file }).outputText;
}

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    // NodeNext sources import "./x.js" for "./x.ts".
    if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('file:'))) {
      return next(`${specifier.slice(0, -3)}.ts`, context);
    }
    throw e;
  }
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  return { format: 'module', source: transpile(file, await readFile(file, 'utf8')), shortCircuit: true };
}
