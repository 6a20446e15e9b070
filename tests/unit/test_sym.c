// SPDX-License-Identifier: GPL-2.0
/*
 * src/sym/ on this very process: its libc, its own executable (built
 * -O2 -g, as the Makefile builds unit tests), its own stacks. Expected
 * values come from /proc/self/maps, dlsym() and __LINE__, not from the
 * code under test.
 */
#include <dlfcn.h>
#include <errno.h>
#include <elf.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "sym/sym.h"
#include "sym/sym_int.h"
#include "unit.h"

int main(void);
void _start(void);	/* crt1.o's entry point */

struct map_line {
	uint64_t start, end, pgoff;
	char perms[5];
	char path[4096];
};

/* Call @fn for each line of /proc/self/maps until it returns true. */
static bool each_mapping(bool (*fn)(const struct map_line *, void *),
			 void *ctx)
{
	char line[4200];
	struct map_line m = { 0 };
	bool stop = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (!stop && fgets(line, sizeof(line), f)) {
		m.path[0] = '\0';
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64
			   " %*s %*s %4095[^\n]", &m.start, &m.end, m.perms,
			   &m.pgoff, m.path) < 4)
			continue;
		stop = fn(&m, ctx);
	}
	fclose(f);
	return stop;
}

struct find_ctx {
	uint64_t addr;
	struct map_line *out;
};

static bool match_addr(const struct map_line *m, void *ctx)
{
	struct find_ctx *c = ctx;

	if (c->addr < m->start || c->addr >= m->end)
		return false;
	*c->out = *m;
	return true;
}

static bool find_mapping(const void *addr, struct map_line *out)
{
	struct find_ctx c = { (uintptr_t)addr, out };

	return each_mapping(match_addr, &c);
}

static bool add_exec(const struct map_line *m, void *ctx)
{
	if (strchr(m->perms, 'x') && m->path[0] == '/')
		CHECK_U64(sym_add_mapping(ctx, m->start, m->end, m->pgoff,
					  m->path), 0);
	return false;
}

/* This process's address space as the tracer would record it. */
static struct sym *sym_of_self(void)
{
	struct sym *s = sym_new(getpid(), NULL);

	if (s)
		each_mapping(add_exec, s);
	return s;
}

/* The text of the only frame return address @ip is printed as. */
static const char *one_frame(struct sym *s, uint64_t ip)
{
	uint32_t ids[SYM_MAX_INLINE];

	if (sym_stack(s, &ip, 1, ids, SYM_MAX_INLINE) != 1)
		return NULL;
	return sym_frame_text(s, ids[0]);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	static char buf[4][4400];
	static int next;
	char *b = buf[next++ % 4];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, sizeof(buf[0]), f, ap);
	va_end(ap);
	return b;
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

/* Functions whose return addresses and lines the tests know, kept as
 * written: not inlined, cloned or specialized. */
#ifdef __clang__
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

static uint64_t recorded_ra;
static int line_call, line_inl_call, line_inl_site;

NOIPA static void record_ra(void)
{
	recorded_ra = (uintptr_t)__builtin_return_address(0);
}

NOIPA static void caller(void)
{
	line_call = __LINE__; record_ra();
	asm volatile("" ::: "memory");	/* no tail call: keep the RA here */
}

static inline __attribute__((always_inline)) void inlined(void)
{
	line_inl_call = __LINE__; record_ra();
	asm volatile("" ::: "memory");
}

NOIPA static void inliner(void)
{
	line_inl_site = __LINE__; inlined();
	asm volatile("" ::: "memory");
}

/* Global, so that elf_find_functions() finds it in .symtab. */
NOIPA int dhtrace_test_global_fn(void)
{
	return 42;
}

static char *junk_file(void)
{
	char *path = strdup("/tmp/dhtrace-test-sym-XXXXXX");
	int fd = path ? mkstemp(path) : -1;

	if (fd < 0) {
		free(path);
		return NULL;
	}
	if (write(fd, "not an ELF file\n", 16) != 16)
		CHECK(0);
	close(fd);
	return path;
}

