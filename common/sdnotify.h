/*
 * sdnotify.h - telling systemd about the daemon's state (Type=notify), without libsystemd.
 *
 * The protocol is one datagram of "KEY=VALUE\n..." text to the AF_UNIX socket named in
 * $NOTIFY_SOCKET: a path, or an abstract name written with a leading '@'. This file owns that
 * datagram and nothing else: no watchdog, no fd store. Outside systemd it does nothing.
 */
#pragma once

#include <stdbool.h>

/* Sends state (e.g. "READY=1") to $NOTIFY_SOCKET if set; logs a warning if that fails, since
 * a service manager that never hears READY=1 will time the start out. */
void sdnotify(const char *state);

/* Sends state to the notification socket socket_path ("/path" or "@abstract"). False with
 * errno set when the name is invalid or the datagram could not be sent. */
bool sdnotify_send_to(const char *socket_path, const char *state)
    __attribute__((warn_unused_result));
