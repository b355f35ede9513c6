// Words for a command line a person may copy into a shell: quoted only where a shell would read them otherwise.
const SHELL_PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** `value` as one shell word: as it is when nothing in it is special, else in single quotes. */
export function shellWord(value: string): string {
  return SHELL_PLAIN.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

/** ` --flag value`, shell-quoted; `--flag=value` for a value that begins with a dash, which would read as an option. */
export function flagText(flag: string, value: string): string {
  return value.startsWith('-') ? ` ${flag}=${shellWord(value)}` : ` ${flag} ${shellWord(value)}`;
}
