/* meshguard genkey, genpsk and pubkey: the same bytes in and out as wg(8)'s
 * commands of those names, so scripts written for wg work unchanged. */
#include "cli/commands.h"
#include "meshguard.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* wg(8) takes no arguments for these and answers anything else with usage. */
/* 0: go on; 1: --help was shown; -EINVAL: a usage error (reported). */
static int check_usage(int argc, char **argv)
{
	if (argc == 1)
		return 0;
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: meshguard %s\n", argv[0]);
		return 1;
	}
	fprintf(stderr, "Usage: meshguard %s\n", argv[0]);
	return -EINVAL;
}

/* As wg(8): a key redirected into a file others can read deserves a word. */
static void warn_if_accessible(void)
{
	struct stat st;

	if (!fstat(STDOUT_FILENO, &st) && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO))
		fputs("Warning: writing to world accessible file.\n"
		      "Consider setting the umask to 077 and trying again.\n",
		      stderr);
}

/* Writes the key as base64 and a newline; 0 or the exit code 1. */
static int print_key(const uint8_t key[MG_KEY_BYTES])
{
	char base64[MG_KEY_BASE64_CHARS + 1];
	int ret = 0;

	mg_key_encode_base64(base64, key);
	if (puts(base64) == EOF || fflush(stdout) == EOF) {
		fprintf(stderr, "meshguard: cannot write the key: %s\n", strerror(errno));
		ret = 1;
	}
	mg_secret_wipe(base64, sizeof(base64));
	return ret;
}

static int generate(int argc, char **argv, bool clamp)
{
	uint8_t key[MG_KEY_BYTES];
	int ret = check_usage(argc, argv);

	if (ret)
		return ret > 0 ? 0 : 1;
	warn_if_accessible();
	ret = clamp ? mg_key_generate_private(key) : mg_key_generate_preshared(key);
	if (ret < 0) {
		fprintf(stderr, "meshguard %s: cannot generate a key: %s\n", argv[0],
			strerror(-ret));
		return 1;
	}
	ret = print_key(key);
	mg_secret_wipe(key, sizeof(key));
	return ret;
}

int mg_cmd_genkey(int argc, char **argv)
{
	return generate(argc, argv, true);
}

/* A preshared key is 32 random bytes with no structure, so no clamping. */
int mg_cmd_genpsk(int argc, char **argv)
{
	return generate(argc, argv, false);
}

/* Reads exactly 44 characters, then allows only whitespace (and NULs, as
 * wg(8) does) up to EOF. 0 or -EINVAL with the reason in *why. */
static int read_private_key(uint8_t key[MG_KEY_BYTES], const char **why)
{
	char base64[MG_KEY_BASE64_CHARS + 1] = { 0 };
	int ch, ret = -EINVAL;

	*why = "invalid private key (expected 44 characters of base64 ending in '=')";
	if (fread(base64, 1, MG_KEY_BASE64_CHARS, stdin) != MG_KEY_BASE64_CHARS)
		goto out;
	while ((ch = getc(stdin)) != EOF) {
		if (ch && !strchr(" \t\n\v\f\r", ch)) {
			*why = "trailing characters after the private key (expected only "
			       "whitespace)";
			goto out;
		}
	}
	ret = mg_key_decode_base64(key, base64);
out:
	mg_secret_wipe(base64, sizeof(base64));
	return ret;
}

int mg_cmd_pubkey(int argc, char **argv)
{
	uint8_t key[MG_KEY_BYTES], pub[MG_KEY_BYTES];
	const char *why;
	int err, ret = check_usage(argc, argv);

	if (ret)
		return ret > 0 ? 0 : 1;
	ret = 1;
	if (read_private_key(key, &why) < 0) {
		fprintf(stderr, "meshguard pubkey: %s\n", why);
		goto out;
	}
	/* An unclamped key (a genpsk output) gives the public key wg(8)
	 * computes for it: X25519 clamps the scalar itself. */
	err = mg_key_public_from_private(pub, key);
	if (err < 0) {
		fprintf(stderr, "meshguard pubkey: cannot compute the public key: %s\n",
			strerror(-err));
		goto out;
	}
	ret = print_key(pub);
out:
	mg_secret_wipe(key, sizeof(key));
	return ret;
}
