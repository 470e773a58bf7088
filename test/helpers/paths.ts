// Where tests find the repository, its fixtures and the shared capture corpus (../shared beside the clone).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(REPO_ROOT, 'fixtures');
export const SHARED_CAPTURES = path.resolve(REPO_ROOT, '../shared/captures');
export const HAVE_SHARED = existsSync(path.join(SHARED_CAPTURES, 'MANIFEST.md'));
/** Reason printed when the shared corpus is absent and conformance suites are skipped. */
export const SHARED_ABSENT = `shared capture corpus not found at ${SHARED_CAPTURES}; conformance tests skipped`;
if (!HAVE_SHARED) console.warn(SHARED_ABSENT);
