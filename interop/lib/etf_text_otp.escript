#!/usr/bin/env escript
%% -*- erlang -*-
%% libetf's text form against OTP: terms made here are printed by OTP
%% (io_lib:format "~w" and "~0tp", the single-line ~tp) and by
%% `etf --from etf --to text|pretty`, byte for byte; OTP's texts and a set
%% of edge cases are parsed by `etf --from text --to etf` and compared with
%% the original terms and with erl_scan + erl_parse + erl_eval.
%%
%% usage: etf_text_otp.escript ETF_TOOL WORKDIR N SEED
-mode(compile).

main([Tool, Work, NS, SeedS]) ->
    N = list_to_integer(NS),
    Seed = list_to_integer(SeedS),
    rand:seed(exsss, {Seed, Seed * 7 + 1, Seed * 13 + 2}),
    put(tool, Tool),
    put(work, Work),
    put(fails, 0),
    put(passes, 0),
    Terms = terms(N),
    io:format("== ~w terms: printing (~~w and single-line ~~tp)~n",
              [length(Terms)]),
    print_check(w, Terms),
    print_check(tp, Terms),
    io:format("== pids, ports and refs in the documented form~n"),
    node_check(),
    io:format("== parsing OTP's own text back~n"),
    Back = [T || T <- Terms, readable(T)],
    parse_back(w, Back),
    parse_back(tp, Back),
    io:format("== parsing edge cases against erl_scan/erl_parse/erl_eval~n"),
    [parse_vs_otp(S) || S <- edge_texts()],
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
    case binary:last(B) of
        $\n -> binary:part(B, 0, byte_size(B) - 1);
        _ -> B
    end.

otp_text(w, T) -> unicode:characters_to_binary(io_lib:format("~w", [T]));
otp_text(tp, T) -> unicode:characters_to_binary(io_lib:format("~0tp", [T])).

pass(N) -> put(passes, get(passes) + N).

fail(Fmt, Args) ->
    F = get(fails),
    put(fails, F + 1),
    case F < 25 of
        true ->
            Msg = unicode:characters_to_binary(io_lib:format(Fmt, [short(A) || A <- Args])),
            io:format("MISMATCH ~ts~n", [Msg]);
        false -> ok
    end.

%% Keep reports readable: long texts and terms are cut.
short(B) when is_binary(B), byte_size(B) > 300 ->
    <<(binary:part(B, 0, 300))/binary, "...">>;
short(A) when is_atom(A); is_binary(A) -> A;
short(L) when is_list(L) ->
    case io_lib:char_list(L) of
        true when length(L) > 300 -> lists:sublist(L, 300) ++ "...";
        true -> L;
        false -> short_term(L)
    end;
short(T) -> short_term(T).

short_term(T) ->
    S = unicode:characters_to_binary(io_lib:format("~0tp", [T])),
    {shortened, short(S)}.

%% Print a batch [{T1},...] at once; on a difference, halve the batch
%% until each differing term is found.
print_check(Fmt, Terms) ->
    Mode = case Fmt of w -> "text"; tp -> "pretty" end,
    check_batch(fun(Ts) ->
                        Batch = [{T} || T <- Ts],
                        Want = otp_text(Fmt, Batch),
                        case run("--from etf --to " ++ Mode,
                                 term_to_binary(Batch)) of
                            {ok, Got} -> chomp(Got) =:= Want;
                            {error, _} -> false
                        end
                end,
                fun(T) ->
                        Got = case run("--from etf --to " ++ Mode,
                                       term_to_binary(T)) of
                                  {ok, G} -> chomp(G);
                                  {error, E} -> E
                              end,
                        fail("~~~s of ~0tp~n  otp: ~ts~n  ours: ~ts",
                             [Fmt, T, otp_text(Fmt, T), Got])
                end, Terms).

check_batch(_Ok, _Report, []) -> ok;
check_batch(Ok, Report, Ts) ->
    case Ok(Ts) of
        true -> pass(length(Ts));
        false when length(Ts) =:= 1 -> Report(hd(Ts));
        false ->
            {A, B} = lists:split(length(Ts) div 2, Ts),
            check_batch(Ok, Report, A),
            check_batch(Ok, Report, B)
    end.

