#!/usr/bin/env escript
%% -*- erlang -*-
%% libetf's JSON forms against OTP 25 (docs/json.md).
%%
%% Typed form: terms made here (every kind, with pids, ports, refs and funs
%% of other nodes) go through `etf --from etf --to json` and back through
%% `etf --from json --to etf`; OTP checks that the result is =:= the
%% original, that the bytes are those term_to_binary wrote (else at least
%% our own encoding, unchanged), and that the JSON text is exactly what an
%% independent encoder of the documented mapping, written below, prints.
%%
%% Plain form (OTP 25 has no json module): the same independent encoder
%% gives the expected text of what the plain form can carry, the round
%% trip must give the term json:decode would (atoms and keys as binaries),
%% and what it cannot carry must be refused.
%%
%% usage: etf_json_otp.escript ETF_TOOL WORKDIR N SEED
-mode(compile).

main([Tool, Work, NS, SeedS]) ->
    N = list_to_integer(NS),
    Seed = list_to_integer(SeedS),
    rand:seed(exsss, {Seed, Seed * 7 + 1, Seed * 13 + 2}),
    put(tool, Tool),
    put(work, Work),
    put(fails, 0),
    put(passes, 0),
    put(notes, 0),
    Terms = edge_terms() ++ [term(4) || _ <- lists:seq(1, N)],
    io:format("== typed form: ~w terms, ETF -> JSON -> ETF~n", [length(Terms)]),
    [typed_check(T) || T <- Terms],
    Plain = plain_edge_terms() ++ [plain_term(4) || _ <- lists:seq(1, N div 4)],
    io:format("== plain form: ~w terms~n", [length(Plain)]),
    [plain_check(T) || T <- Plain],
    io:format("== plain form: refusals~n"),
    [plain_refused(T) || T <- plain_refusals()],
    case get(notes) of
        0 -> ok;
        K -> io:format("note: ~w terms where our encoder's bytes differ from "
                       "term_to_binary (not a JSON matter)~n", [K])
    end,
    P = get(passes),
    F = get(fails),
    io:format("~w passed, ~w failed~n", [P, F]),
    halt(case F of 0 -> 0; _ -> 1 end).

%% ---------------------------------------------------------------------
%% running the tool

run(Args, Input) ->
    Work = get(work),
    In = filename:join(Work, "in"),
    Out = filename:join(Work, "out"),
    Err = filename:join(Work, "err"),
    ok = file:write_file(In, Input),
    Status = os:cmd(get(tool) ++ " " ++ Args ++ " < " ++ In ++ " > " ++ Out
                    ++ " 2> " ++ Err ++ "; echo $?"),
    {ok, O} = file:read_file(Out),
    case string:trim(Status) of
        "0" -> {ok, O};
        _ -> {ok, E} = file:read_file(Err), {error, E}
    end.

chomp(B) ->
    case B of
        <<>> -> B;
        _ ->
            case binary:last(B) of
                $\n -> binary:part(B, 0, byte_size(B) - 1);
                _ -> B
            end
    end.

pass() -> put(passes, get(passes) + 1).

fail(Fmt, Args) ->
    F = get(fails),
    put(fails, F + 1),
    case F < 25 of
        true ->
            Msg = unicode:characters_to_binary(
                    io_lib:format(Fmt, [short(A) || A <- Args])),
            io:format("MISMATCH ~ts~n", [Msg]);
        false -> ok
    end.

short(B) when is_binary(B), byte_size(B) > 400 ->
    <<(binary:part(B, 0, 400))/binary, "...">>;
short(B) when is_binary(B) -> B;
short(T) ->
    S = lists:flatten(io_lib:format("~0tp", [T])),
    case length(S) > 400 of
        true -> lists:sublist(S, 400) ++ "...";
        false -> S
    end.

%% ---------------------------------------------------------------------
%% the typed form

