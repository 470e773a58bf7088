// The base class of every mistake a user can fix (a bad option, a missing file, a wrong line in a config file).
// bin/ maps it by type to one line on stderr and exit 2; anything else is a bug and says so (issue 12).
// It lives in wire/ because wire is the one leaf both the agent and the collector may import.

/** A mistake in the user's input; `message` is the whole line printed, naming the option, file or line. */
export class UserError extends Error {
  override name = 'UserError';
}
