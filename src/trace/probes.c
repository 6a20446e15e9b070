// SPDX-License-Identifier: GPL-2.0
/* Load the BPF side, attach it to the allocator sites, read its output. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dhtrace.skel.h"
#include "trace/trace.h"

struct probes {
	struct dhtrace_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **links;
	size_t nlinks;
	event_fn on_event;
	void *ctx;
	unsigned int max_frames;
	bool empty;
};

static int handle_event(void *ctx, void *data, size_t size)
{
	struct probes *p = ctx;

	if (size < sizeof(struct dh_event))
		return 0;
	return p->on_event(p->ctx, data);
}

static int silent_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* libbpf's warnings would go to the traced command's terminal;
	 * failures are reported by our callers in one line. Verifier logs
	 * are still wanted when debugging the BPF side. */
	if (level == LIBBPF_WARN && getenv("DHTRACE_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

int probes_open(struct probes **out, const struct probes_opts *o,
		event_fn on_event, void *ctx)
{
	struct probes *p;
	int err;

	libbpf_set_print(silent_print);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->on_event = on_event;
	p->ctx = ctx;
	p->max_frames = o->max_frames;
	p->empty = o->empty;

	p->skel = dhtrace_bpf__open();
	if (!p->skel) {
		err = -errno;
		goto fail;
	}
	p->skel->rodata->target_tgid = o->pid;
	p->skel->rodata->max_frames = o->max_frames;
	p->skel->rodata->wakeup_bytes = o->ringbuf_bytes / 4;
	p->skel->rodata->fp_fallback = o->fp_fallback;
	/* Room for max_frames return addresses and the 0 that ends them. */
	err = bpf_map__set_value_size(p->skel->maps.stacks,
				      (o->max_frames + 1) * sizeof(uint64_t));
	if (!err)
		err = bpf_map__set_max_entries(p->skel->maps.events,
					       o->ringbuf_bytes);
	if (!err)
		err = bpf_map__set_max_entries(p->skel->maps.unwind_rows,
					       o->unwind_rows ? o->unwind_rows : 1);
	if (!err)
		err = dhtrace_bpf__load(p->skel);
	if (err)
		goto fail;

	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events),
				 handle_event, p, NULL);
	if (!p->rb) {
		err = -errno;
		goto fail;
	}
	*out = p;
	return 0;
fail:
	probes_close(p);
	return err < 0 ? err : -EINVAL;
}

static struct bpf_program *program_for(struct probes *p, enum dh_fn fn,
				       bool ret)
{
	if (p->empty)
		return p->skel->progs.dh_empty;
	if (fn == DH_FN_FREE || fn == DH_FN_DELETE)
		return p->skel->progs.dh_release_entry;
	return ret ? p->skel->progs.dh_alloc_return :
		     p->skel->progs.dh_alloc_entry;
}

static int attach_one(struct probes *p, const struct alloc_site *s, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = ret,
		    .bpf_cookie = s->fn);
	struct bpf_link **links, *link;

	links = realloc(p->links, (p->nlinks + 1) * sizeof(*links));
	if (!links)
		return -ENOMEM;
	p->links = links;
	link = bpf_program__attach_uprobe_opts(program_for(p, s->fn, ret),
					       p->skel->rodata->target_tgid,
					       s->path, s->offset, &opts);
	if (!link)
		return -errno;
	links[p->nlinks++] = link;
	return 0;
}

/*
 * Return probes first: an entry seen without its return would leave the
 * thread marked as inside the allocator, and its next calls from the same
 * frame would pass for nested ones and go uncounted. A return without its
 * entry (a call under way at attach time) is ignored.
 */
int probes_attach(struct probes *p, const struct alloc_sites *sites)
{
	int err = 0;

	for (int ret = 1; ret >= 0 && !err; ret--) {
		for (size_t i = 0; i < sites->n && !err; i++) {
			const struct alloc_site *s = &sites->v[i];
			bool entry_only = s->fn == DH_FN_FREE ||
					  s->fn == DH_FN_DELETE;

			if (!ret || !entry_only)
				err = attach_one(p, s, ret);
		}
	}
	return err;
}

int probes_consume(struct probes *p)
{
	int n = ring_buffer__consume(p->rb);

	return n < 0 ? n : 0;
}

int probes_fd(const struct probes *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

int probes_stack(const struct probes *p, uint64_t id, uint64_t *ips,
		 unsigned int max)
{
	uint64_t buf[DH_MAX_FRAMES + 1] = { 0 };
	unsigned int n;

	if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.stacks), &id, buf))
		return -errno;
	for (n = 0; n < max && n < p->max_frames && buf[n]; n++)
		ips[n] = buf[n];
	if (n < max)
		ips[n] = 0;
	return n;
}

void probes_counters(const struct probes *p, uint64_t out[DH_CNT_COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *percpu;

	memset(out, 0, DH_CNT_COUNT * sizeof(*out));
	if (ncpu <= 0)
		return;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return;
	for (uint32_t k = 0; k < DH_CNT_COUNT; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.counters),
					&k, percpu))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += percpu[c];
	}
	free(percpu);
}

/* Array keys first, first + 1, ...: what a batch update takes. */
static int update_range(int fd, uint32_t first, const void *values,
			uint32_t n)
{
	uint32_t *keys = malloc((n ? n : 1) * sizeof(*keys));
	uint32_t count = n;
	int err;

	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		keys[i] = first + i;
	err = n ? bpf_map_update_batch(fd, keys, values, &count, NULL) : 0;
	free(keys);
	return err ? -errno : 0;
}

int probes_set_rows(struct probes *p, uint32_t first,
		    const struct dh_unwind_row *rows, uint32_t n)
{
	return update_range(bpf_map__fd(p->skel->maps.unwind_rows), first,
			    rows, n);
}

int probes_set_mappings(struct probes *p, const struct dh_unwind_mapping *m,
			uint32_t n)
{
	int err;

	if (n > DH_MAX_MAPPINGS)
		return -E2BIG;
	err = update_range(bpf_map__fd(p->skel->maps.unwind_mappings), 0, m, n);
	if (!err)
		p->skel->bss->unwind_nmappings = n;
	return err;
}

int probes_set_object(struct probes *p, const struct dh_unwind_file *f,
		      const struct dh_unwind_object *o)
{
	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.unwind_objects), f, o,
				BPF_ANY))
		return -errno;
	return 0;
}

void probes_close(struct probes *p)
{
	if (!p)
		return;
	/* entries before returns, the reverse of attaching */
	for (size_t i = p->nlinks; i > 0; i--)
		bpf_link__destroy(p->links[i - 1]);
	free(p->links);
	ring_buffer__free(p->rb);
	dhtrace_bpf__destroy(p->skel);
	free(p);
}
