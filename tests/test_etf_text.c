/*
 * Unit tests of the Erlang text form: etf_format against what OTP 25.2.3
 * prints (io_lib:format("~w") and io_lib:format("~0tp"), the single-line
 * ~tp) for the same ETF bytes, and etf_parse against what erl_scan,
 * erl_parse and erl_eval make of the same text (term_to_binary of the
 * result). The tables were produced by OTP itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "etf.h"

struct print_case {
    const char *etf;
    size_t len;
    const char *w;
    const char *tp;
};

/* ETF bytes of term_to_binary(T), then ~w and ~0tp of T as UTF-8. */
static const struct print_case print_cases[] = {
    {"\203a\000", 3, "0", "0"},
    {"\203b\377\377\377\377", 6, "-1", "-1"},
    {"\203a\377", 3, "255", "255"},
    {"\203b\000\000\001\000", 6, "256", "256"},
    {"\203b\177\377\377\377", 6, "2147483647", "2147483647"},
    {"\203b\200\000\000\000", 6, "-2147483648", "-2147483648"},
    {"\203n\010\000\377\377\377\377\377\377\377\177", 12, "9223372036854775807",
     "9223372036854775807"},
    {"\203n\010\001\000\000\000\000\000\000\000\200", 12,
     "-9223372036854775808", "-9223372036854775808"},
    {"\203n\010\000\000\000\000\000\000\000\000\200", 12, "9223372036854775808",
     "9223372036854775808"},
    {"\203n\015\000\322\012\077N\356\340s\303\366\017\351\216\001", 17,
     "123456789012345678901234567890", "123456789012345678901234567890"},
    {"\203n\015\001\322\012\077N\356\340s\303\366\017\351\216\001", 17,
     "-123456789012345678901234567890", "-123456789012345678901234567890"},
    {"\203n\032\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000"
     "\000\000\000\000\000\000\000\000\000\000\001",
     30, "1606938044258990275541962092341162602522202993782792835301376",
     "1606938044258990275541962092341162602522202993782792835301376"},
    {"\203F\077\360\000\000\000\000\000\000", 10, "1.0", "1.0"},
    {"\203F\077\271\231\231\231\231\231\232", 10, "0.1", "0.1"},
    {"\203FB\002\240_ \000\000\000", 10, "1.0e10", "1.0e10"},
    {"\203F>\344\370\265\210\343h\361", 10, "1.0e-5", "1.0e-5"},
    {"\203F\200\000\000\000\000\000\000\000", 10, "-0.0", "-0.0"},
    {"\203F\000\000\000\000\000\000\000\000", 10, "0.0", "0.0"},
    {"\203F\000\000\000\000\000\000\000\001", 10, "5.0e-324", "5.0e-324"},
    {"\203F\177\357\377\377\377\377\377\377", 10, "1.7976931348623157e308",
     "1.7976931348623157e308"},
    {"\203F@Y\000\000\000\000\000\000", 10, "100.0", "100.0"},
    {"\203F@\217@\000\000\000\000\000", 10, "1.0e3", "1.0e3"},
    {"\203F\077PbM\322\361\251\374", 10, "0.001", "0.001"},
    {"\203F\077\0326\342\353\034C-", 10, "0.0001", "0.0001"},
    {"\203F\000\020\000\000\000\000\000\000", 10, "2.2250738585072014e-308",
     "2.2250738585072014e-308"},
    {"\203FC@\000\000\000\000\000\000", 10, "9.007199254740992e15",
     "9.007199254740992e15"},
    {"\203FC@\016N\022lbm", 10, "9.038656213402842e15", "9.038656213402842e15"},
    {"\203F@\376$\000\000\000\000\000", 10, "123456.0", "123456.0"},
    {"\203FD\200\360\317\006M\325\222", 10, "1.0e22", "1.0e22"},
    {"\203F\077\323333334", 10, "0.30000000000000004", "0.30000000000000004"},
    {"\203F\300\004\000\000\000\000\000\000", 10, "-2.5", "-2.5"},
    {"\203d\000\001a", 5, "a", "a"},
    {"\203d\000\001A", 5, "'A'", "'A'"},
    {"\203d\000\000", 4, "''", "''"},
    {"\203d\000\003a b", 7, "'a b'", "'a b'"},
    {"\203d\000\003and", 7, "'and'", "'and'"},
    {"\203d\000\003fun", 7, "'fun'", "'fun'"},
    {"\203d\000\004else", 8, "else", "else"},
    {"\203d\000\005maybe", 9, "maybe", "maybe"},
    {"\203d\000\003a@b", 7, "a@b", "a@b"},
    {"\203d\000\003a.b", 7, "'a.b'", "'a.b'"},
    {"\203d\000\003a'b", 7, "'a\\'b'", "'a\\'b'"},
    {"\203d\000\003a\\b", 7, "'a\\\\b'", "'a\\\\b'"},
    {"\203d\000\002\012\011", 6, "'\\n\\t'", "'\\n\\t'"},
    {"\203d\000\003a\000b", 7, "'a\\000b'", "'a\\000b'"},
    {"\203d\000\001\351", 5, "\303\251", "\303\251"},
    {"\203d\000\002\377a", 6, "\303\277a", "\303\277a"},
    {"\203d\000\001\367", 5, "'\303\267'", "'\303\267'"},
    {"\203d\000\001\337", 5, "\303\237", "\303\237"},
    {"\203d\000\001\327", 5, "'\303\227'", "'\303\227'"},
    {"\203d\000\001\330", 5, "'\303\230'", "'\303\230'"},
    {"\203d\000\002\370A", 6, "\303\270A", "\303\270A"},
    {"\203d\000\002Ab", 6, "'Ab'", "'Ab'"},
    {"\203w\006\344\270\255\346\226\207", 9, "'\\x{4E2D}\\x{6587}'",
     "'\344\270\255\346\226\207'"},
    {"\203w\005a\360\237\230\200", 8, "'a\\x{1F600}'", "'a\360\237\230\200'"},
    {"\203d\000\004\177\200\237\240", 8, "'\\d\\200\\237\302\240'",
     "'\\d\\200\\237\302\240'"},
    {"\203j", 2, "[]", "[]"},
    {"\203k\000\001\001", 5, "[1]", "[1]"},
    {"\203k\000\002hi", 6, "[104,105]", "\"hi\""},
    {"\203k\000\005hello", 9, "[104,101,108,108,111]", "\"hello\""},
    {"\203k\000\003a\012b", 7, "[97,10,98]", "\"a\\nb\""},
    {"\203k\000\003\"\\'", 7, "[34,92,39]", "\"\\\"\\\\'\""},
    {"\203k\000\003\001\033\177", 7, "[1,27,127]", "[1,27,127]"},
    {"\203k\000\001\000", 5, "[0]", "[0]"},
    {"\203k\000\001\351", 5, "[233]", "\"\303\251\""},
    {"\203l\000\000\000\002a\351b\000\000\001\000j", 14, "[233,256]",
     "[233,256]"},
    {"\203l\000\000\000\001b\000\000N-j", 12, "[20013]", "[20013]"},
    {"\203l\000\000\000\001a\001a\002", 10, "[1|2]", "[1|2]"},
    {"\203l\000\000\000\002d\000\001ad\000\001bd\000\001c", 18, "[a,b|c]",
     "[a,b|c]"},
    {"\203l\000\000\000\001k\000\002hij", 12, "[[104,105]]", "[\"hi\"]"},
    {"\203l\000\000\001,"
     "a\001a\002a\003a\004a\005a\006a\007a\010a\011a\012a\013a\014a\015a\016a"
     "\017a\020a\021a\022a\023a\024a\025a\026a\027a\030a\031a\032a\033a\034a"
     "\035a\036a\037a "
     "a!a\"a#a$a%a&a'a(a)a*a+a,a-a.a/"
     "a0a1a2a3a4a5a6a7a8a9a:a;a<a=a>a\077a@"
     "aAaBaCaDaEaFaGaHaIaJaKaLaMaNaOaPaQaRaSaTaUaVaWaXaYaZa[a\\a]a^a_a`"
     "aaabacadaeafagahaiajakalamanaoapaqarasatauavawaxayaza{a|a}a~"
     "a\177a\200a\201a\202a\203a\204a\205a\206a\207a\210a\211a\212a\213a\214a"
     "\215a\216a\217a\220a\221a\222a\223a\224a\225a\226a\227a\230a\231a\232a"
     "\233a\234a\235a\236a\237a\240a\241a\242a\243a\244a\245a\246a\247a\250a"
     "\251a\252a\253a\254a\255a\256a\257a\260a\261a\262a\263a\264a\265a\266a"
     "\267a\270a\271a\272a\273a\274a\275a\276a\277a\300a\301a\302a\303a\304a"
     "\305a\306a\307a\310a\311a\312a\313a\314a\315a\316a\317a\320a\321a\322a"
     "\323a\324a\325a\326a\327a\330a\331a\332a\333a\334a\335a\336a\337a\340a"
     "\341a\342a\343a\344a\345a\346a\347a\350a\351a\352a\353a\354a\355a\356a"
     "\357a\360a\361a\362a\363a\364a\365a\366a\367a\370a\371a\372a\373a\374a"
     "\375a\376a\377b\000\000\001\000b\000\000\001\001b\000\000\001\002b\000"
     "\000\001\003b\000\000\001\004b\000\000\001\005b\000\000\001\006b\000\000"
     "\001\007b\000\000\001\010b\000\000\001\011b\000\000\001\012b\000\000\001"
     "\013b\000\000\001\014b\000\000\001\015b\000\000\001\016b\000\000\001\017b"
     "\000\000\001\020b\000\000\001\021b\000\000\001\022b\000\000\001\023b\000"
     "\000\001\024b\000\000\001\025b\000\000\001\026b\000\000\001\027b\000\000"
     "\001\030b\000\000\001\031b\000\000\001\032b\000\000\001\033b\000\000\001"
     "\034b\000\000\001\035b\000\000\001\036b\000\000\001\037b\000\000\001 "
     "b\000\000\001!b\000\000\001\"b\000\000\001#b\000\000\001$b\000\000\001%"
     "b\000\000\001&b\000\000\001'b\000\000\001(b\000\000\001)b\000\000\001*"
     "b\000\000\001+b\000\000\001,j",
     742,
     "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
     "28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,"
     "52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,"
     "76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,"
     "100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,"
     "118,119,120,121,122,123,124,125,126,127,128,129,130,131,132,133,134,135,"
     "136,137,138,139,140,141,142,143,144,145,146,147,148,149,150,151,152,153,"
     "154,155,156,157,158,159,160,161,162,163,164,165,166,167,168,169,170,171,"
     "172,173,174,175,176,177,178,179,180,181,182,183,184,185,186,187,188,189,"
     "190,191,192,193,194,195,196,197,198,199,200,201,202,203,204,205,206,207,"
     "208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,"
     "226,227,228,229,230,231,232,233,234,235,236,237,238,239,240,241,242,243,"
     "244,245,246,247,248,249,250,251,252,253,254,255,256,257,258,259,260,261,"
     "262,263,264,265,266,267,268,269,270,271,272,273,274,275,276,277,278,279,"
     "280,281,282,283,284,285,286,287,288,289,290,291,292,293,294,295,296,297,"
     "298,299,300]",
     "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,"
     "28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,"
     "52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,"
     "76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99,"
     "100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,"
     "118,119,120,121,122,123,124,125,126,127,128,129,130,131,132,133,134,135,"
     "136,137,138,139,140,141,142,143,144,145,146,147,148,149,150,151,152,153,"
     "154,155,156,157,158,159,160,161,162,163,164,165,166,167,168,169,170,171,"
     "172,173,174,175,176,177,178,179,180,181,182,183,184,185,186,187,188,189,"
     "190,191,192,193,194,195,196,197,198,199,200,201,202,203,204,205,206,207,"
     "208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223,224,225,"
     "226,227,228,229,230,231,232,233,234,235,236,237,238,239,240,241,242,243,"
     "244,245,246,247,248,249,250,251,252,253,254,255,256,257,258,259,260,261,"
     "262,263,264,265,266,267,268,269,270,271,272,273,274,275,276,277,278,279,"
     "280,281,282,283,284,285,286,287,288,289,290,291,292,293,294,295,296,297,"
     "298,299,300]"},
    {"\203h\000", 3, "{}", "{}"},
    {"\203h\001d\000\001a", 7, "{a}", "{a}"},
    {"\203h\003d\000\001ak\000\001bm\000\000\000\001c", 17, "{a,[98],<<99>>}",
     "{a,\"b\",<<\"c\">>}"},
    {"\203h\001h\001h\000", 7, "{{{}}}", "{{{}}}"},
    {"\203t\000\000\000\000", 6, "#{}", "#{}"},
    {"\203t\000\000\000\001d\000\001aa\001", 12, "#{a => 1}", "#{a => 1}"},
    {"\203t\000\000\000\004a\001F\077\360\000\000\000\000\000\000d\000\001aa"
     "\001h\001d\000\001xt\000\000\000\000k\000\001bj",
     39, "#{1 => 1.0,a => 1,{x} => #{},[98] => []}",
     "#{1 => 1.0,a => 1,{x} => #{},\"b\" => []}"},
    {"\203t\000\000\000(a!a!a\014a\014a\027a\027a\035a\035a\036a\036a'a'"
     "a\032a\032a\037a\037a\013a\013a%a%a\011a\011a a "
     "a\"a\"a\031a\031a\034a\034a\006a\006a&a&a\015a\015a(a("
     "a\024a\024a\017a\017a\016a\016a\002a\002a\007a\007a\001a\001a\010a\010a"
     "\003a\003a\021a\021a\026a\026a\025a\025a\004a\004a$a$"
     "a\030a\030a\012a\012a#a#"
     "a\033a\033a\023a\023a\005a\005a\022a\022a\020a\020",
     166,
     "#{16 => 16,18 => 18,5 => 5,19 => 19,27 => 27,35 => 35,10 => 10,24 => "
     "24,36 => 36,4 => 4,21 => 21,22 => 22,17 => 17,3 => 3,8 => 8,1 => 1,7 => "
     "7,2 => 2,14 => 14,15 => 15,20 => 20,40 => 40,13 => 13,38 => 38,6 => 6,28 "
     "=> 28,25 => 25,34 => 34,32 => 32,9 => 9,37 => 37,11 => 11,31 => 31,26 => "
     "26,39 => 39,30 => 30,29 => 29,23 => 23,12 => 12,33 => 33}",
     "#{16 => 16,18 => 18,5 => 5,19 => 19,27 => 27,35 => 35,10 => 10,24 => "
     "24,36 => 36,4 => 4,21 => 21,22 => 22,17 => 17,3 => 3,8 => 8,1 => 1,7 => "
     "7,2 => 2,14 => 14,15 => 15,20 => 20,40 => 40,13 => 13,38 => 38,6 => 6,28 "
     "=> 28,25 => 25,34 => 34,32 => 32,9 => 9,37 => 37,11 => 11,31 => 31,26 => "
     "26,39 => 39,30 => 30,29 => 29,23 => 23,12 => 12,33 => 33}"},
    {"\203m\000\000\000\000", 6, "<<>>", "<<>>"},
    {"\203m\000\000\000\003\001\002\003", 9, "<<1,2,3>>", "<<1,2,3>>"},
    {"\203m\000\000\000\002hi", 8, "<<104,105>>", "<<\"hi\">>"},
    {"\203m\000\000\000\006h\303\251llo", 12, "<<104,195,169,108,108,111>>",
     "<<\"h\303\251llo\"/utf8>>"},
    {"\203m\000\000\000\003\344\270\255", 9, "<<228,184,173>>",
     "<<228,184,173>>"},
    {"\203m\000\000\000\002\310\311", 8, "<<200,201>>",
     "<<\"\303\210\303\211\">>"},
    {"\203m\000\000\000\002a\000", 8, "<<97,0>>", "<<97,0>>"},
    {"\203m\000\000\000\001\377", 7, "<<255>>", "<<\"\303\277\">>"},
    {"\203m\000\000\000\007\033\013\010\014\015\011\012", 13,
     "<<27,11,8,12,13,9,10>>", "<<\"\\e\\v\\b\\f\\r\\t\\n\">>"},
    {"\203m\000\000\000\004a\"b\\", 10, "<<97,34,98,92>>",
     "<<\"a\\\"b\\\\\">>"},
    {"\203M\000\000\000\003\002\001\002\300", 10, "<<1,2,3:2>>", "<<1,2,3:2>>"},
    {"\203M\000\000\000\001\003\340", 8, "<<7:3>>", "<<7:3>>"},
    {"\203M\000\000\000\001\001\200", 8, "<<1:1>>", "<<1:1>>"},
    {"\203M\000\000\000\003\005ab(", 10, "<<97,98,5:5>>", "<<97,98,5:5>>"},
    {"\203m\000\000\000\001\177", 7, "<<127>>", "<<127>>"},
    {"\203qd\000\005listsd\000\003mapa\002", 18, "fun lists:map/2",
     "fun lists:map/2"},
    {"\203qd\000\003a bd\000\003c da\002", 16, "fun 'a b':'c d'/2",
     "fun 'a b':'c d'/2"},
    {"\203qd\000\003andd\000\002A1a\002", 15, "fun and:'A1'/2",
     "fun and:'A1'/2"},
    {"\203qd\000\001md\000\002\351aa\002", 13, "fun m:\303\203\302\251a/2",
     "fun m:\303\203\302\251a/2"},
    {"\203qd\000\001md\000\003a@ba\002", 14, "fun m:'a@b'/2", "fun m:'a@b'/2"},
    {"\203qd\000\001md\000\002a\200a\002", 13, "fun m:'a\\200'/2",
     "fun m:'a\\200'/2"},
    {"\203qd\000\001md\000\003a\012ba\002", 14, "fun m:'a\\nb'/2",
     "fun m:'a\\nb'/2"},
    {"\203qd\000\001md\000\003a\001ba\002", 14, "fun m:'a\\001b'/2",
     "fun m:'a\\001b'/2"},
    {"\203qd\000\001md\000\000a\002", 11, "fun m:''/2", "fun m:''/2"},
    {"\203qd\000\001md\000\004a'b\\a\002", 15, "fun m:'a\\'b\\\\'/2",
     "fun m:'a\\'b\\\\'/2"},
    {"\203qd\000\001md\000\002\367aa\002", 13, "fun m:'\303\203\302\267a'/2",
     "fun m:'\303\203\302\267a'/2"},
    {"\203qd\000\001md\000\002a\337a\002", 13, "fun m:a\303\203\302\237/2",
     "fun m:a\303\203\302\237/2"},
    {"\203qw\003\344\270\255d\000\001aa\002", 13,
     "fun '\303\244\302\270\302\255':a/2",
     "fun '\303\244\302\270\302\255':a/2"},
    {"\203qd\000\001md\000\002_aa\002", 13, "fun m:'_a'/2", "fun m:'_a'/2"},
    {"\203p\000\000\000B\001\000\000\000\000\000\000\000\000\000\000\000\000"
     "\000\000\000\000\000\000\000\007\000\000\000\000d\000\010erl_evala*"
     "b\0002\233\015Xd\000\003a@"
     "h\000\000\000\000\000\000\000\000\000\000\000\000",
     68, "#Fun<erl_eval.42.3316493>", "#Fun<erl_eval.42.3316493>"},
    {"\203p\000\000\000="
     "\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000"
     "\000\000\007\000\000\000\000d\000\003a "
     "ba\005b\377\377\377\377Xd\000\003a@"
     "h\000\000\000\000\000\000\000\000\000\000\000\000",
     63, "#Fun<a b.5.-1>", "#Fun<a b.5.-1>"},
    {"\203p\000\000\000>"
     "\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000"
     "\000\000\007\000\000\000\000d\000\001\351b\377\377\377\376b\200\000\000"
     "\000Xd\000\003a@h\000\000\000\000\000\000\000\000\000\000\000\000",
     64, "#Fun<\303\203\302\251.-2.-2147483648>",
     "#Fun<\303\203\302\251.-2.-2147483648>"},
    {"\203p\000\000\000;"
     "\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000"
     "\000\000\007\000\000\000\000d\000\001mb\377\377\377\377a\000Xd\000\003a@"
     "h\000\000\000\000\000\000\000\000\000\000\000\000",
     61, "#Fun<m.-1.0>", "#Fun<m.-1.0>"},
};

