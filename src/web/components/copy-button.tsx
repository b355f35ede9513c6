// Copies a text to the clipboard and says so (visibly, and in the live region).
import { useState } from 'preact/hooks';
import { useSession } from '../state.ts';

export function CopyButton({ text, label = 'Copy', describedBy }: { text: string; label?: string; describedBy?: string }) {
  const { announce } = useSession();
  const [done, setDone] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setDone(true);
      announce(`Copied ${text}`);
      setTimeout(() => setDone(false), 2000);
    } catch {
      announce('Copying is not allowed here: select the text and copy it yourself.');
    }
  }
  return (
    <button type="button" class="secondary" onClick={() => void copy()} aria-describedby={describedBy}>
      {done ? 'Copied ✓' : label}
    </button>
  );
}