%% Texts OTP prints that read back to the same term: not pids, ports,
%% refs (another form), local funs (no code), nor exports of non-ASCII
%% atoms (OTP prints their UTF-8 bytes as characters).
readable(T) when is_pid(T); is_port(T); is_reference(T) -> false;
readable(T) when is_function(T) ->
    case erlang:fun_info(T, type) of
        {type, external} ->
            {module, M} = erlang:fun_info(T, module),
            {name, F} = erlang:fun_info(T, name),
            lists:all(fun(C) -> C < 128 end,
                      atom_to_list(M) ++ atom_to_list(F));
        _ -> false
    end;
readable(T) when is_list(T) -> readable_list(T);
readable(T) when is_tuple(T) -> lists:all(fun readable/1, tuple_to_list(T));
readable(T) when is_map(T) ->
    lists:all(fun readable/1, maps:keys(T) ++ maps:values(T));
readable(_) -> true.

readable_list([H | T]) -> readable(H) andalso readable_list(T);
readable_list([]) -> true;
readable_list(T) -> readable(T).

parse_back(Fmt, Terms) ->
    check_batch(fun(Ts) ->
                        Text = [$[, lists:join(",", [otp_text(Fmt, T) || T <- Ts]), $]],
                        case run("--from text --to etf",
                                 unicode:characters_to_binary(Text)) of
                            {ok, B} -> binary_to_term(B) =:= Ts;
                            {error, _} -> false
                        end
                end,
                fun(T) ->
                        Text = otp_text(Fmt, T),
                        Got = case run("--from text --to etf", Text) of
                                  {ok, B} -> binary_to_term(B);
                                  {error, E} -> E
                              end,
                        fail("reading ~~~s text ~ts~n  got ~0tp",
                             [Fmt, Text, Got])
                end, Terms).

%% One text through erl_scan/erl_parse/erl_eval and through our parser:
%% both fail, or both give the same term.
parse_vs_otp(S) ->
    Otp = otp_eval(S),
    Ours = case run("--from text --to etf", unicode:characters_to_binary(S)) of
               {ok, B} -> {ok, binary_to_term(B)};
               {error, _} -> error
           end,
    case {Otp, Ours} of
        {Same, Same} -> pass(1);
        {{ok, A}, {ok, B2}} when A =:= B2 -> pass(1);
        _ -> fail("parsing ~ts~n  otp: ~0tp~n  ours: ~0tp", [S, Otp, Ours])
    end.

otp_eval(S) ->
    case erl_scan:string(S) of
        {ok, Toks, _} ->
            Toks1 = case lists:reverse(Toks) of
                        [{dot, _} | _] -> Toks;
                        _ -> Toks ++ [{dot, 1}]
                    end,
            case erl_parse:parse_exprs(Toks1) of
                {ok, [E]} ->
                    try erl_eval:expr(E, []) of
                        {value, V, _} -> {ok, V}
                    catch _:_ -> error
                    end;
                _ -> error
            end;
        _ -> error
    end.

%% ---------------------------------------------------------------------
%% pids, ports, refs: <'node'/Creation.Id.Serial> and the like

