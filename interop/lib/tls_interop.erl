%% The OTP side of interop/dist_tls.sh, run on nodes started with
%% -proto_dist inet_tls (or plain, for the refusals). Usage:
%%   erl ... -run tls_interop main GwNode Check...
%% Checks: ping (expects pong), pang (expects pang), echo=N (N varied
%% terms through the gateway's echo mailbox, back equal and in order),
%% hold=FILE (stay connected until FILE exists, then echo 1,000 terms:
%% the connection lived through everything in between). Each check
%% prints "PASS ..." or "FAIL ...", the last line is "DONE".
%%   erl ... -run tls_interop serve   registers tls_srv and waits.
-module(tls_interop).
-export([main/1, serve/0]).

main([GwStr | Checks]) ->
    G = list_to_atom(GwStr),
    lists:foreach(fun(C) -> report(C, catch check(C, G)) end, Checks),
    %% Let the logger write what TLS said before the node goes.
    timer:sleep(300),
    io:format("DONE~n"),
    halt(0).

report(C, ok) -> io:format("PASS ~s~n", [C]);
report(C, {ok, Note}) -> io:format("PASS ~s (~s)~n", [C, Note]);
report(C, Other) -> io:format("FAIL ~s: ~P~n", [C, Other, 20]).

check("ping", G) ->
    case net_adm:ping(G) of
        pong -> ok;
        pang -> pang
    end;
check("pang", G) ->
    case net_adm:ping(G) of
        pang -> ok;
        pong -> pong
    end;
check("echo=" ++ N, G) ->
    echo(G, list_to_integer(N));
check("hold=" ++ File, G) ->
    pong = net_adm:ping(G),
    true = erlang:monitor_node(G, true),
    hold(G, File);
check(Other, _) ->
    {unknown_check, Other}.

hold(G, File) ->
    receive
        {nodedown, G} -> nodedown
    after 200 ->
            case filelib:is_file(File) of
                true -> echo(G, 1000);
                false -> hold(G, File)
            end
    end.

%% Send N terms, at most 500 unanswered, and check each echo in order.
echo(G, N) ->
    T0 = erlang:monotonic_time(millisecond),
    Sent = send_upto(G, 1, min(N, 500)),
    case recv(G, 1, N, Sent, 0) of
        {ok, Bytes} ->
            T = erlang:monotonic_time(millisecond) - T0,
            {ok, io_lib:format("~b terms, ~b bytes of ETF, ~b ms", [N, Bytes, T])};
        Bad ->
            Bad
    end.

send_upto(G, From, To) ->
    [{echo, G} ! {I, term(I)} || I <- lists:seq(From, To)],
    To.

recv(_, I, N, _, Bytes) when I > N ->
    {ok, Bytes};
recv(G, I, N, Sent, Bytes) ->
    Want = {I, term(I)},
    receive
        Want ->
            Sent1 = if Sent < N -> send_upto(G, Sent + 1, Sent + 1); true -> Sent end,
            recv(G, I + 1, N, Sent1, Bytes + byte_size(term_to_binary(Want)));
        {nodedown, G} ->
            {nodedown, at, I};
        Other ->
            {wrong_echo, I, Other}
    after 10000 ->
            {no_echo, I}
    end.

%% A varied term for I: atoms (some not Latin-1), integers of every size,
%% floats, binaries and bitstrings, strings, maps, pids, refs, nesting.
term(I) ->
    Ref = case get(ref) of
              undefined -> R = make_ref(), put(ref, R), R;
              R -> R
          end,
    Bin = binary:copy(<<(I rem 256)>>, I rem 300),
    {I, -I * 1000003, I bsl (I rem 130), I / 7, Bin,
     <<I:(I rem 13 + 1)>>, integer_to_list(I), 'ünïcödé_atom',
     list_to_atom("a" ++ integer_to_list(I rem 97)),
     #{I => [self(), Ref], <<"k">> => {}, list => lists:seq(1, I rem 20)},
     [I | improper], "日本語"}.

serve() ->
    register(tls_srv, self()),
    io:format("ready~n"),
    receive stop -> halt(0) end.