static void test_find_libc_functions(void)
{
	const char *names[] = { "malloc", "no_such_fn", "free" };
	void *m_addr = dlsym(RTLD_DEFAULT, "malloc");
	void *f_addr = dlsym(RTLD_DEFAULT, "free");
	struct map_line m = { 0 }, f = { 0 };
	uint64_t off[3];

	CHECK(m_addr && f_addr);
	if (!find_mapping(m_addr, &m) || !find_mapping(f_addr, &f)) {
		CHECK(0);
		return;
	}
	CHECK_STR(f.path, m.path);
	CHECK_U64(elf_find_functions(m.path, names, 3, off), 2);
	CHECK_U64(off[0], (uintptr_t)m_addr - m.start + m.pgoff);
	CHECK_U64(off[1], 0);
	CHECK_U64(off[2], (uintptr_t)f_addr - f.start + f.pgoff);
}

static void test_find_exe_functions(void)
{
	/* An executable's own functions are only in .symtab. */
	const char *names[] = { "dhtrace_test_global_fn", "main", "caller" };
	void *fn = (void *)dhtrace_test_global_fn;
	struct map_line m = { 0 };
	uint64_t off[3];

	if (!find_mapping(fn, &m)) {
		CHECK(0);
		return;
	}
	/* caller() is static: LOCAL symbols are not probe targets. */
	CHECK_U64(elf_find_functions(m.path, names, 3, off), 2);
	CHECK_U64(off[0], (uintptr_t)fn - m.start + m.pgoff);
	CHECK(find_mapping((void *)main, &m));
	CHECK_U64(off[1], (uintptr_t)main - m.start + m.pgoff);
	CHECK_U64(off[2], 0);
}

static void test_find_errors(void)
{
	const char *names[] = { "malloc" };
	uint64_t off[1] = { 1 };
	char *junk = junk_file();

	CHECK(junk);
	CHECK_U64(elf_find_functions(junk, names, 1, off), (uint64_t)-ENOEXEC);
	CHECK_U64(elf_find_functions("/nonexistent/lib.so", names, 1, off),
		  (uint64_t)-ENOENT);
	unlink(junk);
	free(junk);
}

static void test_caller_line(void)
{
	struct sym *s;

	caller();
	s = sym_of_self();
	CHECK_STR(one_frame(s, recorded_ra),
		  fmt("0x%" PRIX64 ": caller (test_sym.c:%d)",
		      recorded_ra - 1, line_call));
	sym_free(s);
}

static void test_inlined(void)
{
	uint32_t ids[4];
	struct sym *s;
	uint64_t ra;

	inliner();
	ra = recorded_ra;
	s = sym_of_self();
	CHECK_U64(sym_stack(s, &ra, 1, ids, 4), 2);
	CHECK_STR(sym_frame_text(s, ids[0]),
		  fmt("0x%" PRIX64 ": inlined (test_sym.c:%d)", ra - 1,
		      line_inl_call));
	CHECK_STR(sym_frame_text(s, ids[1]),
		  fmt("0x%" PRIX64 ": inliner (test_sym.c:%d)", ra - 1,
		      line_inl_site));
	/* @max counts printed frames, inlined ones included. */
	CHECK_U64(sym_stack(s, &ra, 1, ids, 1), 1);
	CHECK_STR(sym_frame_text(s, ids[0]),
		  fmt("0x%" PRIX64 ": inlined (test_sym.c:%d)", ra - 1,
		      line_inl_call));
	sym_free(s);
}

/* This executable's build id from its PT_NOTE in memory, the way the
 * dynamic linker sees it: lowercase hex in @hex. */
static int note_build_id(struct dl_phdr_info *info, size_t size, void *hex)
{
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;

		if (ph->p_type != PT_NOTE)
			continue;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
			const unsigned char *desc = (const unsigned char *)
				(p + sizeof(*n) + ((n->n_namesz + 3) & ~3u));

			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
			    !memcmp(n + 1, "GNU", 4)) {
				for (unsigned j = 0; j < n->n_descsz; j++)
					sprintf((char *)hex + 2 * j, "%02x", desc[j]);
				return 1;
			}
			p = (const char *)desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 1;	/* the first object is the executable */
}