struct parse_case {
    const char *text;
    const char *etf;
    size_t len;
};

/* Text, then term_to_binary of what erl_eval made of it. */
static const struct parse_case parse_cases[] = {
    {"1", "\203a\001", 3},
    {"-1", "\203b\377\377\377\377", 6},
    {"- 1", "\203b\377\377\377\377", 6},
    {"+1", "\203a\001", 3},
    {"- -1", "\203a\001", 3},
    {"1_000", "\203b\000\000\003\350", 6},
    {"16#ff", "\203a\377", 3},
    {"16#FF_ff", "\203b\000\000\377\377", 6},
    {"1_6#ff", "\203a\377", 3},
    {"36#zZ", "\203b\000\000\005\017", 6},
    {"2#1010", "\203a\012", 3},
    {"123456789012345678901234567890",
     "\203n\015\000\322\012\077N\356\340s\303\366\017\351\216\001", 17},
    {"-123456789012345678901234567890",
     "\203n\015\001\322\012\077N\356\340s\303\366\017\351\216\001", 17},
    {"9223372036854775807", "\203n\010\000\377\377\377\377\377\377\377\177",
     12},
    {"9223372036854775808", "\203n\010\000\000\000\000\000\000\000\000\200",
     12},
    {"-9223372036854775808", "\203n\010\001\000\000\000\000\000\000\000\200",
     12},
    {"-9223372036854775809", "\203n\010\001\001\000\000\000\000\000\000\200",
     12},
    {"18446744073709551616",
     "\203n\011\000\000\000\000\000\000\000\000\000\001", 13},
    {"36#ZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
     "\203n\023\000\377\377\377\377\377\377\377`\247\235\021)+\340\010,"
     "\347\260\001",
     23},
    {"1.0", "\203F\077\360\000\000\000\000\000\000", 10},
    {"1.5e10", "\203FB\013\360\216\260\000\000\000", 10},
    {"2.5E-3", "\203F\077dz\341G\256\024{", 10},
    {"1.0e+5", "\203F@\370j\000\000\000\000\000", 10},
    {"1.0e-400", "\203F\000\000\000\000\000\000\000\000", 10},
    {"-0.0", "\203F\200\000\000\000\000\000\000\000", 10},
    {"1_000.0_5e1_0", "\203FB\2420\330\200\012\000\000", 10},
    {"0.1", "\203F\077\271\231\231\231\231\231\232", 10},
    {"5.0e-324", "\203F\000\000\000\000\000\000\000\001", 10},
    {"1.7976931348623157e308", "\203F\177\357\377\377\377\377\377\377", 10},
    {"$a", "\203aa", 3},
    {"$\\n", "\203a\012", 3},
    {"$\\x{1F600}", "\203b\000\001\366\000", 6},
    {"$\\^A", "\203a\001", 3},
    {"$ ", "\203a ", 3},
    {"$\\s", "\203a ", 3},
    {"$\\101", "\203aA", 3},
    {"$\\7", "\203a\007", 3},
    {"$\\x41", "\203aA", 3},
    {"-$a", "\203b\377\377\377\237", 6},
    {"$\\\\", "\203a\\", 3},
    {"$'", "\203a'", 3},
    {"$\"", "\203a\"", 3},
    {"$\303\251", "\203a\351", 3},
    {"\"hello\"", "\203k\000\005hello", 9},
    {"\"a\\nb\"", "\203k\000\003a\012b", 7},
    {"\"\\x{1F600}\"", "\203l\000\000\000\001b\000\001\366\000j", 12},
    {"\"\\101\\1012\"", "\203k\000\003AA2", 7},
    {"\"\\^A\\^z\"", "\203k\000\002\001\032", 6},
    {"\"\\e\\d\\s\\v\\b\\f\\r\\t\"",
     "\203k\000\010\033\177 \013\010\014\015\011", 12},
    {"\"\\q\"", "\203k\000\001q", 5},
    {"\"a\" \"b\"", "\203k\000\002ab", 6},
    {"\"a\"\012%c\012\"b\"", "\203k\000\002ab", 6},
    {"\"\"", "\203j", 2},
    {"\"\303\251\"", "\203k\000\001\351", 5},
    {"\"\344\270\255\346\226\207\"",
     "\203l\000\000\000\002b\000\000N-b\000\000e\207j", 17},
    {"atom", "\203d\000\004atom", 8},
    {"'Atom'", "\203d\000\004Atom", 8},
    {"'a b'", "\203d\000\003a b", 7},
    {"'\\n'", "\203d\000\001\012", 5},
    {"a@b", "\203d\000\003a@b", 7},
    {"a_B9", "\203d\000\004a_B9", 8},
    {"'and'", "\203d\000\003and", 7},
    {"'fun'", "\203d\000\003fun", 7},
    {"true", "\203d\000\004true", 8},
    {"else", "\203d\000\004else", 8},
    {"maybe", "\203d\000\005maybe", 9},
    {"\303\251", "\203d\000\001\351", 5},
    {"\303\237a", "\203d\000\002\337a", 6},
    {"'\303\251'", "\203d\000\001\351", 5},
    {"'\344\270\255\346\226\207'", "\203w\006\344\270\255\346\226\207", 9},
    {"'\\x{4E2D}'", "\203w\003\344\270\255", 6},
    {"''", "\203d\000\000", 4},
    {"{}", "\203h\000", 3},
    {"{a}", "\203h\001d\000\001a", 7},
    {"{a,b}", "\203h\002d\000\001ad\000\001b", 11},
    {"{a,{b,{c}}}", "\203h\002d\000\001ah\002d\000\001bh\001d\000\001c", 19},
    {"[]", "\203j", 2},
    {"[1]", "\203k\000\001\001", 5},
    {"[1,2]", "\203k\000\002\001\002", 6},
    {"[1|2]", "\203l\000\000\000\001a\001a\002", 10},
    {"[1,2|3]", "\203l\000\000\000\002a\001a\002a\003", 12},
    {"[1,2|[3]]", "\203k\000\003\001\002\003", 7},
    {"[1|[]]", "\203k\000\001\001", 5},
    {"[1|\"ab\"]", "\203k\000\003\001ab", 7},
    {"[[]]", "\203l\000\000\000\001jj", 8},
    {"[1 | [2 | [3 | []]]]", "\203k\000\003\001\002\003", 7},
    {"#{}", "\203t\000\000\000\000", 6},
    {"#{a=>1}", "\203t\000\000\000\001d\000\001aa\001", 12},
    {"#{a => 1, b => 2}", "\203t\000\000\000\002d\000\001aa\001d\000\001ba\002",
     18},
    {"#{a=>1,a=>2}", "\203t\000\000\000\001d\000\001aa\002", 12},
    {"#{b=>1,a=>2,c=>3}",
     "\203t\000\000\000\003d\000\001aa\002d\000\001ba\001d\000\001ca\003", 24},
    {"#{1=>a,1.0=>b}",
     "\203t\000\000\000\002a\001d\000\001aF\077\360\000\000\000\000\000\000d"
     "\000\001b",
     25},
    {"#{{a,b}=>[1,2], <<1>> => #{}}",
     "\203t\000\000\000\002h\002d\000\001ad\000\001bk\000\002\001\002m\000\000"
     "\000\001\001t\000\000\000\000",
     32},
    {"<<>>", "\203m\000\000\000\000", 6},
    {"<<1,2,3>>", "\203m\000\000\000\003\001\002\003", 9},
    {"<<\"abc\">>", "\203m\000\000\000\003abc", 9},
    {"<<\"abc\"/utf8>>", "\203m\000\000\000\003abc", 9},
    {"<<\"\303\251\"/utf8>>", "\203m\000\000\000\002\303\251", 8},
    {"<<\"\344\270\255\"/utf16>>", "\203m\000\000\000\002N-", 8},
    {"<<\"\344\270\255\"/utf32-little>>", "\203m\000\000\000\004-N\000\000",
     10},
    {"<<300>>", "\203m\000\000\000\001,", 7},
    {"<<-1:12>>", "\203M\000\000\000\002\004\377\360", 9},
    {"<<1:4/little>>", "\203M\000\000\000\001\004\020", 8},
    {"<<1:12/little>>", "\203M\000\000\000\002\004\001\000", 9},
    {"<<1:16/little>>", "\203m\000\000\000\002\001\000", 8},
    {"<<<<1,2>>:1/binary>>", "\203m\000\000\000\001\001", 7},
    {"<<<<1:3>>/bits>>", "\203M\000\000\000\001\003 ", 8},
    {"<<1.5/float>>", "\203m\000\000\000\010\077\370\000\000\000\000\000\000",
     14},
    {"<<1.5:32/float>>", "\203m\000\000\000\004\077\300\000\000", 10},
    {"<<1:64/float>>", "\203m\000\000\000\010\077\360\000\000\000\000\000\000",
     14},
    {"<<1.0e300:32/float>>", "\203m\000\000\000\004\177\200\000\000", 10},
    {"<<\"ab\":16>>", "\203m\000\000\000\004\000a\000b", 10},
    {"<<1:8/unit:2>>", "\203m\000\000\000\002\000\001", 8},
    {"<<1/utf16-little>>", "\203m\000\000\000\002\001\000", 8},
    {"<<1:3, 2:5>>", "\203m\000\000\000\001\"", 7},
    {"<<1:0>>", "\203m\000\000\000\000", 6},
    {"<<1/signed>>", "\203m\000\000\000\001\001", 7},
    {"<<$a, \"bc\", 1:1>>", "\203M\000\000\000\004\001abc\200", 11},
    {"<<<<>>/binary>>", "\203m\000\000\000\000", 6},
    {"<<<<1,2>>/binary, 3>>", "\203m\000\000\000\003\001\002\003", 9},
    {"<<(1)>>", "\203m\000\000\000\001\001", 7},
    {"<<1/float-little>>",
     "\203m\000\000\000\010\000\000\000\000\000\000\360\077", 14},
    {"<<16#123456789ABCDEF0123:80>>",
     "\203m\000\000\000\012\001#Eg\211\253\315\357\001#", 16},
    {"<<-16#123456789ABCDEF0123:88/little>>",
     "\203m\000\000\000\013\335\376\0202Tv\230\272\334\376\377", 17},
    {"<<1:1,1:1,1:1>>", "\203M\000\000\000\001\003\340", 8},
    {"<<1:2/unit:8>>", "\203m\000\000\000\002\000\001", 8},
    {"<<-1/unsigned>>", "\203m\000\000\000\001\377", 7},
    {"fun lists:map/2", "\203qd\000\005listsd\000\003mapa\002", 18},
    {"fun 'a b':'c d'/0", "\203qd\000\003a bd\000\003c da\000", 16},
    {"fun lists:map/255", "\203qd\000\005listsd\000\003mapa\377", 18},
    {"fun erlang:'+'/2", "\203qd\000\006erlangd\000\001+a\002", 17},
    {"1.", "\203a\001", 3},
    {"1 .", "\203a\001", 3},
    {"{a}. ", "\203h\001d\000\001a", 7},
    {"[1,2].\012", "\203k\000\002\001\002", 6},
    {"1 % comment", "\203a\001", 3},
    {"{a, % c\012 b}", "\203h\002d\000\001ad\000\001b", 11},
    {"{1, -2, - 3.5, -$a}",
     "\203h\004a\001b\377\377\377\376F\300\014\000\000\000\000\000\000b\377\377"
     "\377\237",
     24},
    {"(1)", "\203a\001", 3},
    {"-+-1", "\203a\001", 3},
    {"\"\\x{10FFFF}\"", "\203l\000\000\000\001b\000\020\377\377j", 12},
    {"{ok, <<\"hi\">>, 'n@h', [1,2|3]}",
     "\203h\004d\000\002okm\000\000\000\002hid\000\003n@"
     "hl\000\000\000\002a\001a\002a\003",
     32},
    {"\011{a,\015\012\011b}\012", "\203h\002d\000\001ad\000\001b", 11},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static etf_term *
decode(etf_arena *a, const void *p, size_t len)
{
    etf_error err;
    etf_term *t = etf_decode(a, p, len, NULL, NULL, &err);

    if (t == NULL)
        fail_msg("decode: %s", err.msg);
    return t;
}

static etf_term *
parse(etf_arena *a, const char *text)
{
    etf_error err;
    etf_term *t = etf_parse(a, text, strlen(text), &err);

    if (t == NULL)
        fail_msg("parse of '%s': %s", text, err.msg);
    return t;
}

static void
check_format(const etf_term *t, etf_text_fmt fmt, const char *want)
{
    size_t len;
    char *s = etf_format(t, fmt, &len);

    assert_non_null(s);
    assert_string_equal(s, want);
    assert_int_equal(len, strlen(want));
    free(s);
}

/* Every term prints byte for byte as OTP printed it. */
static void
test_print_like_otp(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < N(print_cases); i++) {
        etf_arena *a = etf_arena_new();
        etf_term *t = decode(a, print_cases[i].etf, print_cases[i].len);

        check_format(t, ETF_TEXT_W, print_cases[i].w);
        check_format(t, ETF_TEXT_TP, print_cases[i].tp);
        etf_arena_free(a);
    }
}

