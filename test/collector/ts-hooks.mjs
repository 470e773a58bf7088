// Node module hooks that let child processes in tests run our TypeScript directly (Node 20 has no type stripping).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const OPTIONS = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2022,
  inlineSourceMap: true,
  verbatimModuleSyntax: false,
};

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
  const out = ts.transpileModule(await readFile(file, 'utf8'), { compilerOptions: OPTIONS, fileName: file });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
