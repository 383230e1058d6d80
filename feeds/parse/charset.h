/*
 * charset.h — the charset parameter of an HTTP Content-Type, the one parser of it that the
 * daemon's fetches and the CLI's downloads share. What the parser then does with it (the
 * document's own declaration wins) is feedparse_set_charset's business (feedparse.h). And
 * the one windows-1252 table of C1 bytes, which the byte stage (invalid UTF-8) and numeric
 * character references (feedtext.c) both read.
 */
#ifndef FEEDWATCH_CHARSET_H
#define FEEDWATCH_CHARSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Copies the charset parameter of a Content-Type value ("text/xml; charset=ISO-8859-1",
 * "text/html;CHARSET=\"utf-8\"") into buf (size bytes, NUL-terminated) and returns true;
 * false when content_type is NULL, has no charset parameter (a "charset=" inside the media
 * type or another parameter's value does not count), the value is empty, or it does not
 * fit. Parameter names are case-insensitive; a quoted value loses its quotes.
 */
bool charset_from_content_type(const char *content_type, char *buf, size_t size);

/*
 * The character windows-1252 gives the byte c in 0x80..0x9F (WHATWG), which is also what
 * HTML5 makes of a numeric reference there ("&#146;" is U+2019); U+FFFD for the five bytes
 * it leaves unassigned. c must be in 0x80..0x9F.
 */
uint32_t charset_cp1252_c1(uint32_t c);

#endif
