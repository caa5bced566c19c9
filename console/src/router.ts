/**
 * Path-based routing under /ui/ with the History API: every page and filter state is a real
 * URL (shareable, reloadable, back/forward work). Links are plain anchors; `navigate` only
 * spares a reload.
 */
import { useEffect, useState } from "preact/hooks";

export const uiBase = "/ui/";

export type Route = { page: "list"; query: URLSearchParams } | { page: "run"; instanceId: string } | { page: "missing" };

export function parseRoute(location: Location): Route {
  const path = location.pathname;
  if (path === "/ui" || path === uiBase) return { page: "list", query: new URLSearchParams(location.search) };
  const run = /^\/ui\/instances\/(.+)$/.exec(path);
  if (run) return { page: "run", instanceId: decodeURIComponent(run[1]!) };
  return { page: "missing" };
}

export function runHref(instanceId: string): string {
  return `${uiBase}instances/${encodeURIComponent(instanceId)}`;
}

const listeners = new Set<() => void>();

export function navigate(href: string, replace = false): void {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  for (const listener of listeners) listener();
}

/** The current route; re-renders on navigate() and on back/forward. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location));
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return route;
}

/** An in-app link: a real anchor, followed without a reload unless modified (new tab, ...). */
export function onLinkClick(event: MouseEvent): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(anchor.getAttribute("href")!);
}
