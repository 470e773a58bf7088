// The console's calls to the collector API. The session cookie (HttpOnly) travels by itself; writes add the
// session's CSRF token, which lives in this module's memory only (never in storage) and is fetched again on load.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';

export function setCsrf(token: string): void {
  csrf = token;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  const r = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  let json: unknown;
  try {
    json = text === '' ? null : (JSON.parse(text) as unknown);
  } catch {
    throw new ApiError(r.status, `${path}: not JSON (${r.status})`);
  }
  if (!r.ok) {
    const err = (json as { error?: unknown } | null)?.error;
    throw new ApiError(r.status, typeof err === 'string' ? err : `${path}: ${r.status}`);
  }
  return json as T;
}

export const api = {
  get: <T>(path: string): Promise<T> => call<T>('GET', path),
  post: <T>(path: string, body: unknown): Promise<T> => call<T>('POST', path, body),
  del: <T>(path: string): Promise<T> => call<T>('DELETE', path),
};
