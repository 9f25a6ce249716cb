/**
 * Jest globalTeardown: after every suite has ended (none can be creating a pod any
 * more), removes skiff-cri's empty default cgroup parent that the e2e daemons made.
 */
import { removeSkiffCgroups } from "./cgroups.js";

export default function globalTeardown(): void {
  removeSkiffCgroups();
}