/* Every text parses to the term erl_eval made of it. */
static void
test_parse_like_otp(void **state)
{
    size_t i, len;
    etf_error err;

    (void)state;
    for (i = 0; i < N(parse_cases); i++) {
        etf_arena *a = etf_arena_new();
        etf_term *want = decode(a, parse_cases[i].etf, parse_cases[i].len);
        etf_term *got = parse(a, parse_cases[i].text);
        uint8_t *bytes;

        if (!etf_equal(got, want))
            fail_msg("'%s' parsed to another term", parse_cases[i].text);
        /* And it encodes to the very bytes OTP made. */
        bytes = etf_encode_alloc(got, NULL, &len, &err);
        assert_non_null(bytes);
        if (len != parse_cases[i].len ||
            memcmp(bytes, parse_cases[i].etf, len) != 0)
            fail_msg("'%s' encodes differently", parse_cases[i].text);
        free(bytes);
        etf_arena_free(a);
    }
}

static bool
non_ascii_export(const etf_term *t)
{
    size_t i;

    if (t->kind != ETF_EXPORT)
        return false;
    for (i = 0; i < t->v.exp->module.len; i++)
        if ((uint8_t)t->v.exp->module.v.str[i] >= 0x80)
            return true;
    for (i = 0; i < t->v.exp->function.len; i++)
        if ((uint8_t)t->v.exp->function.v.str[i] >= 0x80)
            return true;
    return false;
}