static void test_frame_parts(void)
{
	char exe[4096] = "", build_id[128] = "";
	struct sym_mapping m;
	struct sym_frame f;
	uint32_t ids[4];
	struct sym *s;
	uint64_t ra;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0);
	dl_iterate_phdr(note_build_id, build_id);
	CHECK(strlen(build_id) == 40);
	caller();
	ra = recorded_ra;
	s = sym_of_self();
	CHECK_U64(sym_stack(s, &ra, 1, ids, 4), 1);
	sym_frame_parts(s, ids[0], &f);
	CHECK_U64(f.addr, ra - 1);
	CHECK_STR(f.function, "caller");
	CHECK_STR(f.system_name, "caller");
	/* the file with its directory, as the line table has it */
	CHECK(f.file && f.file[0] == '/' &&
	      strstr(f.file, "/tests/unit/test_sym.c"));
	CHECK_U64(f.line, line_call);
	CHECK(f.column > 0);
	CHECK(f.mapping >= 1 && f.mapping <= sym_mapping_count(s));
	if (f.mapping < 1 || f.mapping > sym_mapping_count(s))
		goto out;
	sym_mapping_at(s, f.mapping - 1, &m);
	CHECK(m.start <= f.addr && f.addr < m.end);
	CHECK_STR(m.path, exe);
	CHECK_STR(m.build_id, build_id);

	/* an inlined call: two frames at one address, the symbol last */
	inliner();
	ra = recorded_ra;
	CHECK_U64(sym_stack(s, &ra, 1, ids, 4), 2);
	sym_frame_parts(s, ids[0], &f);
	CHECK_U64(f.addr, ra - 1);
	CHECK_STR(f.function, "inlined");
	CHECK(f.system_name == NULL);
	CHECK_U64(f.line, line_inl_call);
	sym_frame_parts(s, ids[1], &f);
	CHECK_U64(f.addr, ra - 1);
	CHECK_STR(f.function, "inliner");
	CHECK_STR(f.system_name, "inliner");
	CHECK_U64(f.line, line_inl_site);

	/* "[root]" and ids out of range have no parts */
	sym_frame_parts(s, 0, &f);
	CHECK(!f.addr && !f.mapping && !f.function && !f.file);
	sym_frame_parts(s, 1u << 30, &f);
	CHECK(!f.addr && !f.function);
out:
	sym_free(s);
}

static void test_mappings_told(void)
{
	struct sym *s = sym_new(0, NULL);
	struct sym_mapping m;
	char exe[4096] = "";
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0 && s);
	if (!s)
		return;
	CHECK_U64(sym_add_mapping(s, 0x10000, 0x20000, 0x1000, exe), 0);
	/* told again (maps, then an mmap record): kept once */
	CHECK_U64(sym_add_mapping(s, 0x10000, 0x20000, 0x1000, exe), 0);
	/* replaced by another object: both stay, in order */
	CHECK_U64(sym_add_mapping(s, 0x10000, 0x18000, 0, "/nonexistent/x.so"), 0);
	CHECK_U64(sym_mapping_count(s), 2);
	sym_mapping_at(s, 0, &m);
	CHECK_U64(m.start, 0x10000);
	CHECK_U64(m.end, 0x20000);
	CHECK_U64(m.pgoff, 0x1000);
	CHECK_STR(m.path, exe);
	CHECK(m.build_id && strlen(m.build_id) == 40);
	sym_mapping_at(s, 1, &m);
	CHECK_U64(m.end, 0x18000);
	CHECK_STR(m.path, "/nonexistent/x.so");
	CHECK(m.build_id == NULL);
	sym_free(s);
}

