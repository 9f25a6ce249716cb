/* Test driver for skiff-shim's unpack mode: `unpack-test <target dir> < layer.tar`. */
#include "../unpack.h"

int main(int argc, char **argv)
{
	return unpack_main(argc, argv);
}