node_check() ->
    Nodes = [<<"a@h">>, <<"other@nohost">>, <<"n@host.example.com">>,
             <<"x'y@h">>, <<"é@h"/utf8>>, <<"中@h"/utf8>>],
    [begin
         Atom = <<(case NodeL of Node -> 118; _ -> 100 end),
                  (byte_size(NodeL)):16, NodeL/binary>>,
         NodeA = binary_to_atom(Node, utf8),
         Id = rand:uniform(1 bsl 32) - 1,
         Ser = rand:uniform(1 bsl 32) - 1,
         Cr = case rand:uniform(3) of 1 -> 0; _ -> rand:uniform(1 bsl 32) - 1 end,
         Words = [rand:uniform(1 bsl 32) - 1 || _ <- lists:seq(1, rand:uniform(5))],
         Port = rand:uniform(1 bsl 40),
         Pid = binary_to_term(<<131, 88, Atom/binary, Id:32, Ser:32, Cr:32>>),
         Ref = binary_to_term(<<131, 90, (length(Words)):16, Atom/binary, Cr:32,
                                << <<W:32>> || W <- Words >>/binary>>),
         PortT = binary_to_term(<<131, 120, Atom/binary, Port:64, Cr:32>>),
         [node_case(Fmt, T, Want)
          || Fmt <- [w, tp],
             {T, Want} <-
                 [{Pid, ["<", node_text(Fmt, NodeA, Cr), ".", int(Id), ".",
                         int(Ser), ">"]},
                  {PortT, ["#Port<", node_text(Fmt, NodeA, Cr), ".", int(Port),
                           ">"]},
                  {Ref, ["#Ref<", node_text(Fmt, NodeA, Cr),
                         [[".", int(W)] || W <- lists:reverse(Words)], ">"]}]]
     end || Node <- Nodes, NodeL <- [latin1_or_utf8(Node)]].

%% ATOM_EXT with Latin-1 text where it can, as OTP 25 writes atoms.
latin1_or_utf8(Node) ->
    case unicode:characters_to_binary(Node, utf8, latin1) of
        B when is_binary(B), B =/= Node -> B;
        B when is_binary(B) -> <<B/binary>>;
        _ -> Node
    end.

int(I) -> integer_to_list(I).