/* What etf_format prints, etf_parse reads back as the same term (all but
 * local funs, whose code the text does not carry). */
static void
test_round_trip(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < N(print_cases); i++) {
        etf_arena *a = etf_arena_new();
        etf_term *t = decode(a, print_cases[i].etf, print_cases[i].len);

        /* Local funs carry no code in their text, and OTP prints the
         * atoms of an export byte by byte, which does not read back
         * when they are not ASCII. */
        if (t->kind != ETF_FUN && !non_ascii_export(t)) {
            if (!etf_equal(parse(a, print_cases[i].w), t))
                fail_msg("~w text %s reads back differently", print_cases[i].w);
            if (!etf_equal(parse(a, print_cases[i].tp), t))
                fail_msg("~tp text %s reads back differently",
                         print_cases[i].tp);
        }
        etf_arena_free(a);
    }
}

/* Pids, ports and refs name their node, with the creation after '/'. */
static void
test_pid_port_ref(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term t, *back;
    etf_pid *pid;
    etf_port *port;
    etf_ref *ref;

    (void)state;
    pid = etf_set_pid(a, &t);
    assert_int_equal(etf_set_atom(a, &pid->node, "a@h", 3), 0);
    pid->id = 81;
    pid->serial = 0;
    check_format(&t, ETF_TEXT_W, "<'a@h'.81.0>");
    pid->creation = 1700000000;
    check_format(&t, ETF_TEXT_W, "<'a@h'/1700000000.81.0>");
    check_format(&t, ETF_TEXT_TP, "<'a@h'/1700000000.81.0>");
    back = parse(a, "<'a@h'/1700000000.81.0>");
    assert_true(etf_equal(back, &t));

    port = etf_set_port(a, &t);
    assert_int_equal(etf_set_atom(a, &port->node, "n@host.example", 14), 0);
    port->id = (uint64_t)1 << 40;
    port->creation = 3;
    check_format(&t, ETF_TEXT_W, "#Port<'n@host.example'/3.1099511627776>");
    back = parse(a, "#Port<'n@host.example'/3.1099511627776>");
    assert_true(etf_equal(back, &t));

    ref = etf_set_ref(a, &t);
    assert_int_equal(etf_set_atom(a, &ref->node, "a@h", 3), 0);
    ref->creation = 3;
    ref->len = 3;
    ref->id[0] = 1;
    ref->id[1] = 2;
    ref->id[2] = 3;
    /* Highest word first, as OTP prints #Ref<0.3.2.1>. */
    check_format(&t, ETF_TEXT_W, "#Ref<'a@h'/3.3.2.1>");
    back = parse(a, "#Ref<'a@h'/3.3.2.1>");
    assert_true(etf_equal(back, &t));
    ref->len = 0;
    check_format(&t, ETF_TEXT_W, "#Ref<'a@h'/3>");
    assert_true(etf_equal(parse(a, "#Ref<'a@h'/3>"), &t));

    /* A node that is not Latin-1: escaped under ~w, as is under ~tp. */
    pid = etf_set_pid(a, &t);
    assert_int_equal(etf_set_atom(a, &pid->node, "\xe4\xb8\xad@h", 5), 0);
    pid->id = 1;
    pid->serial = 2;
    check_format(&t, ETF_TEXT_W, "<'\\x{4E2D}@h'.1.2>");
    check_format(&t, ETF_TEXT_TP, "<'\xe4\xb8\xad@h'.1.2>");
    assert_true(etf_equal(parse(a, "<'\\x{4E2D}@h'.1.2>"), &t));

    /* LOCAL_EXT payloads print as their bytes and read back. */
    back = parse(a, "#Local<1,2,255>");
    assert_int_equal(back->kind, ETF_LOCAL);
    check_format(back, ETF_TEXT_W, "#Local<1,2,255>");
    etf_arena_free(a);
}

