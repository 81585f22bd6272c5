/*
 * jbwrite's firmware memory map, from /sys/firmware/memmap (or --memmap-sysfs) or a
 * --memmap-file, checked to give usable RAM as the stub will compute it.
 */
#include "jbwrite.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errors.h"

#define MEMMAP_TYPE_RESERVED 2
#define LINE_MAX_LEN 512

static void memmap_add(struct memmap *m, u64 start, u64 len, u32 type, const char *where)
{
	if (m->n == JBI_MAX_MEM)
		die("%s: more than %u memory map entries; the image holds at most %u", where,
		    JBI_MAX_MEM, JBI_MAX_MEM);
	m->e[m->n++] = (struct jbi_mem){ .start = start, .len = len, .type = type };
}

/* One line of a small sysfs file, without its newline. */
static void sysfs_read(const char *dir, const char *entry, const char *name, char *out,
		       size_t size)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, entry, name);
	f = fopen(path, "r");
	if (!f)
		die("memory map: cannot open %s: %s", path, strerror(errno));
	if (!fgets(out, (int)size, f))
		die("memory map: %s is empty", path);
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
}

/* The e820 type of a /sys/firmware/memmap type name (drivers/firmware/memmap.c). */
static u32 sysfs_type(const char *name)
{
	static const struct {
		const char *name;
		u32 type;
	} types[] = {
		{ "System RAM", 1 },  { "Reserved", 2 }, { "ACPI Tables", 3 },
		{ "ACPI Non-volatile Storage", 4 }, { "Unusable memory", 5 },
		{ "Persistent Memory", 7 },
	};

	for (size_t i = 0; i < JB_ARRAY_LEN(types); i++)
		if (!strcmp(name, types[i].name))
			return types[i].type;
	return MEMMAP_TYPE_RESERVED;
}

static int entry_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Subdirectories 0, 1, 2, ... of dir, in numeric order, each with start, end (inclusive), type. */
static void memmap_sysfs(const char *dir, struct memmap *m)
{
	static u64 idx[JBI_MAX_MEM + 1];
	u32 n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		die("memory map: cannot open %s: %s (give --memmap-file or --memmap-sysfs)", dir,
		    strerror(errno));
	while ((de = readdir(d))) {
		u64 v;

		if (!parse_u64(de->d_name, &v) || (de->d_name[0] == '0' && de->d_name[1]))
			continue; /* only the numbered entries */
		if (n == JB_ARRAY_LEN(idx))
			die("memory map: %s has more than %u entries; the image holds at most %u",
			    dir, JBI_MAX_MEM, JBI_MAX_MEM);
		idx[n++] = v;
	}
	closedir(d);
	qsort(idx, n, sizeof(idx[0]), entry_cmp);
	for (u32 i = 0; i < n; i++) {
		char entry[32], start_s[64], end_s[64], type_s[128], where[4200];
		u64 start, end;

		snprintf(entry, sizeof(entry), "%llu", (unsigned long long)idx[i]);
		snprintf(where, sizeof(where), "%s/%s", dir, entry);
		sysfs_read(dir, entry, "start", start_s, sizeof(start_s));
		sysfs_read(dir, entry, "end", end_s, sizeof(end_s));
		sysfs_read(dir, entry, "type", type_s, sizeof(type_s));
		if (!parse_u64(start_s, &start))
			die("memory map: %s/start '%s' is not a number", where, start_s);
		if (!parse_u64(end_s, &end))
			die("memory map: %s/end '%s' is not a number", where, end_s);
		if (end < start || (start == 0 && end == UINT64_MAX))
			die("memory map: %s: end 0x%llx is before start 0x%llx", where,
			    (unsigned long long)end, (unsigned long long)start);
		memmap_add(m, start, end - start + 1, sysfs_type(type_s), where);
	}
}

/* A memmap-file TYPE: a number, or usable / reserved. */
static bool file_type(const char *s, u32 *type)
{
	u64 v;

	if (!strcmp(s, "usable")) {
		*type = MEM_TYPE_USABLE;
		return true;
	}
	if (!strcmp(s, "reserved")) {
		*type = MEMMAP_TYPE_RESERVED;
		return true;
	}
	if (!parse_u64(s, &v) || v > UINT32_MAX)
		return false;
	*type = (u32)v;
	return true;
}