node_text(Fmt, Node, Cr) ->
    Q = case Fmt of
            w -> io_lib:write_string_as_latin1(atom_to_list(Node), $');
            tp -> io_lib:write_string(atom_to_list(Node), $')
        end,
    [Q, case Cr of 0 -> ""; _ -> ["/", int(Cr)] end].

node_case(Fmt, T, Want0) ->
    Want = unicode:characters_to_binary(Want0),
    Mode = case Fmt of w -> "text"; tp -> "pretty" end,
    Got = case run("--from etf --to " ++ Mode, term_to_binary(T)) of
              {ok, G} -> chomp(G);
              {error, E} -> E
          end,
    Back = case run("--from text --to etf", Got) of
               {ok, B} -> binary_to_term(B);
               {error, E2} -> E2
           end,
    case Got =:= Want andalso Back =:= T of
        true -> pass(1);
        false -> fail("~~~s of a pid/port/ref~n  want: ~ts~n  ours: ~ts~n  "
                      "read back: ~0tp", [Fmt, Want, Got, Back])
    end.

%% ---------------------------------------------------------------------
%% terms

terms(N) ->
    [rfloat() || _ <- lists:seq(1, N)] ++
        [ratom() || _ <- lists:seq(1, N div 2)] ++
        [rint() || _ <- lists:seq(1, N div 4)] ++
        [rstring() || _ <- lists:seq(1, N div 4)] ++
        [rbinary() || _ <- lists:seq(1, N div 4)] ++
        [rfun() || _ <- lists:seq(1, N div 10)] ++
        [rterm(4) || _ <- lists:seq(1, N div 4)] ++
        [rmap(33 + rand:uniform(200)) || _ <- lists:seq(1, 20)] ++
        fixed().

fixed() ->
    [1.0, 0.1, 1.0e10, 1.0e-5, -0.0, 0.0, 5.0e-324, 1.7976931348623157e308,
     2.2250738585072014e-308, 2.225073858507201e-308, 100.0, 1000.0, 0.001,
     0.0001, 9007199254740992.0, 9007199254740993.0, 1.0e22, 1.0e23,
     123456789.0, 1.0e15, 1.0e16, 4.35e-5,
     [], {}, #{}, <<>>, "", [[]], [1 | 2], [a, b | c], {{}, []},
     list_to_tuple(lists:seq(1, 300)), lists:seq(0, 255), lists:seq(0, 300),
     nest_list(10000), nest_tuple(10000),
     1 bsl 64, -(1 bsl 64), 1 bsl 1000, -(1 bsl 2040) + 1,
     (1 bsl 2048) - 1, 1 bsl 2048, (1 bsl 80000) - 1, -(1 bsl 80001),
     pow3(40000), -pow3(12345),
     fun lists:map/2, fun erlang:'+'/2, fun 'a b':'c'/0,
     'after', 'and', 'andalso', 'band', 'begin', 'bnot', 'bor', 'bsl', 'bsr',
     'bxor', 'case', 'catch', 'cond', 'div', 'end', 'fun', 'if', 'let', 'not',
     'of', 'or', 'orelse', 'receive', 'rem', 'try', 'when', 'xor', maybe,
     else, 'spec', true, false, '', '_', 'A', a@b, '@', 'a.b'].

nest_list(0) -> [];
nest_list(N) -> [nest_list(N - 1)].

nest_tuple(0) -> {};
nest_tuple(N) -> {nest_tuple(N - 1)}.

rfloat() ->
    case rand:uniform(5) of
        1 -> case <<(rand:uniform(1 bsl 64) - 1):64>> of
                 <<X:64/float>> -> X;
                 _ -> rfloat()
             end;
        2 -> rand:uniform() * math:pow(10, rand:uniform(40) - 20);
        3 -> float(rand:uniform(100000000)) / math:pow(10, rand:uniform(12));
        4 -> <<X:64/float>> = <<(rand:uniform(1 bsl 52)):64>>, X;
        5 -> float(rand:uniform(1 bsl 60)) * math:pow(2, rand:uniform(20))
    end.

rchar() ->
    case rand:uniform(10) of
        1 -> rand:uniform(32) - 1;
        2 -> 126 + rand:uniform(34);
        3 -> 159 + rand:uniform(97);
        4 -> 255 + rand:uniform(16#D7FF - 255);
        5 -> 16#FFFF + rand:uniform(16#10FFFF - 16#FFFF);
        6 -> S = "'\"\\@_. ", lists:nth(rand:uniform(length(S)), S);
        _ -> 31 + rand:uniform(95)
    end.

ratom() ->
    L = [rchar() || _ <- lists:seq(1, rand:uniform(12) - 1)],
    case rand:uniform(3) of
        1 -> list_to_atom([$a + rand:uniform(26) - 1 | L]);
        _ -> list_to_atom(L)
    end.

pow3(0) -> 1;
pow3(N) when N rem 2 =:= 0 -> X = pow3(N div 2), X * X;
pow3(N) -> 3 * pow3(N - 1).

rint() ->
    case rand:uniform(5) of
        5 -> case rand:uniform(20) of
                 %% now and then a bignum of up to 20,000 bytes
                 1 -> binary:decode_unsigned(rand:bytes(250 + rand:uniform(20000)))
                          * (rand:uniform(2) * 2 - 3);
                 _ -> rand:uniform(1000)
             end;
        1 -> rand:uniform(1000) - 500;
        2 -> rand:uniform(1 bsl 64) - (1 bsl 63);
        3 -> (rand:uniform(1 bsl 200) - (1 bsl 199)) * (rand:uniform(1 bsl 200));
        4 -> pow_edge()
    end.

pow_edge() ->
    B = rand:uniform(130),
    (1 bsl B) + rand:uniform(3) - 2 - (rand:uniform(2) - 1) * (2 bsl B).

rstring() ->
    case rand:uniform(3) of
        1 -> [31 + rand:uniform(95) || _ <- lists:seq(1, rand:uniform(20))];
        2 -> [rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(20))];
        3 -> [rchar() || _ <- lists:seq(1, rand:uniform(20))]
    end.

rbinary() ->
    case rand:uniform(5) of
        1 -> list_to_binary([31 + rand:uniform(95) || _ <- lists:seq(1, rand:uniform(20))]);
        2 -> << <<(rand:uniform(256) - 1)>> || _ <- lists:seq(1, rand:uniform(20)) >>;
        3 -> unicode:characters_to_binary([C || C <- rstring(), C < 16#D800 orelse C > 16#DFFF]);
        4 -> Bits = rand:uniform(7),
             <<(rbinary())/bits, (rand:uniform(1 bsl Bits) - 1):Bits>>;
        5 -> list_to_binary([158 + rand:uniform(97) || _ <- lists:seq(1, rand:uniform(10))])
    end.

%% exports with random atoms, and local funs with random module atoms and
%% old index and uniq values
rfun() ->
    A = fun() -> atom_to_binary(ratom(), utf8) end,
    Ext = fun(B) -> <<118, (byte_size(B)):16, B/binary>> end,
    case rand:uniform(2) of
        1 -> binary_to_term(<<131, 113, (Ext(A()))/binary, (Ext(A()))/binary, 97,
                              (rand:uniform(256) - 1)>>);
        2 -> Pid = <<88, 100, 0, 3, "a@h", 0:32, 0:32, 0:32>>,
             Small = fun() -> rand:uniform(1 bsl 40) - (1 bsl 39) end,
             Int = fun(<<131, R/binary>>) -> R end,
             %% distinct new index and uniq as well as old ones
             Body2 = <<1, (rand:uniform(1 bsl 128) - 1):128,
                       (rand:uniform(1 bsl 32) - 1):32, 0:32, (Ext(A()))/binary,
                       (Int(term_to_binary(Small())))/binary,
                       (Int(term_to_binary(Small())))/binary, Pid/binary>>,
             binary_to_term(<<131, 112, (byte_size(Body2) + 4):32, Body2/binary>>)
    end.

rterm(0) -> leaf();
rterm(D) ->
    case rand:uniform(8) of
        1 -> list_to_tuple([rterm(D - 1) || _ <- lists:seq(1, rand:uniform(5) - 1)]);
        2 -> [rterm(D - 1) || _ <- lists:seq(1, rand:uniform(5) - 1)];
        3 -> [rterm(D - 1) || _ <- lists:seq(1, rand:uniform(3))] ++ leaf();
        4 -> maps:from_list([{rterm(D - 1), rterm(D - 1)} || _ <- lists:seq(1, rand:uniform(5) - 1)]);
        _ -> leaf()
    end.

leaf() ->
    case rand:uniform(8) of
        1 -> rfloat();
        2 -> ratom();
        3 -> rint();
        4 -> rstring();
        5 -> rbinary();
        6 -> rfun();
        7 -> [];
        8 -> {}
    end.

rmap(N) -> maps:from_list([{leaf(), leaf()} || _ <- lists:seq(1, N)]).

%% ---------------------------------------------------------------------
%% texts to parse, each alone

edge_texts() ->
    ["1", "-1", "- 1", "+1", "- -1", "-+-1", "--1", "1_000", "1__0", "1_",
     "16#ff", "16#FF_ff", "1_6#ff", "2#102", "2#1010", "36#zZ", "37#1", "1#0",
     "16#", "-16#10", "123456789012345678901234567890",
     "-123456789012345678901234567890", "9223372036854775807",
     "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
     "18446744073709551616", "36#ZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
     "1.0", "1.5e10", "2.5E-3", "1.0e+5", "1e5", "1.0e", "1.0e+", "1.0e400",
     "1.0e-400", "-0.0", "- 0.0", "1_000.0_5e1_0", "1.0_e5", "0.1", "5.0e-324",
     "1.7976931348623157e308", "1.7976931348623159e308", "4.9e-324", "2.4e-324",
     "$a", "$\\n", "$\\x{1F600}", "$\\^A", "$\\^a", "$ ", "$\\s", "$\\101",
     "$\\7", "$\\x41", "-$a", "$\\\\", "$'", "$\"", "$é", "$\\x{D800}", "$",
     "\"hello\"", "\"a\\nb\"", "\"\\x{1F600}\"", "\"\\101\\1012\"",
     "\"\\^A\\^z\"", "\"\\e\\d\\s\\v\\b\\f\\r\\t\"", "\"\\q\"", "\"a\" \"b\"",
     "\"a\"\n%c\n\"b\"", "\"\"", "\"é\"", "\"中文\"", "\"\\x{FFFE}\"",
     "\"\\x{D7FF}\"", "\"\\xG\"", "\"\\x{}\"", "\"unterminated", "\"a\\\nb\"",
     "\"\\x{10FFFF}\"", "\"\\x{110000}\"",
     "atom", "'Atom'", "'a b'", "'\\n'", "a@b", "a_B9", "'and'", "and", "fun",
     "'fun'", "true", "else", "maybe", "é", "ßa", "Étoile", "_", "_x", "X",
     "'é'", "'中文'", "'\\x{4E2D}'", "''", "'\\x{110000}'", "a.b",
     lists:duplicate(255, $a), lists:duplicate(256, $a),
     "'" ++ lists:duplicate(255, 16#4e2d) ++ "'",
     "'" ++ lists:duplicate(256, 16#4e2d) ++ "'",
     "{}", "{a}", "{a,b}", "{a,{b,{c}}}", "{a,}", "{,}", "{a b}", "{a",
     "[]", "[1]", "[1,2]", "[1|2]", "[1,2|3]", "[1,2|[3]]", "[1|[]]",
     "[1|\"ab\"]", "[a|b|c]", "[|1]", "[1,]", "[[]]", "[1 | [2 | [3 | []]]]",
     "[1|[2|x]]", "[\"ab\"|\"cd\"]",
     "#{}", "#{a=>1}", "#{a => 1, b => 2}", "#{a=>1,a=>2}",
     "#{b=>1,a=>2,c=>3}", "#{1=>a,1.0=>b}", "#{a:=1}", "#{a}", "#{a=>}",
     "#{{a,b}=>[1,2], <<1>> => #{}}", "#{1=>1,1=>2,2=>3,1=>4}",
     "<<>>", "<<1,2,3>>", "<<\"abc\">>", "<<\"abc\"/utf8>>", "<<\"é\"/utf8>>",
     "<<\"中\"/utf16>>", "<<\"中\"/utf32-little>>", "<<300>>", "<<-1:12>>",
     "<<1:4/little>>", "<<1:12/little>>", "<<1:16/little>>",
     "<<16#1234:13/little>>", "<<-5:21/little-signed>>",
     "<<<<1,2>>:1/binary>>", "<<<<1:3>>/binary>>", "<<<<1:3>>/bits>>",
     "<<1.5>>", "<<1.5/float>>", "<<1.5:32/float>>", "<<1:64/float>>",
     "<<1.0e300:32/float>>", "<<-1.0e300:32/float>>", "<<\"ab\":16>>",
     "<<1:8/unit:2>>", "<<1/utf16-little>>", "<<16#D800/utf8>>",
     "<<1:3, 2:5>>", "<<1:0>>", "<<1/signed>>", "<<1:16/native>>",
     "<<$a, \"bc\", 1:1>>", "<<<<>>/binary>>", "<<<<1,2>>/binary, 3>>",
     "<<a>>", "<<1:3/binary>>", "<<(1)>>", "<<1/float-little>>",
     "<<16#123456789ABCDEF0123:80>>", "<<-16#123456789ABCDEF0123:80>>",
     "<<-16#123456789ABCDEF0123:88/little>>", "<<1:1,1:1,1:1>>",
     "<<\"x\"/binary>>", "<<1:2/unit:8>>", "<<1/utf8-unit:8>>",
     "<<1:8/integer-signed-big>>", "<<-1/unsigned>>", "<<1:4/binary-unit:1>>",
     "<<\"ab\"/utf16-little>>", "<<$\\x{1F600}/utf16>>", "<<1:1/unit:256>>",
     "<<<<1,2,3>>:2/binary-unit:8>>",
     "fun lists:map/2", "fun 'a b':'c d'/0", "fun lists:map/256",
     "fun lists:map/255", "fun M:f/1", "fun lists:map", "fun erlang:'+'/2",
     "1.", "1 .", "1.%c", "{a}. ", "1 2", "[1,2].\n", "", " ", "% only a comment",
     "1 % comment", "{a, % c\n b}", "{1, -2, - 3.5, -$a}", "(1)", "((a))", "-(1)", "-(-(2.5))", "+(3)",
     "-(9223372036854775808)", "-(-9223372036854775808)", "-(a)", "-({})",
     "<<-(1):8>>", "-(16#10)",
     "-a", "{ok, <<\"hi\">>, 'n@h', [1,2|3]}", [16#104], "{a, 中}", [16#A1],
     [16#A0, $1, 16#85], "'a' 'b'", "a@", "@a", "a b"].
