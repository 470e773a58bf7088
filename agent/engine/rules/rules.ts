// Loads and validates a rules directory (rules/README.md): every `*.yaml` file, ids unique, list references resolved.
import path from 'node:path';
import { ConfigError } from '../config-error.js';
import { listYamlFiles, readConfigText } from '../config-file.js';
import { listRefs, parseRuleFile, type MatchNode, type RuleDef } from './rule-schema.js';
import { isRole, ROLE_NAMES } from '../site/roles.js';
import { parseYamlTree } from '../yaml-tree.js';

export interface RuleSet {
  rules: RuleDef[];
  /** Named lists declared in rule files (defaults a site's `lists:` may replace). */
  lists: Record<string, string[]>;
  files: string[];
}

export interface RuleValidation {
  files: string[];
  rules: number;
  errors: ConfigError[];
}

/** Parse rule files given as text (tests, `rules test`); returns the set and every error found. */
export function parseRuleTexts(files: { file: string; text: string }[]): {
  set: RuleSet;
  errors: ConfigError[];
} {
  const set: RuleSet = { rules: [], lists: {}, files: files.map((f) => f.file) };
  const errors: ConfigError[] = [];
  const listLines = new Map<string, string>();
  const ids = new Map<string, RuleDef>();
  for (const { file, text } of files) {
    let parsed;
    try {
      parsed = parseRuleFile(parseYamlTree(text, file), file, path.basename(file));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      errors.push(err);
      continue;
    }
    errors.push(...parsed.errors);
    for (const [name, l] of Object.entries(parsed.lists)) {
      const prev = listLines.get(name);
      if (prev) {
        errors.push(new ConfigError(file, l.line, `lists.${name}: already defined at ${prev}`));
        continue;
      }
      listLines.set(name, `${file}:${l.line}`);
      set.lists[name] = l.values;
    }
    for (const r of parsed.rules) {
      const prev = ids.get(r.id);
      if (prev) {
        errors.push(
          new ConfigError(
            file,
            r.line,
            `rule ${r.id}: field id: duplicate, first defined at ${prev.file}:${prev.line}`,
          ),
        );
        continue;
      }
      ids.set(r.id, r);
      set.rules.push(r);
    }
  }
  for (const r of set.rules) {
    for (const ref of listRefs(r.match)) {
      if (!(ref.list in set.lists)) {
        errors.push(
          new ConfigError(
            r.file,
            ref.line,
            `rule ${r.id}: field match: list "${ref.list}" is not declared under lists: in any rule file`,
          ),
        );
      }
    }
  }
  errors.push(...roleErrors(set));
  errors.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return { set, errors };
}

/** Role values a rule compares `src/dst.asset_role` with, literal or through a list, must be roles of the vocabulary. */
function roleErrors(set: RuleSet): ConfigError[] {
  const errors: ConfigError[] = [];
  const checkedLists = new Set<string>();
  const walk = (r: RuleDef, n: MatchNode): void => {
    if (n.kind === 'all' || n.kind === 'any') for (const i of n.items) walk(r, i);
    else if (n.kind === 'not') walk(r, n.item);
    else if (n.path.endsWith('.asset_role')) {
      for (const op of n.ops) {
        const values =
          op.op === 'equals'
            ? [String(op.value)]
            : 'operand' in op && op.operand.kind === 'values'
              ? op.operand.values.map(String)
              : [];
        for (const v of values)
          if (!isRole(v))
            errors.push(
              new ConfigError(
                r.file,
                n.line,
                `rule ${r.id}: field match.${n.path}: unknown role "${v}" (known roles: ${ROLE_NAMES.join(', ')})`,
              ),
            );
        if ('operand' in op && op.operand.kind === 'list' && !checkedLists.has(op.operand.list)) {
          checkedLists.add(op.operand.list);
          for (const v of set.lists[op.operand.list] ?? [])
            if (!isRole(v))
              errors.push(
                new ConfigError(
                  r.file,
                  op.operand.line,
                  `rule ${r.id}: list ${op.operand.list}: unknown role "${v}" (known roles: ${ROLE_NAMES.join(', ')})`,
                ),
              );
        }
      }
    }
  };
  for (const r of set.rules) if (r.match) walk(r, r.match);
  return errors;
}

function readDir(dir: string): { file: string; text: string }[] {
  return listYamlFiles(dir).map((file) => ({ file, text: readConfigText(file) }));
}

/** Every error of a rules directory (empty when valid). */
export function validateRules(dir: string): ConfigError[] {
  try {
    return parseRuleTexts(readDir(dir)).errors;
  } catch (err) {
    if (err instanceof ConfigError) return [err];
    throw err;
  }
}

/** For `wardwatch rules validate [DIR]`: files read, rule count, errors (exit 2 when any). */
export function validateRulesDir(dir: string): RuleValidation {
  try {
    const files = readDir(dir);
    const { set, errors } = parseRuleTexts(files);
    return { files: files.map((f) => f.file), rules: set.rules.length, errors };
  } catch (err) {
    if (err instanceof ConfigError) return { files: [], rules: 0, errors: [err] };
    throw err;
  }
}

/** Load a rules directory; throws the first ConfigError ('FILE:LINE: rule ID: field F: reason'). */
export function loadRules(dir: string): RuleSet {
  const files = readDir(dir);
  if (files.length === 0) throw new ConfigError(dir, 0, 'no rule files (*.yaml) found');
  const { set, errors } = parseRuleTexts(files);
  const first = errors[0];
  if (first) throw first;
  return set;
}