/* A list in the tree may go on in its tail, as a list or a string
 * segment: it prints as the one list it is. */
static void
test_list_tails(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_term t, *e, *e2;

    (void)state;
    e = etf_set_list(a, &t, 2);
    etf_set_int(&e[0], 104);
    etf_set_int(&e[1], 105);
    assert_int_equal(etf_set_string(a, &e[2], "!!", 2), 0);
    check_format(&t, ETF_TEXT_W, "[104,105,33,33]");
    check_format(&t, ETF_TEXT_TP, "\"hi!!\"");
    e2 = etf_set_list(a, &e[2], 1);
    etf_set_int(&e2[0], 1);
    etf_set_int(&e2[1], 7);
    check_format(&t, ETF_TEXT_W, "[104,105,1|7]");
    check_format(&t, ETF_TEXT_TP, "[104,105,1|7]");
    etf_arena_free(a);
}

/* A small map prints in key order however the tree holds it, as OTP
 * sorts it on binary_to_term (<<131,116,0,0,0,2,100,0,1,98,97,1,100,0,1,
 * 97,97,2>> prints #{a => 2,b => 1}); a large one from its last pair to
 * its first, as OTP prints the hash trie term_to_binary walked. */
static void
test_map_order(void **state)
{
    static const uint8_t unsorted[] = {131, 116, 0, 0,   0, 2, 100, 0,  1,
                                       98,  97,  1, 100, 0, 1, 97,  97, 2};
    etf_arena *a = etf_arena_new();
    etf_term *t = decode(a, unsorted, sizeof(unsorted)), big, *e;
    uint32_t i;

    (void)state;
    check_format(t, ETF_TEXT_W, "#{a => 2,b => 1}");
    e = etf_set_map(a, &big, 33);
    for (i = 0; i < 33; i++) {
        etf_set_int(&e[2 * i], i);
        etf_set_nil(&e[2 * i + 1]);
    }
    t = &big;
    {
        char *s = etf_format(t, ETF_TEXT_W, NULL);

        assert_non_null(s);
        assert_memory_equal(s, "#{32 => [],31 => [],30 => []", 28);
        free(s);
    }
    etf_arena_free(a);
}

