/* cat_format.h: the output formats of msockcat, which print received messages byte for byte
 * as nngcat 1.5.2 does. */
#ifndef CAT_FORMAT_H
#define CAT_FORMAT_H

#include <stddef.h>
#include <stdio.h>

enum cat_format {
    CAT_FORMAT_NO,      /* receive and discard (the default, as in nngcat) */
    CAT_FORMAT_RAW,     /* the bytes as they are, no separator */
    CAT_FORMAT_ASCII,   /* printable bytes, others as '.', no separator (nngcat 1.5.2) */
    CAT_FORMAT_QUOTED,  /* "C-like escapes" and a newline */
    CAT_FORMAT_HEX,     /* "\xNN" for every byte and a newline */
    CAT_FORMAT_MSGPACK, /* a msgpack bin8/bin16/bin32 object */
};

/* Finds a format by its --format name ("no", "raw", ...); 0 on success, -1 if unknown. */
int cat_format_from_name(const char *name, enum cat_format *format);

/* Writes data in double quotes with the escapes of CAT_FORMAT_QUOTED, without a newline and
 * without flushing: for a field of any bytes in a line of text. */
void cat_format_quote(FILE *out, const void *data, size_t len);

/* Writes one message to out in the given format and flushes it, so that a reader on a pipe
 * sees each message as it arrives. Returns 0, or -1 if out could not be written. */
int cat_format_write(FILE *out, enum cat_format format, const void *data, size_t len);

#endif
