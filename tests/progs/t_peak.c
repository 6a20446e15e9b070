// SPDX-License-Identifier: GPL-2.0
/* A peak in the middle: what is live at t-gmax differs from t-end. */
#include <stdlib.h>

__attribute__((noinline)) static void *site_a(size_t n) { return malloc(n); }
__attribute__((noinline)) static void *site_b(size_t n) { return malloc(n); }
__attribute__((noinline)) static void *site_c(size_t n) { return malloc(n); }

int main(void)
{
	void *a[10], *b, *c;

	for (int i = 0; i < 10; i++)
		a[i] = site_a(1000);
	b = site_b(5000);		/* the peak: 15,000 bytes */
	for (int i = 0; i < 10; i++)
		free(a[i]);
	c = site_c(300);
	b = realloc(b, 3000);		/* shrink below the peak */
	c = realloc(c, 600);		/* grow */
	free(c);
	return b == NULL;		/* b is left at exit */
}