typed_check(T) ->
    B = term_to_binary(T),
    case run("--from etf --to json", B) of
        {error, E} ->
            fail("to JSON refused ~ts: ~ts", [T, E]);
        {ok, J0} ->
            J = chomp(J0),
            Want = iolist_to_binary(typed(T)),
            case J =:= Want of
                true -> ok;
                false -> fail("typed JSON of ~ts~n  got  ~ts~n  want ~ts",
                              [T, J, Want])
            end,
            case run("--from json --to etf", J) of
                {error, E} ->
                    fail("from JSON refused ~ts: ~ts", [J, E]);
                {ok, B2} ->
                    same_term(T, B, B2, J)
            end
    end.

same_term(T, B, B2, J) ->
    case catch binary_to_term(B2) of
        T2 when T2 =:= T ->
            case B2 =:= B of
                true -> pass();
                false ->
                    %% Our bytes for T, straight from ETF, must not change
                    %% through JSON even where they differ from OTP's.
                    {ok, Ours} = run("--from etf --to etf", B),
                    case Ours =:= B2 of
                        true -> put(notes, get(notes) + 1), pass();
                        false -> fail("bytes changed through ~ts", [J])
                    end
            end;
        Other ->
            fail("~ts came back as ~ts through ~ts", [T, Other, J])
    end.

%% The documented typed mapping, written independently of the C code.
typed(true) -> "true";
typed(false) -> "false";
typed(null) -> "null";
typed(A) when is_atom(A) -> obj("atom", str(atom_to_binary(A, utf8)));
typed(I) when is_integer(I) -> int(I);
typed(F) when is_float(F) -> real(F);
typed(T) when is_tuple(T) -> obj("tuple", arr([typed(E) || E <- tuple_to_list(T)]));
typed([]) -> "[]";
typed(L) when is_list(L) ->
    case split_list(L, []) of
        {Elems, []} ->
            Bytes = lists:all(fun is_byte/1, Elems),
            if
                Bytes, length(Elems) =< 65535 -> arr([int(E) || E <- Elems]);
                Bytes -> obj("list", arr([int(E) || E <- Elems]));
                true -> arr([typed(E) || E <- Elems])
            end;
        {Elems, Tail} ->
            ["{\"list\":", arr([typed(E) || E <- Elems]), ",\"tail\":",
             typed(Tail), "}"]
    end;
typed(B) when is_binary(B) -> obj("binary", str(base64:encode(B)));
typed(B) when is_bitstring(B) ->
    Bits = bit_size(B),
    Pad = 8 - Bits rem 8,
    obj("bitstring", ["{\"bits\":", integer_to_list(Bits), ",\"data\":",
                      str(base64:encode(<<B/bitstring, 0:Pad>>)), "}"]);
typed(M) when is_map(M) ->
    obj("map", arr([arr([typed(K), typed(V)]) || {K, V} <- map_order(M)]));
typed(P) when is_pid(P) ->
    {Node, Id, Serial, Creation} = pid_parts(P),
    obj("pid", pid_fields(Node, Id, Serial, Creation));
typed(P) when is_port(P) ->
    {Node, Id, Creation} = port_parts(P),
    obj("port", ["{\"node\":", str(Node), ",\"id\":", int(Id),
                 ",\"creation\":", integer_to_list(Creation), "}"]);
typed(R) when is_reference(R) ->
    {Node, Creation, Ids} = ref_parts(R),
    obj("ref", ["{\"node\":", str(Node), ",\"id\":",
                arr([integer_to_list(I) || I <- Ids]), ",\"creation\":",
                integer_to_list(Creation), "}"]);