static void test_shared_library(void)
{
	const char *fns[] = { "malloc", "free", "calloc", "realloc" };
	struct sym *s = sym_of_self();
	const char *text, *name;
	char buf[256];
	uint64_t addr;
	size_t len;

	/* A name printed for an address is one that dlsym() finds there
	 * (malloc is also __libc_malloc); the location is "(malloc.c:N)"
	 * with libc's debug info, "(in /…/libc.so.6)" without. */
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		addr = (uintptr_t)dlsym(RTLD_DEFAULT, fns[i]);
		text = one_frame(s, addr + 1);
		CHECK(starts_with(text, fmt("0x%" PRIX64 ": ", addr)));
		name = text ? strstr(text, ": ") : NULL;
		len = name ? strcspn(name + 2, " ") : 0;
		if (!len || len >= sizeof(buf)) {
			CHECK(0);
			continue;
		}
		memcpy(buf, name + 2, len);
		buf[len] = '\0';
		CHECK_U64((uintptr_t)dlsym(RTLD_DEFAULT, buf), addr);
		CHECK(strstr(text, " (malloc.c:") || strstr(text, " (in /"));
	}
	sym_free(s);
}

static int line_bt, line_real_stack;

NOIPA static int real_stack(void **ips, int max)
{
	int n;

	line_bt = __LINE__; n = backtrace(ips, max);
	asm volatile("" ::: "memory");
	return n;
}

/* Not inlined into main: its frame is the one before main's. */
NOIPA static void test_below_main_real(void)
{
	void *raw[64];
	uint64_t ips[64];
	uint32_t ids[64];
	int n, got;
	struct sym *s;

	/* backtrace <- real_stack <- this test <- main <-
	 * __libc_start_call_main <- __libc_start_main <- _start */
	line_real_stack = __LINE__; n = real_stack(raw, 64);
	for (int i = 0; i < n; i++)
		ips[i] = (uintptr_t)raw[i];
	s = sym_of_self();
	CHECK(n >= 5);
	got = sym_stack(s, ips, n, ids, 64);
	CHECK_U64(got, 3);
	CHECK_STR(sym_frame_text(s, ids[0]),
		  fmt("0x%" PRIX64 ": real_stack (test_sym.c:%d)", ips[0] - 1,
		      line_bt));
	CHECK_STR(sym_frame_text(s, ids[1]),
		  fmt("0x%" PRIX64 ": test_below_main_real (test_sym.c:%d)",
		      ips[1] - 1, line_real_stack));
	CHECK(starts_with(sym_frame_text(s, ids[2]),
			  fmt("0x%" PRIX64 ": main (test_sym.c:", ips[2] - 1)));
	/* Without main, the innermost below-main function ends the trace:
	 * __libc_start_call_main with libc's debug info, else _start
	 * (static functions are not in .dynsym, and the versioned
	 * __libc_start_main is not below main). */
	got = sym_stack(s, ips + 3, n - 3, ids, 64);
	CHECK(got >= 1 && got < n - 3);
	CHECK(got >= 1 && strstr(sym_frame_text(s, ids[got - 1]),
				 ": (below main) ("));
	sym_free(s);
}

static void test_below_main_synthetic(void)
{
	uint64_t lsm = (uintptr_t)dlsym(RTLD_DEFAULT, "__libc_start_main");
	uint64_t start = (uintptr_t)_start;
	uint64_t m = (uintptr_t)main;
	uint64_t ips[4];
	uint32_t ids[8];
	struct sym *s;

	caller();
	s = sym_of_self();
	CHECK(lsm);
	/* main, then below-main functions outside it: cut after main */
	ips[0] = recorded_ra;
	ips[1] = m + 1;
	ips[2] = lsm + 1;
	ips[3] = start + 1;
	CHECK_U64(sym_stack(s, ips, 4, ids, 8), 2);
	CHECK(starts_with(sym_frame_text(s, ids[1]),
			  fmt("0x%" PRIX64 ": main (test_sym.c:", m)));
	/* main outside a below-main function still wins: */
	ips[1] = lsm + 1;
	ips[2] = m + 1;
	CHECK_U64(sym_stack(s, ips, 3, ids, 8), 3);
	/* no main (a constructor's stack): the innermost below-main ends
	 * it, renamed; glibc's versioned __libc_start_main is not one */
	ips[1] = lsm + 1;
	ips[2] = start + 1;
	CHECK_U64(sym_stack(s, ips, 3, ids, 8), 3);
	CHECK(starts_with(sym_frame_text(s, ids[1]),
			  fmt("0x%" PRIX64 ": __libc_start_main@@GLIBC_2.34 (",
			      lsm)));
	CHECK(starts_with(sym_frame_text(s, ids[2]),
			  fmt("0x%" PRIX64 ": (below main) (in ", start)));
	ips[1] = start + 1;
	ips[2] = lsm + 1;
	ips[3] = start + 1;
	CHECK_U64(sym_stack(s, ips, 4, ids, 8), 2);
	sym_free(s);
}

