/* The command line's own log lines ("interface mg0 up: ...", "shut down"),
 * on stderr in the form the library writes a node's lines in when it has
 * no log callback (the UTC time of day, then the line), above the level
 * LOG_LEVEL chose. The nodes the commands run get the same level. */
#ifndef MG_CLI_LOG_H
#define MG_CLI_LOG_H

#include "meshguard.h"

/* Reads LOG_LEVEL (error, info, verbose, debug, as wireguard-go); unset or
 * anything else: info. */
void mg_cli_log_init_from_env(void);
enum mg_log_level mg_cli_log_level(void);
void mg_cli_log(enum mg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