/* Printing walks a 1,000,000-deep list without recursion. */
static void
test_deep_print(void **state)
{
    enum { DEPTH = 1000000 };
    etf_arena *a = etf_arena_new();
    etf_term root, *cur = &root, *e;
    size_t i, len;
    char *s;

    (void)state;
    for (i = 0; i < DEPTH; i++) {
        e = etf_set_list(a, cur, 1);
        assert_non_null(e);
        cur = &e[0];
    }
    etf_set_nil(cur);
    s = etf_format(&root, ETF_TEXT_W, &len);
    assert_non_null(s);
    assert_int_equal(len, 2 * DEPTH + 2);
    assert_memory_equal(s, "[[[[", 4);
    assert_memory_equal(s + len - 4, "]]]]", 4);
    free(s);
    etf_arena_free(a);
}

/* Parsing nests as deep as the decoder's default and no deeper. */
static void
test_deep_parse(void **state)
{
    size_t depth = ETF_DEFAULT_MAX_DEPTH, i;
    char *text = malloc(2 * depth + 3);
    etf_arena *a = etf_arena_new();
    etf_error err;
    etf_term *t;

    (void)state;
    /* depth nested lists around a [] */
    for (i = 0; i < depth; i++) {
        text[i] = '[';
        text[depth + 2 + i] = ']';
    }
    text[depth] = '[';
    text[depth + 1] = ']';
    t = etf_parse(a, text, 2 * depth + 2, &err);
    assert_non_null(t);
    /* depth + 1 open tuples around a {}: one deeper than allowed */
    text = realloc(text, 2 * depth + 4);
    memset(text, '{', depth + 2);
    memset(text + depth + 2, '}', depth + 2);
    assert_null(etf_parse(a, text, 2 * depth + 4, &err));
    assert_int_equal(err.code, ETF_E_DEPTH);
    assert_int_equal(err.pos, depth);
    free(text);
    etf_arena_free(a);
}

