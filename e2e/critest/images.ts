/**
 * Every image critest v1.37.0 pulls, built offline under its original name: busybox
 * layers (Debian's dynamic busybox, fetched with apt-get download, with its libraries
 * and all its applets linked), and one small static C
 * program (compiled here with gcc -static) that is a web server when named nginx, prints
 * its effective uid when named nonewprivs, and sleeps when named pause. The users,
 * groups, tags and files follow what pkg/validate checks (consts*.go, image.go,
 * security_context_linux.go, networking*.go, multi_container_linux.go, image_volume.go).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TarEntry } from "../../cri/src/core/archive/tar-writer.js";
import { buildImage, buildLayer, pushImage, type BuiltImage } from "../harness/images.js";
import type { TestRegistry } from "../harness/registry.js";

/** One tool, three behaviours chosen by argv[0]'s basename. */
const toolSource = String.raw`
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void bye(int sig) { (void)sig; _exit(0); }

int main(int argc, char **argv) {
  const char *name = strrchr(argv[0], '/');
  name = name ? name + 1 : argv[0];
  signal(SIGTERM, bye);
  signal(SIGINT, bye);
  if (strcmp(name, "nonewprivs") == 0) {
    printf("Effective uid: %d\n", (int)geteuid());
    return 0;
  }
  if (strcmp(name, "pause") == 0) {
    for (;;) pause();
  }
  int port = argc > 1 ? atoi(argv[1]) : 80;
  /* nginx's process title, which a spec looks for in /proc/1/cmdline. */
  char *end = argv[argc - 1] + strlen(argv[argc - 1]);
  const char *title = "nginx: master process nginx";
  fprintf(stderr, "%s: listening on port %d\n", name, port);
  if (strcmp(name, "nginx") == 0 && (size_t)(end - argv[0]) > strlen(title)) {
    memset(argv[0], 0, (size_t)(end - argv[0]));
    strcpy(argv[0], title);
  }
  FILE *pidfile = fopen("/var/run/nginx.pid", "w");
  if (pidfile) { fprintf(pidfile, "%d\n", (int)getpid()); fclose(pidfile); }
  signal(SIGPIPE, SIG_IGN);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(s, 64) != 0) {
    perror("listen");
    return 1;
  }
  const char *page = "<html><body><h1>Welcome to nginx!</h1></body></html>\n";
  char head[256];
  int headlen = snprintf(head, sizeof head,
      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
      strlen(page));
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    char buf[4096];
    ssize_t n = read(c, buf, sizeof buf);
    (void)n;
    if (write(c, head, (size_t)headlen) > 0) (void)!write(c, page, strlen(page));
    close(c);
  }
}
`;

