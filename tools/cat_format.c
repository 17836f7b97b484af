/* cat_format.c: prints received messages in the formats of nngcat 1.5.2 (--raw, --ascii,
 * --quoted, --hex, --msgpack); every rule here was checked against nngcat's own output. */
#include "cat_format.h"

#include <stdint.h>
#include <string.h>

static const struct {
    const char *name;
    enum cat_format format;
} format_names[] = {
    {"no", CAT_FORMAT_NO},         {"raw", CAT_FORMAT_RAW}, {"ascii", CAT_FORMAT_ASCII},
    {"quoted", CAT_FORMAT_QUOTED}, {"hex", CAT_FORMAT_HEX}, {"msgpack", CAT_FORMAT_MSGPACK},
};

int cat_format_from_name(const char *name, enum cat_format *format)
{
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (strcmp(name, format_names[i].name) == 0) {
            *format = format_names[i].format;
            return 0;
        }
    }
    return -1;
}

/* Locale-independent on purpose: isprint() would let a UTF-8 locale change the output. */
static int is_printable(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e;
}

static void write_hex_escape(FILE *out, unsigned char c)
{
    static const char digits[] = "0123456789abcdef";
    char esc[4] = {'\\', 'x', digits[c >> 4], digits[c & 0x0f]};
    fwrite(esc, 1, sizeof(esc), out);
}

static void write_ascii(FILE *out, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        fputc(is_printable(p[i]) ? p[i] : '.', out);
}

/* nngcat names only \t, \n and \r; every other control or high byte becomes \xNN. */
void cat_format_quote(FILE *out, const void *data, size_t len)
{
    const unsigned char *p = data;

    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        switch (c) {
        case '\t': fputs("\\t", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        default:
            if (is_printable(c))
                fputc(c, out);
            else
                write_hex_escape(out, c);
        }
    }
    fputc('"', out);
}

static void write_quoted(FILE *out, const unsigned char *p, size_t len)
{
    cat_format_quote(out, p, len);
    fputc('\n', out);
}

static void write_hex(FILE *out, const unsigned char *p, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++)
        write_hex_escape(out, p[i]);
    fputs("\"\n", out);
}

/* The smallest msgpack bin header that holds len, lengths big-endian. */
static void write_msgpack(FILE *out, const unsigned char *p, size_t len)
{
    unsigned char head[5];
    size_t head_len;

    if (len <= UINT8_MAX) {
        head[0] = 0xc4;
        head[1] = (unsigned char)len;
        head_len = 2;
    } else if (len <= UINT16_MAX) {
        head[0] = 0xc5;
        head[1] = (unsigned char)(len >> 8);
        head[2] = (unsigned char)len;
        head_len = 3;
    } else {
        uint32_t n = (uint32_t)len; /* messages over 4 GiB never reach us */
        head[0] = 0xc6;
        head[1] = (unsigned char)(n >> 24);
        head[2] = (unsigned char)(n >> 16);
        head[3] = (unsigned char)(n >> 8);
        head[4] = (unsigned char)n;
        head_len = 5;
    }
    fwrite(head, 1, head_len, out);
    fwrite(p, 1, len, out);
}

int cat_format_write(FILE *out, enum cat_format format, const void *data, size_t len)
{
    const unsigned char *p = data;

    switch (format) {
    case CAT_FORMAT_NO: return 0;
    case CAT_FORMAT_RAW: fwrite(p, 1, len, out); break;
    case CAT_FORMAT_ASCII: write_ascii(out, p, len); break;
    case CAT_FORMAT_QUOTED: write_quoted(out, p, len); break;
    case CAT_FORMAT_HEX: write_hex(out, p, len); break;
    case CAT_FORMAT_MSGPACK: write_msgpack(out, p, len); break;
    }
    if (fflush(out) != 0 || ferror(out))
        return -1;
    return 0;
}
