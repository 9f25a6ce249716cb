/* skiff-shim: placeholder until the container core lands (see DESIGN.md). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		puts("skiff-shim 0.1.0");
		return 0;
	}
	fprintf(stderr, "skiff-shim: no mode implemented yet\n");
	return 2;
}
