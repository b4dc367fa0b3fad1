/*
 * Replay driver for fuzz targets built without libFuzzer: runs
 * LLVMFuzzerTestOneInput() once on every regular file below each argument
 * (files or directories). A crash or sanitizer report fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long nfiles;

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	long n;

	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	/* 64 MiB is plenty for any seed; bigger files are skipped. */
	if (n > 64L * 1024 * 1024) {
		fclose(f);
		return 0;
	}
	data = malloc((size_t)n + 1);
	if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)n);
	free(data);
	nfiles++;
	return 0;
}

static int
walk(const char *path, int depth)
{
	struct stat st;
	struct dirent **ents;
	int n, rc = 0;

	if (lstat(path, &st) != 0)
		return -1;
	if (S_ISREG(st.st_mode))
		return run_file(path);
	if (!S_ISDIR(st.st_mode) || depth > 16)
		return 0;
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char sub[4096];
		if (ents[i]->d_name[0] != '.' &&
		    (size_t)snprintf(sub, sizeof sub, "%s/%s", path,
		    ents[i]->d_name) < sizeof sub && rc == 0)
			rc = walk(sub, depth + 1);
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (walk(argv[i], 0) != 0) {
			fprintf(stderr, "cannot read %s\n", argv[i]);
			return 1;
		}
	printf("replayed %lu files\n", nfiles);
	return nfiles > 0 ? 0 : 1;
}
