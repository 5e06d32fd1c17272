/* SPDX-License-Identifier: MIT */
/*
 * The printf family for guests (see libc.h for what it supports). One
 * formatter writes through a sink that is either a bounded buffer
 * (snprintf: counts every byte, stores what fits, always NUL-terminates)
 * or the console port. Output follows C11 7.21.6.1 and matches glibc for
 * the cases the guest tests compare against the host's snprintf.
 */
#include "io.h"
#include "libc.h"

enum {
	F_LEFT = 1,   // '-'
	F_ZERO = 2,   // '0'
	F_PLUS = 4,   // '+'
	F_SPACE = 8,  // ' '
	F_ALT = 16,   // '#'
};

struct sink {
	char *buf;     // NULL: the console
	size_t size;   // capacity of buf, NUL included
	size_t len;    // bytes produced so far, stored or not
};

struct spec {
	unsigned flags;
	int width;
	int prec;      // -1: none given
	int length;    // 'H' hh, 'h', 'l', 'L' ll/j/z/t, 0 none
	char conv;
};

static void put(struct sink *s, char c)
{
	if (!s->buf)
		outb(FACET_PORT_CONSOLE, (uint8_t)c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void put_n(struct sink *s, const char *p, size_t n)
{
	while (n--)
		put(s, *p++);
}

static void pad(struct sink *s, char c, int n)
{
	while (n-- > 0)
		put(s, c);
}

/* Emits body with sign/prefix, padded to the spec's width. */
static void put_field(struct sink *s, const struct spec *sp, const char *prefix, const char *body, int blen,
		      int zeros)
{
	int plen = (int)strlen(prefix);
	int fill = sp->width - plen - zeros - blen;
	if (!(sp->flags & (F_LEFT | F_ZERO)))
		pad(s, ' ', fill);
	put_n(s, prefix, (size_t)plen);
	if (sp->flags & F_ZERO && !(sp->flags & F_LEFT))
		pad(s, '0', fill);
	pad(s, '0', zeros);
	put_n(s, body, (size_t)blen);
	if (sp->flags & F_LEFT)
		pad(s, ' ', fill);
}

/* Writes v's digits in base into the end of buf; returns where they start. */
static char *digits(char *end, uint64_t v, unsigned base, bool upper)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;
	do {
		*--p = set[v % base];
		v /= base;
	} while (v);
	return p;
}

static void put_int(struct sink *s, struct spec *sp, uint64_t v, bool negative)
{
	char buf[24], *end = buf + sizeof(buf);
	unsigned base = sp->conv == 'o' ? 8 : (sp->conv == 'x' || sp->conv == 'X' || sp->conv == 'p') ? 16 : 10;
	char *p = digits(end, v, base, sp->conv == 'X');
	int n = (int)(end - p);
	if (sp->prec == 0 && v == 0)
		n = 0; // C11 7.21.6.1p8: zero with precision 0 prints no digits
	const char *prefix = "";
	if (negative)
		prefix = "-";
	else if (sp->conv == 'd' && sp->flags & F_PLUS)
		prefix = "+";
	else if (sp->conv == 'd' && sp->flags & F_SPACE)
		prefix = " ";
	else if (((sp->flags & F_ALT) && v && base == 16) || sp->conv == 'p')
		prefix = sp->conv == 'X' ? "0X" : "0x";
	int zeros = sp->prec > n ? sp->prec - n : 0;
	if (sp->flags & F_ALT && base == 8 && zeros == 0 && (n == 0 || *p != '0'))
		zeros = 1;
	if (sp->prec >= 0)
		sp->flags &= ~(unsigned)F_ZERO;
	put_field(s, sp, prefix, p, n, zeros);
}

static uint64_t arg_unsigned(const struct spec *sp, va_list *ap)
{
	switch (sp->length) {
	case 'H': return (unsigned char)va_arg(*ap, unsigned);
	case 'h': return (unsigned short)va_arg(*ap, unsigned);
	case 'l': return va_arg(*ap, unsigned long);
	case 'L': return va_arg(*ap, unsigned long long);
	default: return va_arg(*ap, unsigned);
	}
}

static int64_t arg_signed(const struct spec *sp, va_list *ap)
{
	switch (sp->length) {
	case 'H': return (signed char)va_arg(*ap, int);
	case 'h': return (short)va_arg(*ap, int);
	case 'l': return va_arg(*ap, long);
	case 'L': return va_arg(*ap, long long);
	default: return va_arg(*ap, int);
	}
}

static void put_str(struct sink *s, struct spec *sp, const char *str)
{
	if (!str)
		str = sp->prec < 0 || sp->prec >= 6 ? "(null)" : "";
	int n = 0;
	while (str[n] && (sp->prec < 0 || n < sp->prec))
		n++;
	sp->flags &= ~(unsigned)F_ZERO;
	put_field(s, sp, "", str, n, 0);
}

static void put_conv(struct sink *s, struct spec *sp, va_list *ap)
{
	char c;
	const void *ptr;
	switch (sp->conv) {
	case 'd':
	case 'i': {
		int64_t v = arg_signed(sp, ap);
		sp->conv = 'd';
		put_int(s, sp, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
		break;
	}
	case 'u': case 'x': case 'X': case 'o': put_int(s, sp, arg_unsigned(sp, ap), false); break;
	case 'p':
		ptr = va_arg(*ap, const void *);
		if (ptr) {
			put_int(s, sp, (uint64_t)(uintptr_t)ptr, false);
		} else {
			sp->prec = -1;
			put_str(s, sp, "(nil)");
		}
		break;
	case 'c':
		c = (char)va_arg(*ap, int);
		sp->flags &= ~(unsigned)F_ZERO;
		put_field(s, sp, "", &c, 1, 0);
		break;
	case 's': put_str(s, sp, va_arg(*ap, const char *)); break;
	default: put(s, '%'); break; // "%%" and unknown conversions
	}
}

static int parse_num(const char **f)
{
	int v = 0;
	while (**f >= '0' && **f <= '9')
		v = v * 10 + (*(*f)++ - '0');
	return v;
}

/* Parses the flags, width, precision and length after a '%'; leaves *f on the conversion. */
static void parse_spec(const char **f, struct spec *sp, va_list *ap)
{
	static const char flag_chars[] = "-0+ #";
	const char *fc;
	*sp = (struct spec){ .prec = -1 };
	while (**f && (fc = strchr(flag_chars, **f)))
		sp->flags |= 1u << (fc - flag_chars), (*f)++;
	if (**f == '*') {
		sp->width = va_arg(*ap, int), (*f)++;
		if (sp->width < 0)
			sp->flags |= F_LEFT, sp->width = -sp->width;
	} else {
		sp->width = parse_num(f);
	}
	if (**f == '.') {
		(*f)++;
		if (**f == '*')
			sp->prec = va_arg(*ap, int), (*f)++;
		else
			sp->prec = parse_num(f);
		if (sp->prec < 0)
			sp->prec = -1;
	}
	char m = **f;
	if (m == 'h' || m == 'l') {
		bool twice = (*f)[1] == m;
		sp->length = twice ? (m == 'h' ? 'H' : 'L') : m;
		*f += twice ? 2 : 1;
	} else if (m == 'z' || m == 'j' || m == 't') {
		sp->length = 'L'; // size_t, intmax_t and ptrdiff_t are 64-bit here
		(*f)++;
	}
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(s, *fmt++);
			continue;
		}
		fmt++;
		struct spec sp;
		parse_spec(&fmt, &sp, &aq);
		if (!*fmt)
			break;
		sp.conv = *fmt++;
		put_conv(s, &sp, &aq);
	}
	va_end(aq);
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
{
	char dummy;
	struct sink s = { size ? buf : &dummy, size, 0 };
	format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int vprintf(const char *restrict fmt, va_list ap)
{
	struct sink s = { NULL, 0, 0 };
	format(&s, fmt, ap);
	return (int)s.len;
}

int printf(const char *restrict fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}
