/*
 * Tag bytes of the External Term Format (erts/doc/src/erl_ext_dist.xml).
 */
#ifndef ETF_TAGS_H
#define ETF_TAGS_H

#define ETF_VERSION_MAGIC 131

#define TAG_DIST_HEADER 68          /* 'D': distribution header */
#define TAG_DIST_FRAG_HEADER 69     /* 'E': first fragment */
#define TAG_DIST_FRAG_CONT 70       /* 'F': later fragment (wire only) */
#define TAG_NEW_FLOAT_EXT 70        /* 'F': IEEE double, inside terms */
#define TAG_BIT_BINARY_EXT 77       /* 'M' */
#define TAG_COMPRESSED 80           /* 'P': zlib, only after 131 */
#define TAG_ATOM_CACHE_REF 82       /* 'R': index into the dist header */
#define TAG_NEW_PID_EXT 88          /* 'X' */
#define TAG_NEW_PORT_EXT 89         /* 'Y' */
#define TAG_NEWER_REFERENCE_EXT 90  /* 'Z' */
#define TAG_SMALL_INTEGER_EXT 97    /* 'a' */
#define TAG_INTEGER_EXT 98          /* 'b' */
#define TAG_FLOAT_EXT 99            /* 'c': 31 bytes of "%.20e" text */
#define TAG_ATOM_EXT 100            /* 'd': Latin-1 */
#define TAG_REFERENCE_EXT 101       /* 'e' */
#define TAG_PORT_EXT 102            /* 'f' */
#define TAG_PID_EXT 103             /* 'g' */
#define TAG_SMALL_TUPLE_EXT 104     /* 'h' */
#define TAG_LARGE_TUPLE_EXT 105     /* 'i' */
#define TAG_NIL_EXT 106             /* 'j' */
#define TAG_STRING_EXT 107          /* 'k' */
#define TAG_LIST_EXT 108            /* 'l' */
#define TAG_BINARY_EXT 109          /* 'm' */
#define TAG_SMALL_BIG_EXT 110       /* 'n' */
#define TAG_LARGE_BIG_EXT 111       /* 'o' */
#define TAG_NEW_FUN_EXT 112         /* 'p' */
#define TAG_EXPORT_EXT 113          /* 'q' */
#define TAG_NEW_REFERENCE_EXT 114   /* 'r' */
#define TAG_SMALL_ATOM_EXT 115      /* 's': Latin-1 */
#define TAG_MAP_EXT 116             /* 't' */
#define TAG_FUN_EXT 117             /* 'u': removed in OTP 23, refused */
#define TAG_ATOM_UTF8_EXT 118       /* 'v' */
#define TAG_SMALL_ATOM_UTF8_EXT 119 /* 'w' */
#define TAG_V4_PORT_EXT 120         /* 'x' */
#define TAG_LOCAL_EXT 121           /* 'y' */

/* FLOAT_EXT holds its text in exactly this many bytes. */
#define FLOAT_EXT_BYTES 31
/* STRING_EXT's length field is 16 bits. */
#define STRING_EXT_MAX 65535

#endif
