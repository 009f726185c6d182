import { useEffect, useState } from "preact/hooks";

/** The page's path; changes with links the inspector follows itself and with back/forward. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    addEventListener("popstate", onPop);
    addEventListener("oma:navigate", onPop);
    return () => {
      removeEventListener("popstate", onPop);
      removeEventListener("oma:navigate", onPop);
    };
  }, []);
  return path;
}

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, "", path);
  dispatchEvent(new Event("oma:navigate"));
}

/** onClick for an in-page link: plain clicks stay in the page, modified ones open a tab. */
export function follow(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLAnchorElement | null)?.getAttribute("href");
  if (!a) return;
  e.preventDefault();
  navigate(a);
}

export const sessionPath = (id: string) => `/sessions/${encodeURIComponent(id)}`;
