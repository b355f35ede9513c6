// An error shown under the field it concerns; the field points at it with aria-describedby.
export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (message === undefined) return null;
  return (
    <p class="field-error" id={id} role="alert">
      {message}
    </p>
  );
}

/** The attributes that tie an input to its error message. */
export function invalidProps(id: string, message: string | undefined, hint?: string) {
  const described = [message === undefined ? null : id, hint ?? null].filter((x) => x !== null).join(' ');
  return { 'aria-invalid': message === undefined ? undefined : ('true' as const), 'aria-describedby': described === '' ? undefined : described };
}
