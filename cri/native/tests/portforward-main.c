/* Test driver for portforward.c: `portforward-test NETNS_PATH PORT` (or "-" for the
 * current namespace), spawned with a Node IPC channel like skiff-shim port-forward.
 * Built by cri/src/streaming/portforward-helper.root.test.ts. */
int portforward_main(int argc, char **argv);

int main(int argc, char **argv)
{
	return portforward_main(argc, argv);
}
