/*
 * skiff-shim unpack mode: apply a layer tar (stdin; plain or gzip) under a directory.
 * The protocol is written down at the top of unpack.c.
 */
#ifndef SKIFF_UNPACK_H
#define SKIFF_UNPACK_H

/* argv[0] is the mode name ("unpack"), then [--gzip] and the target directory; the
 * shim's main() calls unpack_main(argc - 1, argv + 1). Returns the process exit code
 * (0 ok, 1 refused or failed, 2 usage). */
int unpack_main(int argc, char **argv);

#endif