typed(F) when is_function(F) ->
    case erlang:fun_info(F, type) of
        {type, external} ->
            {module, M} = erlang:fun_info(F, module),
            {name, Name} = erlang:fun_info(F, name),
            {arity, A} = erlang:fun_info(F, arity),
            obj("export", ["{\"module\":", str(atom_to_binary(M, utf8)),
                           ",\"function\":", str(atom_to_binary(Name, utf8)),
                           ",\"arity\":", integer_to_list(A), "}"]);
        {type, local} ->
            I = maps:from_list(erlang:fun_info(F)),
            {Node, Id, Serial, Creation} = pid_parts(maps:get(pid, I)),
            obj("fun",
                ["{\"module\":", str(atom_to_binary(maps:get(module, I), utf8)),
                 ",\"arity\":", integer_to_list(maps:get(arity, I)),
                 ",\"uniq\":", str(hex(maps:get(new_uniq, I))),
                 ",\"index\":", integer_to_list(maps:get(new_index, I)),
                 ",\"old_index\":", int(maps:get(index, I)),
                 ",\"old_uniq\":", int(maps:get(uniq, I)),
                 ",\"pid\":", pid_fields(Node, Id, Serial, Creation),
                 ",\"free\":", arr([typed(V) || V <- maps:get(env, I)]), "}"])
    end.

pid_fields(Node, Id, Serial, Creation) ->
    ["{\"node\":", str(Node), ",\"id\":", integer_to_list(Id), ",\"serial\":",
     integer_to_list(Serial), ",\"creation\":", integer_to_list(Creation), "}"].

obj(Key, V) -> ["{\"", Key, "\":", V, "}"].

arr(Es) -> ["[", lists:join(",", Es), "]"].

is_byte(I) -> is_integer(I) andalso I >= 0 andalso I =< 255.

split_list([H | T], Acc) -> split_list(T, [H | Acc]);
split_list(Tail, Acc) -> {lists:reverse(Acc), Tail}.

%% Integers: numbers to 2^53, else decimal text (hex past 8192 bytes).
int(I) when abs(I) =< 1 bsl 53 -> integer_to_list(I);
int(I) ->
    Bytes = byte_size(binary:encode_unsigned(abs(I))),
    Text = case Bytes > 8192 of
               true when I < 0 ->
                   "-0x" ++ string:lowercase(integer_to_list(-I, 16));
               true -> "0x" ++ string:lowercase(integer_to_list(I, 16));
               false -> integer_to_list(I)
           end,
    obj("int", ["\"", Text, "\""]).

%% What jansson prints with JSON_REAL_PRECISION(17): printf's %.17g, an
%% exponent without '+' or leading zeros, ".0" when it would look integral.
real(F) ->
    [Sign, Digits, Exp] = sci(F),
    Text = case Exp < -4 orelse Exp >= 17 of
               true ->
                   [D1 | Rest] = strip_zeros(Digits),
                   Frac = case Rest of [] -> ""; _ -> [$. | Rest] end,
                   [D1] ++ Frac ++ "e" ++ integer_to_list(Exp);
               false when Exp >= 0 ->
                   {Int, Frac} = lists:split(Exp + 1, Digits),
                   case strip_zeros(Frac) of
                       "" -> Int ++ ".0";
                       F2 -> Int ++ "." ++ F2
                   end;
               false ->
                   "0." ++ lists:duplicate(-Exp - 1, $0) ++ strip_zeros(Digits)
           end,
    Sign ++ Text.

%% 17 significant digits and the decimal exponent, as %.16e gives them.
sci(F) ->
    S = float_to_list(F, [{scientific, 16}]),
    {Sign, S1} = case S of [$- | R] -> {"-", R}; _ -> {"", S} end,
    [Mant, E] = string:split(S1, "e"),
    [D1, Ds] = string:split(Mant, "."),
    [Sign, D1 ++ Ds, list_to_integer(E)].

strip_zeros(Ds) ->
    lists:reverse(lists:dropwhile(fun(C) -> C =:= $0 end, lists:reverse(Ds))).

%% A JSON string as jansson writes it: UTF-8 as is, escapes for '"', '\'
%% and control characters.
str(B) when is_binary(B) -> [$", [esc(C) || <<C>> <= B], $"].

