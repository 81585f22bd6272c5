/* The one fatal path (DESIGN.md §6): message on VGA and serial, then halt or reboot. */
#ifndef JB_FATAL_H
#define JB_FATAL_H

#include "diag.h"
#include "options.h"

/* Chooses what the fatal path does after printing (onerror=). */
void fatal_set_onerror(enum jb_onerror how);

/*
 * Prints `jumpback: error: <text>; nothing was jumped to` and stops. Never returns. The text
 * follows docs/errors.md: what is wrong, where, what to do; no generic words for the code.
 */
void fatal(int rc, const struct jb_diag *d) __attribute__((noreturn));
void fatal_fmt(int rc, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* Ends the run without an error (dry run done): halts or reboots like onerror= says. */
void stop_after_success(void) __attribute__((noreturn));

#endif