/** Compiles the tool once; returns its bytes. */
function compileTool(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "skiff-critest-cc-"));
  try {
    writeFileSync(join(dir, "tool.c"), toolSource);
    const out = join(dir, "tool");
    const r = spawnSync("gcc", ["-static", "-O2", "-s", "-o", out, join(dir, "tool.c")], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`gcc -static failed:\n${r.stderr}`);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Debian's dynamic busybox, not the host's busybox-static: the static build's shell runs
 * applets in-process (FEATURE_SH_STANDALONE), so a masked /bin/ls would never be
 * executed, where the real busybox image's shell execs it and gets "Permission denied".
 */
let dynamicBusybox: Buffer | undefined;
function busyboxBinary(): Buffer {
  if (dynamicBusybox) return dynamicBusybox;
  const dir = mkdtempSync(join(tmpdir(), "skiff-busybox-"));
  try {
    const get = spawnSync("apt-get", ["download", "busybox"], { cwd: dir, encoding: "utf8" });
    if (get.status !== 0) throw new Error(`apt-get download busybox: ${get.stderr}`);
    const deb = spawnSync("sh", ["-c", "dpkg -x busybox_*.deb x"], { cwd: dir, encoding: "utf8" });
    if (deb.status !== 0) throw new Error(`dpkg -x busybox: ${deb.stderr}`);
    dynamicBusybox = readFileSync(join(dir, "x/bin/busybox"));
    return dynamicBusybox;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function busyboxApplets(): string[] {
  const dir = mkdtempSync(join(tmpdir(), "skiff-busybox-"));
  try {
    writeFileSync(join(dir, "busybox"), busyboxBinary(), { mode: 0o755 });
    const r = spawnSync(join(dir, "busybox"), ["--list"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error("busybox --list failed");
    return r.stdout.split("\n").filter((a) => a !== "" && a !== "busybox");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The host's glibc pieces the dynamic busybox loads (`ldd`: libc, libresolv, the loader). */
const sharedLibraries = [
  "lib/x86_64-linux-gnu/libc.so.6",
  "lib/x86_64-linux-gnu/libresolv.so.2",
  "lib64/ld-linux-x86-64.so.2",
];

const passwd =
  "root:x:0:0:root:/root:/bin/sh\n" +
  "www-data:x:33:33:www-data:/var/www:/bin/sh\n" +
  "user:x:1000:1000:user:/home/user:/bin/sh\n" +
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const group =
  "root:x:0:\nwww-data:x:33:\nusers:x:100:\nuser:x:1000:\n" +
  "group50000:x:50000:user\nnogroup:x:65534:\n";

const pgrepScript = `#!/bin/sh
found=1
for d in /proc/[0-9]*; do
  read -r comm < "$d/comm" 2>/dev/null || continue
  if [ "$comm" = "$1" ]; then echo "\${d#/proc/}"; found=0; fi
done
exit $found
`;

/** A Debian-like root: busybox with every applet, passwd/group, /tmp, /var/run. */
function baseEntries(): TarEntry[] {
  const dirs = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "home", "var"];
  const libDirs = ["lib", "lib/x86_64-linux-gnu", "lib64"];
  return [
    ...[...dirs, ...libDirs].map((name): TarEntry => ({ name, type: "directory", mode: 0o755 })),
    ...sharedLibraries.map((name): TarEntry => ({
      name,
      type: "file",
      mode: 0o755,
      body: readFileSync(`/${name}`),
    })),
    { name: "bin/busybox", type: "file", mode: 0o755, body: busyboxBinary() },
    ...busyboxApplets().map(
      // Hard links, as in the busybox image: specs mask /bin/ls, which must not be a symlink.
      (applet): TarEntry => ({ name: `bin/${applet}`, type: "hardlink", linkname: "bin/busybox" }),
    ),
    // Debian's busybox has no ipcs; the specs only look for a segment id in its output.
    { name: "bin/ipcs", type: "file", mode: 0o755, body: "#!/bin/sh\ncat /proc/sysvipc/shm\n" },
    // Nor pgrep; the specs run `pgrep sleep` to see that a timed-out exec is gone.
    { name: "bin/pgrep", type: "file", mode: 0o755, body: pgrepScript },
    { name: "etc/passwd", type: "file", body: passwd },
    { name: "etc/group", type: "file", body: group },
    { name: "etc/hostname", type: "file", body: "localhost\n" },
    { name: "home/user", type: "directory", mode: 0o755, uid: 1000, gid: 1000 },
    { name: "var/www", type: "directory", mode: 0o755, uid: 33, gid: 33 },
    { name: "var/run", type: "directory", mode: 0o755 },
    { name: "tmp", type: "directory", mode: 0o1777 },
    { name: "proc", type: "directory", mode: 0o555 },
    { name: "sys", type: "directory", mode: 0o555 },
    { name: "dev", type: "directory", mode: 0o755 },
  ];
}

const env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];

export interface CritestImage {
  /** The reference critest uses, e.g. registry.k8s.io/e2e-test-images/busybox:1.29-2. */
  name: string;
  image: BuiltImage;
}

/** Builds every image (a few seconds: gcc plus gzip of ~2 MB layers). */
export function critestImages(): CritestImage[] {
  const tool = compileTool();
  const base = buildLayer(baseEntries());
  const toolAs = (path: string, mode = 0o755): TarEntry => ({
    name: path,
    type: "file",
    mode,
    body: tool,
  });
  const simple = (config: Record<string, unknown>, extra: TarEntry[] = []): BuiltImage =>
    buildImage({
      layers: extra.length > 0 ? [base, buildLayer(extra)] : [base],
      config: { Env: env, Cmd: ["/bin/sh"], ...config },
    });
  const marker = (text: string): TarEntry[] => [
    { name: "image-marker", type: "file", body: `${text}\n` },
  ];

  const busybox = simple({});
  const web = (port: number, path = "usr/sbin/nginx"): BuiltImage =>
    simple(
      {
        Entrypoint: [`/${path}`, String(port), "-g", "daemon off; master_process on;"],
        Cmd: [],
        ExposedPorts: {},
      },
      [toolAs(path)],
    );
  const nginx = web(80);
  const pause = simple({ Entrypoint: ["/pause"], Cmd: [] }, [toolAs("pause")]);
  const tags = simple({}, marker("tags"));
  const tagged = simple({}, marker("tag"));
  const e2e = "registry.k8s.io/e2e-test-images/";
  const staging = "gcr.io/k8s-staging-cri-tools/";
  return [
    { name: `${e2e}busybox:1.29-2`, image: busybox },
    { name: `${e2e}nginx:1.14-2`, image: nginx },
    { name: `${e2e}httpd:2.4.39-4`, image: web(80, "usr/sbin/httpd") },
    {
      name: `${e2e}nonewprivs:1.3`,
      image: simple({ Entrypoint: ["/usr/local/bin/nonewprivs"], Cmd: [] }, [
        { name: "usr/local", type: "directory", mode: 0o755 },
        { name: "usr/local/bin", type: "directory", mode: 0o755 },
        toolAs("usr/local/bin/nonewprivs", 0o4755),
      ]),
    },
    { name: "registry.k8s.io/pause:3.9", image: pause },
    { name: "k8s.gcr.io/pause:3.9", image: pause },
    { name: `${staging}hostnet-nginx-amd64:latest`, image: web(12003) },
    { name: `${staging}test-image-user-uid:latest`, image: simple({ User: "1002" }) },
    { name: `${staging}test-image-user-username:latest`, image: simple({ User: "www-data" }) },
    { name: `${staging}test-image-user-uid-group:latest`, image: simple({ User: "1003:users" }) },
    {
      name: `${staging}test-image-user-username-group:latest`,
      image: simple({ User: "www-data:users" }),
    },
    { name: `${staging}test-image-predefined-group:latest`, image: simple({ User: "1000" }) },
    { name: `${staging}test-image-latest:latest`, image: simple({}, marker("latest")) },
    { name: `${staging}test-image-tag:test`, image: tagged },
    { name: `${staging}test-image-tag:all`, image: tagged },
    { name: `${staging}test-image-1:latest`, image: simple({}, marker("1")) },
    { name: `${staging}test-image-2:latest`, image: simple({}, marker("2")) },
    { name: `${staging}test-image-3:latest`, image: simple({}, marker("3")) },
    { name: `${staging}test-image-tags:1`, image: tags },
    { name: `${staging}test-image-tags:2`, image: tags },
    { name: `${staging}test-image-tags:3`, image: tags },
  ];
}

/** Pushes each image to `registry` under its repository path without the host. */
export async function pushCritestImages(
  registry: TestRegistry,
  images: CritestImage[],
): Promise<void> {
  for (const { name, image } of images) {
    const slash = name.indexOf("/");
    const path = name.slice(slash + 1);
    const colon = path.lastIndexOf(":");
    await pushImage(registry, path.slice(0, colon), path.slice(colon + 1), image);
  }
}
