/** One labelled text input whose value lives in the caller's state (forms and filters). */
export function TextField({
  label,
  testId,
  value,
  onValue,
  type = 'text',
  ...attributes
}: {
  label: string;
  testId: string;
  value: string;
  onValue: (value: string) => void;
  type?: 'text' | 'password' | 'number';
  name?: string;
  autocomplete?: string;
  placeholder?: string;
  required?: boolean;
  min?: string;
}) {
  const common = {
    'data-testid': testId,
    ...attributes,
    value,
    onInput: (e: { currentTarget: HTMLInputElement }) => onValue(e.currentTarget.value),
  };
  // Preact types each input kind apart (a union on `type`), so each gets its own element.
  return (
    <label>
      {label}
      {type === 'password' ? (
        <input type="password" {...common} />
      ) : type === 'number' ? (
        <input type="number" {...common} />
      ) : (
        <input type="text" {...common} />
      )}
    </label>
  );
}
