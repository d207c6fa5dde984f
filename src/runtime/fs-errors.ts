// Why a file could not be read, in words a user understands ("no such file", not ENOENT).

export function describeFsError(err: unknown, hints: { EACCES?: string } = {}): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
      return hints.EACCES ?? "permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return code ?? "unreadable";
  }
}
