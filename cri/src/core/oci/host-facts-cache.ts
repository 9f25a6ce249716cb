/** The host facts a container spec needs, read once per process (they do not change). */
import { realHostFacts } from "./host-facts.js";

interface CachedFacts {
  appArmor: boolean;
  selinux: boolean;
  capLastCap: number;
}

let cached: Promise<CachedFacts> | undefined;

export function hostFacts(): Promise<CachedFacts> {
  cached ??= (async () => {
    const facts = realHostFacts();
    return {
      appArmor: await facts.appArmorEnabled(),
      selinux: await facts.selinuxEnabled(),
      capLastCap: await facts.capLastCap(),
    };
  })();
  return cached;
}