static void test_no_line_info(void)
{
	uint64_t start = (uintptr_t)_start;
	struct map_line m = { 0 };
	struct sym *s;

	/* _start comes from crt1.o, which has no DWARF; it is below main
	 * and printed so. */
	if (!find_mapping((void *)(uintptr_t)start, &m)) {
		CHECK(0);
		return;
	}
	s = sym_of_self();
	CHECK_STR(one_frame(s, start + 1),
		  fmt("0x%" PRIX64 ": (below main) (in %s)", start, m.path));
	sym_free(s);
}

static void test_unknown(void)
{
	struct sym *s = sym_of_self();
	char *junk = junk_file();

	CHECK(junk);
	/* nothing mapped there */
	CHECK_STR(one_frame(s, 0x1001), "0x1000: ???");
	/* mapped, but not ELF */
	CHECK_U64(sym_add_mapping(s, 0x10000, 0x12000, 0x3000, junk), 0);
	CHECK_STR(one_frame(s, 0x10011), fmt("0x10010: ??? (in %s)", junk));
	CHECK_STR(one_frame(s, 0x1001), "0x1000: ???");
	unlink(junk);
	free(junk);
	sym_free(s);
}

static void test_mapping_replaced(void)
{
	struct sym *s = sym_new(0, NULL);
	char *a = junk_file(), *b = junk_file();

	CHECK(a && b);
	CHECK_U64(sym_add_mapping(s, 0x10000, 0x14000, 0, a), 0);
	CHECK_STR(one_frame(s, 0x11001), fmt("0x11000: ??? (in %s)", a));
	/* b over the middle of a: a is split around it */
	CHECK_U64(sym_add_mapping(s, 0x11000, 0x12000, 0, b), 0);
	CHECK_STR(one_frame(s, 0x10001), fmt("0x10000: ??? (in %s)", a));
	CHECK_STR(one_frame(s, 0x11001), fmt("0x11000: ??? (in %s)", b));
	CHECK_STR(one_frame(s, 0x12001), fmt("0x12000: ??? (in %s)", a));
	CHECK_STR(one_frame(s, 0x14001), "0x14000: ???");
	CHECK_U64(sym_add_mapping(s, 0x10000, 0x10000, 0, a),
		  (uint64_t)-EINVAL);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
	sym_free(s);
}

/* A copy of this executable at @path; false on failure. */
static bool copy_exe(const char *path)
{
	char buf[65536];
	ssize_t n = 0;
	int in = open("/proc/self/exe", O_RDONLY);
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			n = -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return in >= 0 && out >= 0 && n == 0;
}

static void test_file_gone(void)
{
	char path[] = "/tmp/dhtrace-test-sym-exe-XXXXXX";
	struct sym *s = sym_new(getpid(), NULL);
	struct map_line m = { 0 };
	int fd = mkstemp(path);

	caller();
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(copy_exe(path));
	CHECK(find_mapping((void *)(uintptr_t)recorded_ra, &m));
	/* Files are opened when their mapping is told: a short-lived
	 * process may be gone, and its files with it, when its stacks are
	 * printed. */
	CHECK_U64(sym_add_mapping(s, m.start, m.end, m.pgoff, path), 0);
	unlink(path);
	CHECK_STR(one_frame(s, recorded_ra),
		  fmt("0x%" PRIX64 ": caller (test_sym.c:%d)",
		      recorded_ra - 1, line_call));
	sym_free(s);
}