struct error_case {
    const char *text;
    etf_code code;
    size_t pos;
};

static const struct error_case error_cases[] = {
    {"", ETF_E_SYNTAX, 0},
    {"{a,b", ETF_E_SYNTAX, 4},
    {"{a b}", ETF_E_SYNTAX, 3},
    {"[1|2,3]", ETF_E_SYNTAX, 4},
    {"[|1]", ETF_E_SYNTAX, 1},
    {"#{a}", ETF_E_SYNTAX, 3},
    {"#{a:=1}", ETF_E_SYNTAX, 3},
    {"X", ETF_E_SYNTAX, 0},
    {"_", ETF_E_SYNTAX, 0},
    {"and", ETF_E_SYNTAX, 0},
    {"1 2", ETF_E_TRAILING, 2},
    {"1. 2", ETF_E_TRAILING, 3},
    {"1e5", ETF_E_TRAILING, 1},
    {"1.0e", ETF_E_SYNTAX, 0},
    {"1.0e400", ETF_E_FLOAT, 0},
    {"37#1", ETF_E_SYNTAX, 0},
    {"2#102", ETF_E_TRAILING, 4},
    {"16#", ETF_E_SYNTAX, 0},
    {"1__0", ETF_E_TRAILING, 1},
    {"--1", ETF_E_SYNTAX, 0},
    {"-a", ETF_E_SYNTAX, 1},
    {"\"abc", ETF_E_SYNTAX, 0},
    {"'abc", ETF_E_SYNTAX, 0},
    {"\"\\x{FFFE}\"", ETF_E_SYNTAX, 1},
    {"\"\\x{110000}\"", ETF_E_SYNTAX, 1},
    {"$\\x{D800}", ETF_E_SYNTAX, 1},
    {"\"\\xG\"", ETF_E_SYNTAX, 1},
    {"<<1.5>>", ETF_E_SYNTAX, 2},
    {"<<<<1:3>>/binary>>", ETF_E_SYNTAX, 2},
    {"<<a>>", ETF_E_SYNTAX, 2},
    {"<<1:3/binary>>", ETF_E_SYNTAX, 2},
    {"<<16#D800/utf8>>", ETF_E_SYNTAX, 2},
    {"<<1/utf8-unit:8>>", ETF_E_SYNTAX, 2},
    {"<<1:16/float>>", ETF_E_SYNTAX, 2},
    {"<<1/bogus>>", ETF_E_SYNTAX, 4},
    {"<<0:100000000>>", ETF_E_LIMIT, 2},
    {"fun lists:map/256", ETF_E_SYNTAX, 14},
    {"fun M:f/1", ETF_E_SYNTAX, 4},
    {"#Fun<erl_eval.42.3316493>", ETF_E_SYNTAX, 0},
    {"<0.81.0>", ETF_E_SYNTAX, 1},
    {"<'a@h'.81>", ETF_E_SYNTAX, 9},
    {"#Ref<'a@h'.1.2.3.4.5.6>", ETF_E_REF, 21},
    {"{a,\xff}", ETF_E_UTF8, 3},
    {"'\xc3\xa9\xed\xa0\x80'", ETF_E_UTF8, 3},
    {"-(a)", ETF_E_SYNTAX, 1},
    /* LOCAL_EXT only as the whole term */
    {"[#Local<1>,2]", ETF_E_SYNTAX, 0},
    {"{#Local<1>}", ETF_E_SYNTAX, 0},
    /* U+0104 and U+4E2D are no atoms' letters; U+00A1 no token */
    {"\xc4\x84", ETF_E_SYNTAX, 0},
    {"{a, \xe4\xb8\xad}", ETF_E_SYNTAX, 4},
    {"\xc2\xa1", ETF_E_SYNTAX, 0},
};