/* Lines "START END TYPE" (END exclusive), '#' starts a comment. */
static void memmap_file(const char *path, struct memmap *m)
{
	char line[LINE_MAX_LEN];
	FILE *f = fopen(path, "r");

	if (!f)
		die("memory map: cannot open %s: %s", path, strerror(errno));
	for (u32 lineno = 1; fgets(line, sizeof(line), f); lineno++) {
		char where[4200], *word[4], *save = NULL;
		u32 nword = 0, type;
		u64 start, end;

		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (!strchr(line, '\n') && !feof(f))
			die("memory map: %s: line longer than %u bytes", where, LINE_MAX_LEN - 2);
		line[strcspn(line, "#\n")] = '\0';
		for (char *w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
			if (nword == JB_ARRAY_LEN(word))
				die("memory map: %s: more than 3 words; want START END TYPE", where);
			word[nword++] = w;
		}
		if (nword == 0)
			continue;
		if (nword != 3)
			die("memory map: %s: %u words; want START END TYPE", where, nword);
		if (!parse_u64(word[0], &start))
			die("memory map: %s: START '%s' is not a number", where, word[0]);
		if (!parse_u64(word[1], &end))
			die("memory map: %s: END '%s' is not a number", where, word[1]);
		if (!file_type(word[2], &type))
			die("memory map: %s: TYPE '%s' is not a number, usable or reserved", where,
			    word[2]);
		if (end <= start)
			die("memory map: %s: END 0x%llx is not above START 0x%llx (END is"
			    " exclusive)", where, (unsigned long long)end, (unsigned long long)start);
		memmap_add(m, start, end - start, type, where);
	}
	if (ferror(f))
		die("memory map: cannot read %s", path);
	fclose(f);
}

/*
 * The header's map is sorted by start with no overlaps (docs/image-format.md); the stub refuses
 * any other. Sorts (a file may list entries in any order) and refuses overlapping entries.
 */
static void memmap_sort(struct memmap *m, const char *where)
{
	for (u32 i = 1; i < m->n; i++) {
		struct jbi_mem e = m->e[i];
		u32 j = i;

		for (; j > 0 && m->e[j - 1].start > e.start; j--)
			m->e[j] = m->e[j - 1];
		m->e[j] = e;
	}
	for (u32 i = 1; i < m->n; i++)
		if (m->e[i].start - m->e[i - 1].start < m->e[i - 1].len)
			die("memory map: %s: 0x%llx-0x%llx overlaps 0x%llx-0x%llx; give a map"
			    " without overlaps (the kernel's /sys/firmware/memmap has none)",
			    where, (unsigned long long)m->e[i].start,
			    (unsigned long long)(m->e[i].start + m->e[i].len),
			    (unsigned long long)m->e[i - 1].start,
			    (unsigned long long)(m->e[i - 1].start + m->e[i - 1].len));
}

/* The map from the options, checked to give usable RAM as the stub will compute it. */
void memmap_load(const struct options *o, struct memmap *m, struct ram_map *ram)
{
	static struct mem_entry e[JBI_MAX_MEM];
	struct jb_diag d = { "" };
	struct stat st;
	const char *where = o->memmap_file ? o->memmap_file : o->memmap_sysfs;

	m->n = 0;
	if (o->memmap_file) {
		memmap_file(o->memmap_file, m);
	} else if (o->memmap_sysfs) {
		memmap_sysfs(o->memmap_sysfs, m);
	} else if (stat(MEMMAP_SYSFS_DEFAULT, &st) == 0 && S_ISDIR(st.st_mode)) {
		where = MEMMAP_SYSFS_DEFAULT;
		memmap_sysfs(where, m);
	} else {
		die("memory map: %s does not exist; give --memmap-file or --memmap-sysfs (the stub"
		    " refuses an image whose map differs from the machine's, so an image without"
		    " one would never resume)", MEMMAP_SYSFS_DEFAULT);
	}
	if (m->n == 0)
		die("memory map: %s lists no entries", where);
	memmap_sort(m, where);
	for (u32 i = 0; i < m->n; i++)
		e[i] = (struct mem_entry){ m->e[i].start, m->e[i].len, m->e[i].type };
	int rc = ram_map_build(e, m->n, ram, &d);

	if (rc)
		die("memory map: %s: %s", where, d.text);
}