esc($") -> "\\\"";
esc($\\) -> "\\\\";
esc($\b) -> "\\b";
esc($\f) -> "\\f";
esc($\n) -> "\\n";
esc($\r) -> "\\r";
esc($\t) -> "\\t";
esc(C) when C < 16#20 -> io_lib:format("\\u~4.16.0B", [C]);
esc(C) -> C.

hex(B) -> string:lowercase(binary:encode_hex(B)).

%% The order term_to_binary writes a map in, which the typed form keeps:
%% read the keys back from the encoding.
map_order(M) ->
    <<131, 116, N:32, Rest/binary>> = term_to_binary(M),
    keys_in_order(N, Rest, M).

keys_in_order(0, _, _) -> [];
keys_in_order(N, Bin, M) ->
    {K, Used} = binary_to_term(<<131, Bin/binary>>, [used]),
    <<_:(Used - 1)/binary, Rest0/binary>> = Bin,
    V = maps:get(K, M),
    VBytes = byte_size(term_to_binary(V)) - 1,
    <<_:VBytes/binary, Rest/binary>> = Rest0,
    [{K, V} | keys_in_order(N - 1, Rest, M)].

%% Pids, ports and refs as NEW_PID_EXT, NEW/V4_PORT_EXT and
%% NEWER_REFERENCE_EXT lay them out.
pid_parts(P) ->
    <<131, 88, Rest/binary>> = term_to_binary(P),
    {Node, <<Id:32, Serial:32, Creation:32>>} = node_atom(Rest),
    {Node, Id, Serial, Creation}.

port_parts(P) ->
    case term_to_binary(P) of
        <<131, 89, Rest/binary>> ->
            {Node, <<Id:32, Creation:32>>} = node_atom(Rest),
            {Node, Id, Creation};
        <<131, 120, Rest/binary>> ->
            {Node, <<Id:64, Creation:32>>} = node_atom(Rest),
            {Node, Id, Creation}
    end.

ref_parts(R) ->
    <<131, 90, Len:16, Rest/binary>> = term_to_binary(R),
    {Node, <<Creation:32, Ids/binary>>} = node_atom(Rest),
    Len = byte_size(Ids) div 4,
    {Node, Creation, [I || <<I:32>> <= Ids]}.

node_atom(<<100, L:16, Name:L/binary, Rest/binary>>) ->
    {unicode:characters_to_binary(Name, latin1), Rest};
node_atom(<<119, L, Name:L/binary, Rest/binary>>) -> {Name, Rest};
node_atom(<<118, L:16, Name:L/binary, Rest/binary>>) -> {Name, Rest}.

%% ---------------------------------------------------------------------
%% the plain form

plain_check(T) ->
    B = term_to_binary(T),
    case run("--from etf --to json-plain", B) of
        {error, E} ->
            fail("plain form refused ~ts: ~ts", [T, E]);
        {ok, J0} ->
            J = chomp(J0),
            Want = iolist_to_binary(plain(T)),
            case J =:= Want of
                true -> ok;
                false -> fail("plain JSON of ~ts~n  got  ~ts~n  want ~ts",
                              [T, J, Want])
            end,
            Decoded = decoded(T),
            case run("--from json-plain --to etf", J) of
                {error, E} ->
                    fail("plain form does not read back ~ts: ~ts", [J, E]);
                {ok, B2} ->
                    case catch binary_to_term(B2) of
                        Decoded ->
                            %% Maps are sorted as OTP keeps small maps: the
                            %% same bytes as term_to_binary's, where no map
                            %% is large (a hash order there).
                            case B2 =:= term_to_binary(Decoded)
                                orelse has_large_map(Decoded) of
                                true -> pass();
                                false -> fail("plain bytes of ~ts differ from "
                                              "term_to_binary", [Decoded])
                            end;
                        Other ->
                            fail("plain ~ts read back as ~ts, want ~ts",
                                 [J, Other, Decoded])
                    end
            end
    end.

has_large_map(M) when is_map(M) ->
    map_size(M) > 32 orelse lists:any(fun has_large_map/1, maps:values(M));
has_large_map(L) when is_list(L) -> lists:any(fun has_large_map/1, L);
has_large_map(_) -> false.

plain_refused(T) ->
    case run("--from etf --to json-plain", term_to_binary(T)) of
        {ok, J} -> fail("plain form took ~ts as ~ts", [T, J]);
        {error, _} -> pass()
    end.

%% json:encode/1 of OTP 27, as documented, with jansson's number format.
plain(true) -> "true";
plain(false) -> "false";
plain(null) -> "null";
plain(A) when is_atom(A) -> str(atom_to_binary(A, utf8));
plain(I) when is_integer(I) -> integer_to_list(I);
plain(F) when is_float(F) -> real(F);
plain(B) when is_binary(B) -> str(B);
plain(L) when is_list(L) -> arr([plain(E) || E <- L]);
plain(M) when is_map(M) ->
    ["{", lists:join(",", [[str(key(K)), ":", plain(V)]
                           || {K, V} <- map_order(M)]), "}"].

key(K) when is_binary(K) -> K;
key(K) when is_atom(K) -> atom_to_binary(K, utf8);
key(K) when is_integer(K) -> integer_to_binary(K).

%% json:decode/1 of the JSON json:encode/1 makes of T.
decoded(A) when A =:= true; A =:= false; A =:= null -> A;
decoded(A) when is_atom(A) -> atom_to_binary(A, utf8);
decoded(L) when is_list(L) -> [decoded(E) || E <- L];
decoded(M) when is_map(M) ->
    maps:from_list([{key(K), decoded(V)} || {K, V} <- maps:to_list(M)]);
decoded(X) -> X.

plain_edge_terms() ->
    [0, -1, 1 bsl 62, -(1 bsl 63), (1 bsl 63) - 1, 1.0, -0.0, 0.1, 1.0e300,
     5.0e-324, 123456789.0, 1.0e16, 1.0e17, 1.5e-5, 1.0e-4,
     true, false, null, ok, '', 'héllo', list_to_atom([16#20AC]),
     <<>>, <<"hi">>, <<"a\"b\\c\n\t\0\x7f">>, <<"é€😀"/utf8>>,
     [], "abc", [1, 2, 300], [[], [[]]], lists:seq(0, 255),
     #{}, #{a => 1, <<"b">> => [true], 3 => #{}, -4 => null},
     #{<<"z">> => 1, <<"a">> => 2, <<>> => 3},
     maps:from_list([{I, I} || I <- lists:seq(1, 40)])].

plain_refusals() ->
    [{}, {a}, 1 bsl 64, -(1 bsl 64), <<1:3>>, <<255>>, <<"a", 16#C0, 16#80>>,
     [a | b], [1, 2 | <<>>], self(), make_ref(), fun lists:map/2,
     fun(X) -> X end, hd(erlang:ports()), #{{} => 1}, #{1.0 => 1},
     #{[] => 1}, #{a => 1, <<"a">> => 2}, #{1 => 1, <<"1">> => 2},
     [ok, {tuple}], #{k => [<<0:1>>]}].

plain_term(0) -> plain_leaf();
plain_term(D) ->
    case rand:uniform(6) of
        1 -> [plain_term(D - 1) || _ <- lists:seq(1, rand:uniform(4) - 1)];
        2 -> plain_map([{plain_key(), plain_term(D - 1)}
                        || _ <- lists:seq(1, rand:uniform(4) - 1)]);
        _ -> plain_leaf()
    end.

%% A map whose keys print as distinct member names ('' and <<>> would not:
%% refused, see plain_refusals/0).
plain_map(Pairs) ->
    {_, Kept} = lists:foldl(
                  fun({K, V}, {Seen, Acc}) ->
                          case maps:is_key(key(K), Seen) of
                              true -> {Seen, Acc};
                              false -> {Seen#{key(K) => true}, [{K, V} | Acc]}
                          end
                  end, {#{}, []}, Pairs),
    maps:from_list(Kept).

plain_key() ->
    case rand:uniform(3) of
        1 -> utf8_bin();
        2 -> latin1_atom();
        3 -> rand:uniform(2000) - 1000
    end.

plain_leaf() ->
    case rand:uniform(7) of
        1 -> small_int();
        2 -> rand:uniform(1 bsl 62) * (rand:uniform(3) - 2);
        3 -> float_();
        4 -> utf8_bin();
        5 -> latin1_atom();
        6 -> lists:nth(rand:uniform(3), [true, false, null]);
        7 -> [rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(5))]
    end.

%% ---------------------------------------------------------------------
%% terms

edge_terms() ->
    Exact = 1 bsl 53,
    [0, 1, -1, 255, 256, -(1 bsl 27), (1 bsl 31) - 1, -(1 bsl 31), Exact,
     -Exact, Exact + 1, -Exact - 1, (1 bsl 63) - 1, -(1 bsl 63), 1 bsl 63,
     1 bsl 64, -(1 bsl 64), (1 bsl 64) - 1, 1 bsl 100,
     -(1 bsl 8000), (1 bsl 65536) - 1, 1 bsl 65536, -(1 bsl 70000) + 12345,
     0.0, -0.0, 1.0, -1.0, 0.1, 1.0e16, 1.0e17, 1.0e-4, 1.0e-5,
     5.0e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 3.14,
     123456789.0, 100.0,
     true, false, null, ok, '', 'a\0b', 'héllo', list_to_atom([16#20AC, $x]),
     list_to_atom(lists:duplicate(255, $a)),
     list_to_atom(lists:duplicate(255, 16#1F600)),
     'with "quotes" and \\ and \n',
     {}, {a}, list_to_tuple(lists:seq(1, 300)),
     [], "abc", [0], [255], [256], [1, 2 | 3], [a | b], [[] | []], [1 | <<>>],
     ["abc" | "def"], lists:seq(0, 255), lists:duplicate(70000, 7),
     lists:duplicate(65535, 1), lists:duplicate(65536, 1),
     [-1, 0], [1.0], <<>>, <<"hi">>, <<0, 255, 128>>, <<1:1>>, <<7:3>>,
     <<1, 2, 3:5>>, <<0:7>>,
     #{}, #{1 => a, 1.0 => b}, #{<<"k">> => [1.0, -0.0], a => #{}},
     maps:from_list([{I, I * I} || I <- lists:seq(1, 40)]),
     maps:from_list([{{I}, [I]} || I <- lists:seq(1, 33)]),
     self(), make_ref(), hd(erlang:ports()), fun lists:map/2,
     fun erlang:'=:='/2, fun(X) -> X end,
     remote_fun(), remote_fun(), remote_pid(), remote_pid(),
     remote_port(1 bsl 40), remote_port(7), remote_ref(0), remote_ref(5),
     remote_ref(3)].

term(0) -> leaf();
term(D) ->
    case rand:uniform(9) of
        1 -> list_to_tuple([term(D - 1) || _ <- lists:seq(1, rand:uniform(4) - 1)]);
        2 -> [term(D - 1) || _ <- lists:seq(1, rand:uniform(4) - 1)];
        3 -> [term(D - 1) | term(D - 1)];
        4 -> maps:from_list([{term(D - 1), term(D - 1)}
                             || _ <- lists:seq(1, rand:uniform(4) - 1)]);
        5 -> maps:from_list([{small_int(), leaf()}
                             || _ <- lists:seq(1, 30 + rand:uniform(10))]);
        6 -> local_fun([term(D - 1) || _ <- lists:seq(1, rand:uniform(3) - 1)]);
        _ -> leaf()
    end.

leaf() ->
    case rand:uniform(16) of
        1 -> small_int();
        2 -> rand:uniform(1 bsl 60) * (rand:uniform(3) - 2);
        3 -> (rand:uniform(1 bsl (rand:uniform(600))) + (1 bsl 53)) *
                 (1 - 2 * (rand:uniform(2) - 1));
        4 -> float_();
        5 -> latin1_atom();
        6 -> list_to_atom([rand:uniform(16#2FFF) + 255 || _ <- lists:seq(1, rand:uniform(5))]);
        7 -> crypto_bytes(rand:uniform(20) - 1);
        8 -> utf8_bin();
        9 -> <<(crypto_bytes(rand:uniform(3)))/binary, (rand:uniform(127)):(rand:uniform(7))>>;
        10 -> [rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(6))];
        11 -> remote_pid();
        12 -> remote_ref(rand:uniform(5));
        13 -> remote_port(rand:uniform(1 bsl (rand:uniform(64))) - 1);
        14 -> lists:nth(rand:uniform(5), [true, false, null, [], {}]);
        15 -> remote_fun();
        16 -> fun lists:reverse/1
    end.

small_int() -> rand:uniform(600) - 300.

float_() ->
    case rand:uniform(3) of
        1 -> (rand:uniform() - 0.5) * math:pow(10, rand:uniform(40) - 20);
        2 -> float(rand:uniform(100000) - 50000);
        3 -> finite_bits()
    end.

finite_bits() ->
    <<F:64/float>> = <<(rand:uniform(16#7FE) bsl 52 + rand:uniform(1 bsl 52) - 1):64>>,
    case rand:uniform(2) of 1 -> F; 2 -> -F end.

latin1_atom() ->
    list_to_atom([rand:uniform(255) || _ <- lists:seq(1, rand:uniform(8) - 1)]).

utf8_bin() ->
    unicode:characters_to_binary(
      [case rand:uniform(4) of
           1 -> rand:uniform(31);
           2 -> rand:uniform(95) + 31;
           3 -> rand:uniform(16#D7FF - 128) + 127;
           4 -> 16#10000 + rand:uniform(16#FFFFF) - 1
       end || _ <- lists:seq(1, rand:uniform(8) - 1)]).

crypto_bytes(N) -> list_to_binary([rand:uniform(256) - 1 || _ <- lists:seq(1, N)]).

%% Pids, ports, refs and funs of other nodes, made from their encodings
%% (this script runs no distribution, hence no epmd).
node_name() ->
    lists:nth(rand:uniform(4), [<<"json@host">>, <<"a@b">>, <<"nodé@høst"/utf8>>,
                                <<"n€@h"/utf8>>]).

atom_ext(Name) ->
    <<119, (byte_size(Name)), Name/binary>>.

remote_pid() ->
    binary_to_term(<<131, 88, (atom_ext(node_name()))/binary,
                     (rand:uniform(1 bsl 32) - 1):32,
                     (rand:uniform(1 bsl 32) - 1):32,
                     (rand:uniform(1 bsl 32) - 1):32>>).

remote_port(Id) when Id < 1 bsl 32 ->
    binary_to_term(<<131, 89, (atom_ext(node_name()))/binary, Id:32,
                     (rand:uniform(1 bsl 32) - 1):32>>);
remote_port(Id) ->
    binary_to_term(<<131, 120, (atom_ext(node_name()))/binary, Id:64,
                     (rand:uniform(1 bsl 32) - 1):32>>).

%% OTP 25 reads a 0-word reference on its own but not inside another term
%% (binary_to_term(term_to_binary({Ref0, 1})) is badarg): 0 words only at
%% the top.
remote_ref(Len) ->
    binary_to_term(<<131, 90, Len:16, (atom_ext(node_name()))/binary,
                     (rand:uniform(1 bsl 32) - 1):32,
                     << <<(rand:uniform(1 bsl 32) - 1):32>>
                        || _ <- lists:seq(1, Len) >>/binary>>).

local_fun(Env) ->
    case Env of
        [] -> fun() -> ok end;
        [A] -> fun() -> A end;
        [A, B] -> fun(X) -> {X, A, B} end
    end.

%% A local fun whose pid (and creator) is on another node: rewrite the
%% node of the fun's pid, keeping the encoding's length.
remote_fun() ->
    V = small_int(),
    F = fun(X) -> {X, V} end,
    B = term_to_binary(F),
    Node = atom_to_binary(node(), utf8),
    Other = list_to_binary(lists:duplicate(byte_size(Node) - 2, $r) ++ "@h"),
    binary_to_term(binary:replace(B, Node, Other, [global])).
