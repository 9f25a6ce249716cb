/**
 * WWW-Authenticate challenges (RFC 7235) as registries send them:
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"
 *   Basic realm="Registry Realm"
 * A header may hold several challenges; parameters are token=token or token="quoted".
 */

export interface Challenge {
  /** Lower-cased scheme: "bearer", "basic", ... */
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const texts = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const text of texts) {
    let i = 0;
    let current: Challenge | undefined;
    const skipSpace = (): void => {
      while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
    };
    const token = (): string => {
      const start = i;
      while (i < text.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(text[i]!)) i++;
      return text.slice(start, i);
    };
    while (i < text.length) {
      skipSpace();
      if (text[i] === ",") {
        i++;
        continue;
      }
      const word = token();
      if (word === "") {
        i++;
        continue;
      }
      skipSpace();
      if (text[i] === "=") {
        i++;
        skipSpace();
        let value = "";
        if (text[i] === '"') {
          i++;
          while (i < text.length && text[i] !== '"') {
            if (text[i] === "\\" && i + 1 < text.length) i++;
            value += text[i];
            i++;
          }
          i++;
        } else {
          const start = i;
          while (i < text.length && text[i] !== "," && text[i] !== " ") i++;
          value = text.slice(start, i);
        }
        if (current !== undefined) current.params[word.toLowerCase()] = value;
      } else {
        current = { scheme: word.toLowerCase(), params: {} };
        out.push(current);
      }
    }
  }
  return out;
}
