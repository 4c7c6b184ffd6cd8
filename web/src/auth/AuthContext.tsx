import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { accounts } from "../api/resources";
import { getToken, onSessionExpired, setToken } from "../api/session";
import type { User } from "../api/types";

interface AuthValue {
  user: User | null;
  /** True until the stored token has been checked. */
  loading: boolean;
  signIn: (email: string, password: string) => Promise<void>;
  signUp: (email: string, password: string, name: string) => Promise<void>;
  signOut: () => void;
  expired: boolean;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [loading, setLoading] = useState(() => getToken() !== null);
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    if (!getToken()) return;
    accounts
      .me()
      .then(setUser)
      .catch(() => setToken(null))
      .finally(() => setLoading(false));
  }, []);

  useEffect(
    () =>
      onSessionExpired(() => {
        setToken(null);
        setUser(null);
        setExpired(true);
      }),
    [],
  );

  const signIn = useCallback(async (email: string, password: string) => {
    const answer = await accounts.login({ email, password });
    setToken(answer.access_token);
    setExpired(false);
    setUser(answer.user);
  }, []);

  const signUp = useCallback(
    async (email: string, password: string, name: string) => {
      await accounts.register({ email, password, name: name || null });
      await signIn(email, password);
    },
    [signIn],
  );

  const signOut = useCallback(() => {
    setToken(null);
    setUser(null);
  }, []);

  const value = useMemo(
    () => ({ user, loading, signIn, signUp, signOut, expired }),
    [user, loading, signIn, signUp, signOut, expired],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}
