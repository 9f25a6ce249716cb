/** The host facts a container spec needs, read once per process (they do not change). */
import { realHostFacts } from "./host-facts.js";

let cached: Promise<{ appArmor: boolean; capLastCap: number }> | undefined;

export function hostFacts(): Promise<{ appArmor: boolean; capLastCap: number }> {
  cached ??= (async () => {
    const facts = realHostFacts();
    return { appArmor: await facts.appArmorEnabled(), capLastCap: await facts.capLastCap() };
  })();
  return cached;
}
