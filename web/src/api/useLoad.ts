// How every page loads its data: the answer to an older request never replaces a newer
// one (the user has moved on to another workflow, scope or filter, or left the page), and
// starting a load clears the previous load's error.
import { useCallback, useEffect, useRef, useState, type DependencyList } from "react";

export interface Loaded<T> {
  /** The latest answer; undefined until it arrives, and again once the inputs change. */
  data: T | undefined;
  /** Why the latest load failed, or null. */
  error: unknown;
  loading: boolean;
  /** Loads again; the data already shown stays until the answer arrives. */
  reload: () => Promise<void>;
  /** Loads more onto the data shown (the next page); dropped if another load starts meanwhile. */
  extend: (more: (current: T) => Promise<T>) => Promise<void>;
  /** Changes the data shown without asking the server (a save's answer, an optimistic switch). */
  update: (change: (current: T) => T) => void;
}

interface LoadState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
}

/** Runs `load` whenever `deps` change; `load` may read anything `deps` list. */
export function useLoad<T>(load: () => Promise<T>, deps: DependencyList): Loaded<T> {
  const [state, setState] = useState<LoadState<T>>({ data: undefined, error: null, loading: true });
  // Only the answer to the latest request is shown; each request takes the next number.
  const latest = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const dataRef = useRef(state.data);
  dataRef.current = state.data;

  const run = useCallback(async (request: () => Promise<T>) => {
    const ticket = ++latest.current;
    setState((s) => ({ ...s, error: null, loading: true }));
    try {
      const data = await request();
      if (ticket === latest.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (ticket === latest.current) setState((s) => ({ ...s, error, loading: false }));
    }
  }, []);

  useEffect(() => {
    setState({ data: undefined, error: null, loading: true });
    void run(() => loadRef.current());
    // The inputs changed or the page closed: whatever is still on its way is out of date.
    return () => {
      latest.current += 1;
    };
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps -- the caller lists what `load` reads

  const reload = useCallback(() => run(() => loadRef.current()), [run]);
  const extend = useCallback(
    async (more: (current: T) => Promise<T>) => {
      const current = dataRef.current;
      if (current !== undefined) await run(() => more(current));
    },
    [run],
  );
  const update = useCallback((change: (current: T) => T) => {
    setState((s) => (s.data === undefined ? s : { ...s, data: change(s.data) }));
  }, []);

  return { ...state, reload, extend, update };
}