/* Bad text fails with a code and the byte where it went wrong. */
static void
test_errors(void **state)
{
    size_t i;
    etf_error err;

    (void)state;
    for (i = 0; i < N(error_cases); i++) {
        etf_arena *a = etf_arena_new();
        const char *s = error_cases[i].text;

        memset(&err, 0, sizeof(err));
        if (etf_parse(a, s, strlen(s), &err) != NULL)
            fail_msg("'%s' parsed", s);
        if (err.code != error_cases[i].code || err.pos != error_cases[i].pos)
            fail_msg("'%s': code %d at %zu (%s), want %d at %zu", s,
                     (int)err.code, err.pos, err.msg, (int)error_cases[i].code,
                     error_cases[i].pos);
        etf_arena_free(a);
    }
}

/* The message says what was expected, what came and where. */
static void
test_error_message(void **state)
{
    etf_arena *a = etf_arena_new();
    etf_error err;
    const char *s = "{ok, [1, 2], #{a => 1} x}";

    (void)state;
    assert_null(etf_parse(a, s, strlen(s), &err));
    assert_int_equal(err.code, ETF_E_SYNTAX);
    assert_int_equal(err.pos, 23);
    assert_string_equal(err.msg, "expected ',' or '}', not 'x' at byte 23");
    assert_null(etf_parse(a, "[1,", 3, &err));
    assert_string_equal(err.msg, "expected a term, not end of input at byte 3");
    etf_arena_free(a);
}

/* Atoms: 255 characters at most, quoted or not. */
static void
test_atom_limits(void **state)
{
    etf_arena *a = etf_arena_new();
    char text[1200];
    etf_error err;
    etf_term *t;

    (void)state;
    memset(text, 'a', 256);
    assert_null(etf_parse(a, text, 256, &err));
    assert_int_equal(err.code, ETF_E_ATOM);
    t = etf_parse(a, text, 255, &err);
    assert_non_null(t);
    assert_int_equal(t->kind, ETF_ATOM);
    assert_int_equal(t->len, 255);
    /* 255 four-byte characters in quotes */
    text[0] = '\'';
    for (size_t i = 0; i < 255; i++)
        memcpy(text + 1 + 4 * i, "\xf0\x9f\x98\x80", 4);
    text[1021] = '\'';
    t = etf_parse(a, text, 1022, &err);
    assert_non_null(t);
    assert_int_equal(t->len, 1020);
    etf_arena_free(a);
}

/* Integers: bignums of any size up to the digit limit. */
static void
test_integer_limits(void **state)
{
    etf_arena *a = etf_arena_new();
    size_t n = 200001, len;
    char *text = malloc(n), *s;
    etf_error err;
    etf_term *t;

    (void)state;
    memset(text, '9', n);
    assert_null(etf_parse(a, text, n, &err));
    assert_int_equal(err.code, ETF_E_LIMIT);
    /* 10^20000 - 1 prints back digit for digit */
    t = etf_parse(a, text, 20000, &err);
    assert_non_null(t);
    assert_int_equal(t->kind, ETF_BIG);
    s = etf_format(t, ETF_TEXT_W, &len);
    assert_int_equal(len, 20000);
    assert_memory_equal(s, text, len);
    free(s);
    free(text);
    etf_arena_free(a);
}

/* Bignums of many sizes and shapes print in decimal and read back: the
 * printer converts by division or by divide and conquer, the parser by
 * multiplication, so each checks the other. */
static void
test_bignum_round_trip(void **state)
{
    static const size_t sizes[] = {9,    100,  255,  256,   257,
                                   1000, 4096, 5000, 20000, 60000};
    uint64_t x = 0x2545F4914F6CDD1Du;
    size_t i, j, len;
    int shape;

    (void)state;
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (shape = 0; shape < 3; shape++) {
            etf_arena *a = etf_arena_new();
            uint8_t *d = malloc(sizes[i]);
            etf_term t, *back;
            etf_error err;
            char *s;

            for (j = 0; j < sizes[i]; j++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                d[j] = shape == 0 ? (uint8_t)x : shape == 1 ? 0xFF : 0;
            }
            d[sizes[i] - 1] |= shape == 2 ? 0x80 : 1;
            assert_int_equal(etf_set_big(a, &t, shape == 1, d, sizes[i]), 0);
            s = etf_format(&t, ETF_TEXT_W, &len);
            assert_non_null(s);
            back = etf_parse(a, s, len, &err);
            if (back == NULL || !etf_equal(back, &t))
                fail_msg("bignum of %zu bytes (shape %d) does not read back",
                         sizes[i], shape);
            free(s);
            free(d);
            etf_arena_free(a);
        }
}

/* Random doubles print in a form that reads back to the same bits. */
static void
test_float_round_trip(void **state)
{
    etf_arena *a = etf_arena_new();
    uint64_t x = 0x9E3779B97F4A7C15u, bits, back;
    etf_term t, *p;
    etf_error err;
    size_t i, len;
    double d;
    char *s;

    (void)state;
    for (i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bits = x;
        memcpy(&d, &bits, 8);
        if (d != d || d - d != 0)
            continue; /* NaN and infinities are no terms */
        etf_set_float(&t, d);
        s = etf_format(&t, ETF_TEXT_W, &len);
        p = etf_parse(a, s, len, &err);
        if (p == NULL || p->kind != ETF_FLOAT)
            fail_msg("%s does not read back", s);
        memcpy(&back, &p->v.f, 8);
        if (back != bits)
            fail_msg("%s reads back as another double", s);
        free(s);
        etf_arena_reset(a);
    }
    etf_arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_print_like_otp),
        cmocka_unit_test(test_parse_like_otp),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_pid_port_ref),
        cmocka_unit_test(test_list_tails),
        cmocka_unit_test(test_map_order),
        cmocka_unit_test(test_deep_print),
        cmocka_unit_test(test_deep_parse),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_message),
        cmocka_unit_test(test_atom_limits),
        cmocka_unit_test(test_integer_limits),
        cmocka_unit_test(test_float_round_trip),
        cmocka_unit_test(test_bignum_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
