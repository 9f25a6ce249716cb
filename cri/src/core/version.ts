/** Skiff's version (kept equal to package.json's by a unit test) and the CRI version served. */
export const skiffVersion = "0.1.0";
export const runtimeName = "skiff";
export const criApiVersion = "v1";
/** VersionResponse.version: the kubelet runtime API version, "0.1.0" for every CRI v1 runtime. */
export const kubeletRuntimeApiVersion = "0.1.0";
