%% The OTP side of dist-bench: receivers, senders and the measurements.
%% Every measurement runs the same code against the gateway and against
%% an OTP node acting as the receiver, and prints "@ Metric Side Value"
%% lines (Side: gw or beam) that the driver script turns into a table.
%%
%% A receiver (the gateway, or an OTP node running receiver/0) has:
%%   sink  drops every message, answers {get, Pid} with {msgs, []}
%%         (the gateway's -recorder mode does exactly that for messages
%%         that are not {send, From, Content})
%%   echo  sends {Pid, Msg} back to Pid (the gateway's -echo mode sends
%%         every message back to its sender, which is the same here)
%%   q     keeps every message (the gateway's -mailbox mode)
-module(dist_bench).
-export([receiver/0, run/1, fanin/1, hold/1]).

receiver() ->
    register(sink, spawn(fun sink/0)),
    register(echo, spawn(fun echo/0)),
    register(q, spawn(fun() -> receive after infinity -> ok end end)),
    io:format("ready~n"),
    receive after infinity -> ok end.

sink() ->
    receive
        {get, P} -> P ! {msgs, []};
        _ -> ok
    end,
    sink().

echo() ->
    receive
        {P, _} = M when is_pid(P) -> P ! M;
        _ -> ok
    end,
    echo().

%% run(["gw=Node", "beam=Node", "prefix=P", Phase...]): one sender node
%% runs each phase against the gateway, then against the OTP receiver;
%% ms= is the length of one round (default 1000), rounds= how many
%% (default 3).
%% Options gwpid= and beampid= name the receivers' OS processes, whose
%% CPU time and RSS are read from /proc (the same machine).
%% Phases: inbound_small inbound_1k inbound_1m rtt handshakes fill=N
run(Args) ->
    {Opts, Phases} = lists:partition(fun(A) -> lists:member($=, A) andalso
                                                  not lists:prefix("fill=", A) end, Args),
    O = [list_to_tuple(string:split(A, "=")) || A <- Opts],
    put(inflight, list_to_integer(case lists:keyfind("inflight", 1, O) of
                                      {_, F} -> F;
                                      false -> "4"
                                  end)),
    put(ospid, #{gw => opt("gwpid", O), beam => opt("beampid", O)}),
    Gw = list_to_atom(opt("gw", O)),
    Beam = list_to_atom(opt("beam", O)),
    Prefix = case lists:keyfind("prefix", 1, O) of
                 {_, P} -> P;
                 false -> ""
             end,
    Dur = list_to_integer(case lists:keyfind("ms", 1, O) of
                              {_, D} -> D;
                              false -> "1000"
                          end),
    Rounds = list_to_integer(case lists:keyfind("rounds", 1, O) of
                                 {_, R} -> R;
                                 false -> "3"
                             end),
    [begin pong = net_adm:ping(N) end || N <- [Gw, Beam]],
    put(order, []),
    %% The machine may be shared: the two sides take turns, Rounds times
    %% for the rates, and each figure is the median of its rounds.
    lists:foreach(
      fun(Ph) ->
              Times = case Ph of
                          "inbound_" ++ _ -> Rounds;
                          "handshakes" -> Rounds;
                          _ -> 1
                      end,
              [phase(Ph, Side, N, Prefix, Dur)
               || _ <- lists:seq(1, Times), {Side, N} <- [{gw, Gw}, {beam, Beam}]]
      end, Phases),
    [io:format("@ ~s ~s ~p~n", [K, Side, summary(K, get({res, K, Side}))])
     || {K, Side} <- lists:reverse(get(order))],
    halt(0).

%% Failed connects add up; every other figure is the median of its rounds.
summary(K, Vs) ->
    case lists:suffix("_failed", K) of
        true -> lists:sum(Vs);
        false -> lists:nth((length(Vs) + 1) div 2, lists:sort(Vs))
    end.

opt(K, O) ->
    {_, V} = lists:keyfind(K, 1, O),
    V.

%% Keep a figure of one round.
out(Prefix, Metric, Side, Value) ->
    K = Prefix ++ Metric,
    case get({res, K, Side}) of
        undefined ->
            put(order, [{K, Side} | get(order)]),
            put({res, K, Side}, [Value]);
        Vs ->
            put({res, K, Side}, [Value | Vs])
    end.

phase("inbound_" ++ Class, Side, Node, Prefix, Dur) ->
    OsPid = maps:get(Side, get(ospid)),
    C0 = cpu_us(OsPid),
    S0 = cpu_us(os:getpid()),
    {Msgs, Bytes, Us} = inbound(Node, Class, Dur),
    %% Who was busy: the receiver's and this sender's CPU, in % of a
    %% core, and the receiver's CPU time per message (which other load on
    %% the machine does not change much).
    RecvUs = cpu_us(OsPid) - C0,
    out(Prefix, "inbound_" ++ Class ++ "_cpu", Side, round(RecvUs / Us * 100)),
    out(Prefix, "inbound_" ++ Class ++ "_us_per_msg", Side,
        round(RecvUs / Msgs * 100) / 100),
    out(Prefix, "inbound_" ++ Class ++ "_sender_cpu", Side,
        round((cpu_us(os:getpid()) - S0) / Us * 100)),
    out(Prefix, "inbound_" ++ Class ++ "_msgs", Side, round(Msgs * 1.0e6 / Us)),
    out(Prefix, "inbound_" ++ Class ++ "_mbs", Side,
        round(Bytes / Us * 100) / 100);
phase("rtt", Side, Node, Prefix, _) ->
    {P50, P99} = rtt(Node, 20000),
    out(Prefix, "rtt_p50", Side, P50),
    out(Prefix, "rtt_p99", Side, P99);
phase("handshakes", Side, Node, Prefix, Dur) ->
    {Ok, Failed, Us} = handshakes(Node, Dur),
    out(Prefix, "handshakes", Side, round(Ok * 1.0e6 / Us)),
    out(Prefix, "handshakes_failed", Side, Failed);
phase("fill=" ++ N, Side, Node, Prefix, _) ->
    OsPid = maps:get(Side, get(ospid)),
    Before = rss_kb(OsPid),
    {Count, Us} = fill(Node, list_to_integer(N)),
    After = rss_kb(OsPid),
    out(Prefix, "fill_rss_before", Side, Before),
    out(Prefix, "fill_rss_after", Side, After),
    out(Prefix, "fill_msgs_per_s", Side, round(Count * 1.0e6 / Us)),
    out(Prefix, "fill_bytes_per_msg", Side,
        round((After - Before) * 1024 / Count)).

%% The messages of a size class, cycled through a window, and the window.
class("small") -> {[hello, {tick, 42, <<"abc">>}], 2000};
class("1k") -> {[{data, binary:copy(<<"x">>, 1024)}], 500};
class("1m") -> {[{data, binary:copy(<<"y">>, 1024 * 1024)}], 4}.

window(Msgs, W) ->
    lists:sublist(lists:append(lists:duplicate(W div length(Msgs) + 1, Msgs)), W).

%% Send windows of messages to sink, each followed by {get, self()}, with
%% at most inflight= (default 4) windows unanswered: as fast as the receiver takes
%% them, never faster. Returns messages, ETF bytes and microseconds.
inbound(Node, Class, Dur) ->
    {Msgs, W} = class(Class),
    Win = window(Msgs, W),
    WinBytes = lists:sum([byte_size(term_to_binary(M)) || M <- Win]),
    Dest = {sink, Node},
    %% Warm up: one window there and back.
    send_window(Dest, Win),
    receive {msgs, _} -> ok end,
    T0 = erlang:monotonic_time(microsecond),
    Deadline = T0 + Dur * 1000,
    N = inbound_loop(Dest, Win, Deadline, get(inflight), 0, 0),
    Us = erlang:monotonic_time(microsecond) - T0,
    {N * W, N * WinBytes, Us}.

inbound_loop(Dest, Win, Deadline, Max, InFlight, Done) ->
    case erlang:monotonic_time(microsecond) < Deadline of
        true when InFlight < Max ->
            send_window(Dest, Win),
            inbound_loop(Dest, Win, Deadline, Max, InFlight + 1, Done);
        true ->
            receive {msgs, _} -> ok end,
            inbound_loop(Dest, Win, Deadline, Max, InFlight - 1, Done + 1);
        false ->
            [receive {msgs, _} -> ok end || _ <- lists:seq(1, InFlight)],
            Done + InFlight
    end.

send_window(Dest, Win) ->
    lists:foreach(fun(M) -> Dest ! M end, Win),
    Dest ! {get, self()}.

%% N ping-pongs of {self(), ping} through echo: p50 and p99 in us.
rtt(Node, N) ->
    Dest = {echo, Node},
    Self = self(),
    M = {Self, ping},
    Once = fun() ->
                   T0 = erlang:monotonic_time(nanosecond),
                   Dest ! M,
                   receive M -> ok end,
                   erlang:monotonic_time(nanosecond) - T0
           end,
    [Once() || _ <- lists:seq(1, 1000)],
    Ts = lists:sort([Once() || _ <- lists:seq(1, N)]),
    {pct(Ts, N, 50), pct(Ts, N, 99)}.

pct(Sorted, N, P) ->
    round(lists:nth(max(1, (N * P + 99) div 100), Sorted) / 100) / 10.

%% Connect, handshake, disconnect, for Dur ms.
handshakes(Node, Dur) ->
    erlang:disconnect_node(Node),
    timer:sleep(200),
    T0 = erlang:monotonic_time(microsecond),
    hs_loop(Node, T0 + Dur * 1000, 0, 0, T0).

hs_loop(Node, Deadline, Ok, Failed, T0) ->
    Now = erlang:monotonic_time(microsecond),
    if
        Now >= Deadline ->
            {Ok, Failed, Now - T0};
        true ->
            case net_kernel:connect_node(Node) of
                true ->
                    erlang:disconnect_node(Node),
                    hs_loop(Node, Deadline, Ok + 1, Failed, T0);
                _ ->
                    hs_loop(Node, Deadline, Ok, Failed + 1, T0)
            end
    end.

%% N small messages into q, in batches of 10,000, each batch confirmed by
%% a {get, self()} to sink on the same connection (so q has them all).
fill(Node, N) ->
    Q = {q, Node},
    S = {sink, Node},
    T0 = erlang:monotonic_time(microsecond),
    fill_loop(Q, S, N),
    {N, erlang:monotonic_time(microsecond) - T0}.

fill_loop(_, _, 0) ->
    ok;
fill_loop(Q, S, N) ->
    B = min(N, 10000),
    [Q ! {tick, I, <<"abc">>} || I <- lists:seq(1, B)],
    S ! {get, self()},
    receive {msgs, _} -> ok end,
    fill_loop(Q, S, N - B).

%% CPU time of an OS process in microseconds: the sum over its threads
%% of the time on a CPU (schedstat, in ns; finer than stat's ticks).
cpu_us(OsPid) ->
    Dir = "/proc/" ++ OsPid ++ "/task/",
    {ok, Tasks} = file:list_dir(Dir),
    lists:sum([case file:read_file(Dir ++ T ++ "/schedstat") of
                   {ok, B} -> binary_to_integer(hd(binary:split(B, <<" ">>)));
                   _ -> 0
               end || T <- Tasks]) div 1000.

rss_kb(OsPid) ->
    {ok, B} = file:read_file("/proc/" ++ OsPid ++ "/status"),
    [_, Rest] = binary:split(B, <<"VmRSS:">>),
    [Kb | _] = string:lexemes(binary_to_list(Rest), " \t\n"),
    list_to_integer(Kb).

%% fanin([Gw, Beam, Go1, Go2, Ms]): one of several senders: small
%% messages to the gateway's sink once file Go1 exists, then to the OTP
%% receiver's once Go2 exists; prints "@ fanin Side Msgs Us".
fanin([Gw, Beam, Go1, Go2, Ms]) ->
    put(inflight, 4),
    G = list_to_atom(Gw),
    B = list_to_atom(Beam),
    pong = net_adm:ping(G),
    pong = net_adm:ping(B),
    io:format("ready~n"),
    lists:foreach(
      fun({Side, Node, Go}) ->
              wait_file(Go),
              {N, _, Us} = inbound(Node, "small", list_to_integer(Ms)),
              io:format("@ fanin ~s ~b ~b~n", [Side, N, Us])
      end, [{gw, G, Go1}, {beam, B, Go2}]),
    halt(0).

wait_file(F) ->
    case filelib:is_file(F) of
        true -> ok;
        false -> timer:sleep(20), wait_file(F)
    end.

%% hold([Gw, Beam, File]): connect to both, stay until File exists.
hold([Gw, Beam, File]) ->
    pong = net_adm:ping(list_to_atom(Gw)),
    pong = net_adm:ping(list_to_atom(Beam)),
    io:format("up~n"),
    wait_file(File),
    halt(0).
