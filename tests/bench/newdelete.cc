// SPDX-License-Identifier: GPL-2.0
/* N operator new + delete pairs from one call site. */
#include <cstdlib>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;

	for (long i = 0; i < n; i++) {
		char *volatile p = new char[64 + (i & 63)];

		delete[] p;
	}
	return 0;
}
