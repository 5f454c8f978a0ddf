/*
 * dashboard.h - the live dashboard page served at / (proxy/dashboard.html).
 *
 * The bytes are generated at build time from the HTML file by cmake/embed.cmake, so the page
 * is edited as HTML and there is no hand-kept copy in C. Read-only, static storage.
 */
#pragma once

#include <stddef.h>

extern const unsigned char dashboard_html[]; /* dashboard_html_len bytes, then a NUL */
extern const size_t dashboard_html_len;
