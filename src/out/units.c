// SPDX-License-Identifier: GPL-2.0
/*
 * Numbers for people: bytes with binary units, signed changes, percents.
 */
#include <math.h>

#include "out/out.h"

/* The value in the largest binary unit it reaches, and which one (-1: B). */
static int binary_unit(uint64_t v, double *x)
{
	int u = -1;

	*x = (double)v;
	while (*x >= 1024 && u < 5) {
		*x /= 1024;
		u++;
	}
	return u;
}

static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

const char *out_bytes(uint64_t v, char buf[64])
{
	char n[32];
	double x;
	int u = binary_unit(v, &x);

	if (u < 0)
		snprintf(buf, 64, "%s B", out_thousands(v, n));
	else
		snprintf(buf, 64, "%s B (%.1f %s)", out_thousands(v, n), x,
			 units[u]);
	return buf;
}

const char *out_bytes_short(uint64_t v, char buf[32])
{
	double x;
	int u = binary_unit(v, &x);

	if (u < 0)
		snprintf(buf, 32, "%u B", (unsigned int)v);
	else
		snprintf(buf, 32, "%.1f %s", x, units[u]);
	return buf;
}

const char *out_signed(uint64_t base, uint64_t new, char buf[32])
{
	char n[32];

	snprintf(buf, 32, "%c%s", new < base ? '-' : '+',
		 out_thousands(new < base ? base - new : new - base, n));
	return buf;
}

const char *out_percent(uint64_t base, uint64_t new, char buf[32])
{
	double pct;

	if (!base) {
		snprintf(buf, 32, new ? "+inf%%" : "+0.0%%");
		return buf;
	}
	pct = ((double)new - (double)base) * 100.0 / (double)base;
	/* "-0.0%" for a tiny drop reads oddly: a drop shows at least its
	 * sign with one decimal, rounded away from 0 below 0.05%. */
	if (pct < 0 && pct > -0.05)
		pct = -0.05;
	snprintf(buf, 32, "%+.1f%%", pct);
	return buf;
}
