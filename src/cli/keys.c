/* meshguard genkey, genpsk and pubkey: the same bytes in and out as wg(8)'s
 * commands of those names, so scripts written for wg work unchanged. */
#include "cli/commands.h"
#include "crypto/primitives.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* wg(8) takes no arguments for these and answers anything else with usage. */
static int check_usage(int argc, char **argv)
{
	if (argc == 1)
		return 0;
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
static int print_key(const uint8_t key[MG_KEY_LEN])
{
	char base64[MG_KEY_BASE64_LEN + 1];
	int ret = 0;

	mg_key_to_base64(base64, key);
	if (puts(base64) == EOF || fflush(stdout) == EOF) {
		fprintf(stderr, "meshguard: cannot write the key: %s\n", strerror(errno));
		ret = 1;
	}
	mg_wipe(base64, sizeof(base64));
	return ret;
}

static int generate(int argc, char **argv, bool clamp)
{
	uint8_t key[MG_KEY_LEN];
	int ret;

	if (check_usage(argc, argv) < 0)
		return 1;
	warn_if_accessible();
	mg_random_bytes(key, sizeof(key));
	if (clamp)
		mg_x25519_clamp(key);
	ret = print_key(key);
	mg_wipe(key, sizeof(key));
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
static int read_private_key(uint8_t key[MG_KEY_LEN], const char **why)
{
	char base64[MG_KEY_BASE64_LEN + 1] = { 0 };
	int ch, ret = -EINVAL;

	*why = "invalid private key (expected 44 characters of base64 ending in '=')";
	if (fread(base64, 1, MG_KEY_BASE64_LEN, stdin) != MG_KEY_BASE64_LEN)
		goto out;
	while ((ch = getc(stdin)) != EOF) {
		if (ch && !strchr(" \t\n\v\f\r", ch)) {
			*why = "trailing characters after the private key (expected only "
			       "whitespace)";
			goto out;
		}
	}
	ret = mg_key_from_base64(key, base64);
out:
	mg_wipe(base64, sizeof(base64));
	return ret;
}

int mg_cmd_pubkey(int argc, char **argv)
{
	uint8_t key[MG_KEY_LEN], pub[MG_KEY_LEN];
	const char *why;
	int ret = 1;

	if (check_usage(argc, argv) < 0)
		return 1;
	if (read_private_key(key, &why) < 0) {
		fprintf(stderr, "meshguard pubkey: %s\n", why);
		goto out;
	}
	/* X25519 clamps the scalar itself, so an unclamped key gives the same
	 * public key as wg(8) computes for it. */
	mg_x25519_public(pub, key);
	ret = print_key(pub);
out:
	mg_wipe(key, sizeof(key));
	return ret;
}
