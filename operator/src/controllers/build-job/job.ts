/**
 * The Job that runs one BuildJob: a single pod (backoffLimit 0, restartPolicy Never)
 * running the builder image with the build as arguments, the context mounted at
 * /workspace (ConfigMap or claim) or cloned from git by the builder, the push Secret
 * at /run/skiff/push/config.json, and activeDeadlineSeconds = spec.timeoutSeconds.
 * The builder writes the pushed digest to /dev/termination-log. Pure.
 */
import type { V1Job, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { BuildJob } from "../../apis/v1alpha1/build-job.js";
import type { KubeObject } from "../../framework/kube-api.js";
import { controllerRef } from "../../framework/owner.js";
import { childName, managedBy, type OperatorSettings } from "../settings.js";

export const buildJobLabel = "skiff.dev/buildjob";
export const buildContainer = "build";

export const jobName = (b: BuildJob): string => childName(b.metadata.name, "build");

export function builderArgs(b: BuildJob): string[] {
  const s = b.spec;
  const args = ["build", `--dockerfile=${s.dockerfile}`, `--output=${s.output.image}`];
  if (s.source.git) args.push(`--git=${s.source.git.url}`, `--revision=${s.source.git.revision}`);
  else if (s.source.persistentVolumeClaim)
    args.push(`--context=/workspace/${s.source.persistentVolumeClaim.path}`.replace(/\/\.$/, ""));
  else args.push("--context=/workspace");
  if (s.target) args.push(`--target=${s.target}`);
  for (const p of s.platforms) args.push(`--platform=${p}`);
  for (const [k, v] of Object.entries(s.buildArgs ?? {}).sort(([a], [c]) => a.localeCompare(c)))
    args.push(`--build-arg=${k}=${v}`);
  if (s.cache && s.cache.type !== "None")
    args.push(`--cache=${s.cache.type.toLowerCase()}:${s.cache.ref}`);
  if (s.output.pushSecretRef) args.push("--push-config=/run/skiff/push/config.json");
  args.push("--termination-log=/dev/termination-log");
  return args;
}

export function buildJobObject(b: BuildJob, settings: OperatorSettings): V1Job & KubeObject {
  const s = b.spec;
  const labels = { ...managedBy, [buildJobLabel]: b.metadata.name };
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  if (s.source.configMap) {
    volumes.push({ name: "context", configMap: { name: s.source.configMap.name } });
    mounts.push({ name: "context", mountPath: "/workspace", readOnly: true });
  } else if (s.source.persistentVolumeClaim) {
    volumes.push({
      name: "context",
      persistentVolumeClaim: {
        claimName: s.source.persistentVolumeClaim.claimName,
        readOnly: true,
      },
    });
    mounts.push({ name: "context", mountPath: "/workspace", readOnly: true });
  } else {
    volumes.push({ name: "context", emptyDir: {} });
    mounts.push({ name: "context", mountPath: "/workspace" });
  }
  if (s.output.pushSecretRef) {
    volumes.push({
      name: "push",
      secret: {
        secretName: s.output.pushSecretRef.name,
        items: [{ key: ".dockerconfigjson", path: "config.json" }],
      },
    });
    mounts.push({ name: "push", mountPath: "/run/skiff/push", readOnly: true });
  }
  if (s.cache?.type === "Volume" && s.cache.ref) {
    volumes.push({ name: "cache", persistentVolumeClaim: { claimName: s.cache.ref } });
    mounts.push({ name: "cache", mountPath: "/var/cache/skiff-build" });
  }
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobName(b),
      namespace: b.metadata.namespace,
      labels,
      ownerReferences: [controllerRef(b)],
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: s.timeoutSeconds,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          ...(s.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
          containers: [
            {
              name: buildContainer,
              image: settings.builderImage,
              args: builderArgs(b),
              terminationMessagePath: "/dev/termination-log",
              terminationMessagePolicy: "File",
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}
