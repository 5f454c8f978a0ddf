/*
 * names.h - the sizes of the names the tailer copies out of binlog events.
 *
 * MariaDB limits database and table names to 64 characters; in utf8mb4 that is at most 256
 * bytes. A name that does not fit is never truncated (two tables could then share one name):
 * the code that meets it falls back to invalidating everything.
 */
#pragma once

#define BL_NAME_MAX 257 /* 256 bytes and the terminating NUL */

/* One table, as the binlog names it. */
struct bl_table_name {
	char db[BL_NAME_MAX];
	char table[BL_NAME_MAX];
};