static void test_frame_table(void)
{
	uint32_t ids1[16], ids2[16];
	uint64_t ips[3];
	struct sym *s;
	size_t count;
	int n1, n2;

	inliner();
	ips[0] = recorded_ra;
	caller();
	ips[1] = recorded_ra;
	ips[2] = 0x1001;
	s = sym_of_self();
	CHECK_U64(sym_frame_count(s), 1);
	CHECK_STR(sym_frame_text(s, 0), "[root]");
	n1 = sym_stack(s, ips, 3, ids1, 16);
	count = sym_frame_count(s);
	n2 = sym_stack(s, ips, 3, ids2, 16);
	CHECK_U64(n1, 4);
	CHECK_U64(n2, 4);
	CHECK(!memcmp(ids1, ids2, sizeof(ids1[0]) * 4));
	CHECK_U64(sym_frame_count(s), count);
	CHECK_U64(count, 5);
	for (int i = 0; i < 4; i++)
		CHECK_U64(ids1[i], i + 1);
	CHECK(sym_frame_text(s, count) == NULL);
	sym_free(s);
}

static void test_names(void)
{
	char *d;

	d = sym_demangle("_Znwm");
	CHECK_STR(d, "operator new(unsigned long)");
	free(d);
	d = sym_demangle("_ZN2ns1fEi");
	CHECK_STR(d, "ns::f(int)");
	free(d);
	/* valgrind prints versioned names as they are */
	CHECK(sym_demangle("_ZdlPvm@@GLIBCXX_3.4.21") == NULL);
	/* Rust, as the backtrace crate prints with {:#}: a legacy name
	 * without its hash, a v0 one without its crates' disambiguators */
	d = sym_demangle("_ZN4core3fmt5write17h0123456789abcdefE");
	CHECK_STR(d, "core::fmt::write");
	free(d);
	d = sym_demangle("_ZN6t_rust4tree28_$u7b$$u7b$closure$u7d$$u7d$"
			 "17h9b1ae9eb9d51bda8E");
	CHECK_STR(d, "t_rust::tree::{{closure}}");
	free(d);
	d = sym_demangle("_RNvMs4_NtCslNYArtu3iFV_5alloc7raw_vecINtB5_"
			 "11RawVecInnerNtNtCsjrHSEGnQ3l9_3std5alloc6SystemE"
			 "11finish_growBW_");
	CHECK_STR(d, "<alloc::raw_vec::RawVecInner<std::alloc::System>>::"
		  "finish_grow");
	free(d);
	d = sym_demangle("_RNCNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal0B5_");
	CHECK_STR(d, "std::rt::lang_start_internal::{closure#0}");
	free(d);
	CHECK(sym_demangle("main") == NULL);
	CHECK(sym_demangle("_IO_file_overflow@@GLIBC_2.2.5") == NULL);

	CHECK_U64(fn_kind("main"), FN_MAIN);
	CHECK_U64(fn_kind("mainly"), FN_NORMAL);
	CHECK_U64(fn_kind("__libc_start_main"), FN_BELOW_MAIN);
	/* valgrind compares the name as linked */
	CHECK_U64(fn_kind("__libc_start_main@@GLIBC_2.34"), FN_NORMAL);
	CHECK_U64(fn_kind("main@@V1"), FN_NORMAL);
	CHECK_U64(fn_kind("__libc_start_main.constprop.0"), FN_BELOW_MAIN);
	CHECK_U64(fn_kind("__libc_start_call_main"), FN_BELOW_MAIN);
	CHECK_U64(fn_kind("generic_start_main.isra.0"), FN_BELOW_MAIN);
	CHECK_U64(fn_kind("_start"), FN_BELOW_MAIN);
	CHECK_U64(fn_kind("_start_thread"), FN_NORMAL);
}

int main(void)
{
	RUN(test_find_libc_functions);
	RUN(test_find_exe_functions);
	RUN(test_find_errors);
	RUN(test_caller_line);
	RUN(test_inlined);
	RUN(test_frame_parts);
	RUN(test_mappings_told);
	RUN(test_shared_library);
	RUN(test_below_main_real);
	RUN(test_below_main_synthetic);
	RUN(test_no_line_info);
	RUN(test_unknown);
	RUN(test_mapping_replaced);
	RUN(test_file_gone);
	RUN(test_frame_table);
	RUN(test_names);
	UNIT_EXIT();
}
