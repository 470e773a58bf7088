// What a --db value is (a PostgreSQL URL or a SQLite path) and how it may be logged: apart from the stores, so
// that the CLI can check options without loading either database driver.

/** True when `db` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(db);
}

/** The --db value fit for a log line: a URL's password replaced by `***`. */
export function redactDb(db: string): string {
  if (!isPostgresUrl(db)) return db;
  try {
    const u = new URL(db);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
