/** Small pieces every page uses: status text, errors, confirmations, payloads. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { ApiError } from "./api";
import { pretty } from "./format";

/** The status as text (never only a colour), with a colour class beside it. */
export function Status({ status }: { status: string }) {
  return <span class={`status status-${status.toLowerCase()}`}>{status}</span>;
}

/** An API error as the API gave it: its errorCode and message. */
export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiError ? `${error.errorCode}: ${error.message}` : error instanceof Error ? error.message : String(error);
  return <p class="error" role="alert">{text}</p>;
}

export function Notice({ text }: { text: string | undefined }) {
  return text ? <p class="notice" role="status">{text}</p> : null;
}

/** A payload: pretty-printed JSON when it is JSON. */
export function Payload({ label, text }: { label: string; text: string | undefined }) {
  if (!text) return null;
  return (
    <section class="payload" aria-label={label}>
      <h3>{label}</h3>
      <pre>{pretty(text)}</pre>
    </section>
  );
}

/**
 * A modal confirmation (the native <dialog>: focus moves into it, Escape cancels). The confirm
 * button is named by the action, so a screen reader says what it will do.
 */
export function Confirm(props: {
  title: string;
  action: string;
  onConfirm: () => void;
  onCancel: () => void;
  children?: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-label={props.title} onCancel={(e) => { e.preventDefault(); props.onCancel(); }}>
      <form method="dialog" onSubmit={(e) => { e.preventDefault(); props.onConfirm(); }}>
        <h2>{props.title}</h2>
        {props.children}
        <div class="buttons">
          <button type="submit" class="danger">{props.action}</button>
          <button type="button" onClick={props.onCancel}>Cancel</button>
        </div>
      </form>
    </dialog>
  );
}
