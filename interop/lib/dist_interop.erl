%% The OTP side of interop/dist_otp.sh: checks run on a real OTP node
%% against a distgw gateway. Each check prints one line, "PASS name" or
%% "FAIL name: why"; the last line is "DONE". Usage:
%%   erl -sname N -setcookie C -run dist_interop main GwNode Check...
%% Checks that need more than the gateway's node name take KEY=VALUE
%% words (gwpid=OSPID, count=N, marker=M).
-module(dist_interop).
-export([main/1, sink/0, term/1]).

main([GwStr | Words]) ->
    G = list_to_atom(GwStr),
    Opts = [list_to_tuple(string:split(W, "=")) || W <- Words, lists:member($=, W)],
    Checks = [list_to_atom(W) || W <- Words, not lists:member($=, W)],
    process_flag(trap_exit, true),
    lists:foreach(fun(C) -> run(C, G, Opts) end, Checks),
    io:format("DONE~n"),
    halt(0).

opt(K, Opts) ->
    {_, V} = lists:keyfind(K, 1, Opts),
    V.

run(Check, G, Opts) ->
    Self = self(),
    %% Each check runs in its own process, so a crash is a FAIL line.
    P = spawn(fun() ->
                      process_flag(trap_exit, true),
                      R = try check(Check, G, Opts) of
                              ok -> pass;
                              {ok, Note} -> {pass, Note};
                              Other -> {fail, Other}
                          catch
                              C:E:S -> {fail, {C, E, hd(S ++ [none])}}
                          end,
                      Self ! {self(), R}
              end),
    receive
        {P, pass} ->
            io:format("PASS ~s~n", [Check]);
        {P, {pass, Note}} ->
            io:format("PASS ~s (~s)~n", [Check, Note]);
        {P, {fail, Why}} ->
            io:format("FAIL ~s: ~P~n", [Check, Why, 30])
    after 170000 ->
            exit(P, kill),
            io:format("FAIL ~s: timed out~n", [Check])
    end.

%% A counter or gauge from the gateway's /metrics (option http=ADDR),
%% none without the option.
metric(Opts, Name) ->
    case lists:keyfind("http", 1, Opts) of
        false -> none;
        {_, Addr} ->
            Text = os:cmd("curl -s http://" ++ Addr ++ "/metrics"),
            [V] = [list_to_integer(string:trim(lists:nthtail(length(Name) + 1, L)))
                   || L <- string:split(Text, "\n", all),
                      lists:prefix(Name ++ " ", L)],
            V
    end.

%% Nothing arrives within T ms (for what must not happen).
quiet(T) ->
    receive
        M -> {unexpected, M}
    after T -> ok
    end.

gw_pid(G, Name) ->
    {Name, G} ! {'$gw_pid', self()},
    receive
        {'$gw_pid', Name, P} when node(P) =:= G -> P
    after 5000 -> exit({no_pid_for, Name})
    end.

check(ping, G, _) ->
    pong = net_adm:ping(G),
    {ok, io_lib:format("creation ~b", [erlang:system_info(creation)])};
check(stay, _, _) ->
    %% Keep the node up until the test kills it.
    receive after infinity -> ok end;
check(hidden, G, _) ->
    true = lists:member(G, nodes(hidden)),
    false = lists:member(G, nodes()),
    true = lists:member(G, nodes(connected)),
    ok;
check(print, G, Opts) ->
    %% The shell finds the line on the gateway's stdout.
    {inbox, G} ! {hello, list_to_atom(opt("marker", Opts)), <<"ü"/utf8>>},
    ok;
check(pang, G, _) ->
    pang = net_adm:ping(G),
    false = lists:member(G, nodes(connected)),
    ok;
check(monitor_name, G, _) ->
    R = erlang:monitor(process, {inbox, G}),
    ok = quiet(500),
    true = erlang:demonitor(R, [flush]),
    ok = quiet(300),
    ok;
check(monitor_noproc, G, _) ->
    R = erlang:monitor(process, {nosuch, G}),
    receive
        {'DOWN', R, process, {nosuch, G}, noproc} -> ok
    after 5000 -> no_down
    end;
check(monitor_pid_alive, G, _) ->
    P = gw_pid(G, inbox),
    R = erlang:monitor(process, P),
    ok = quiet(500),
    true = erlang:demonitor(R, [flush]),
    ok;
check(gen_call_noproc, G, _) ->
    try gen_server:call({nosuch, G}, hello, 5000) of
        X -> {returned, X}
    catch
        exit:{noproc, {gen_server, call, _}} -> ok
    end;
check(gen_call_mailbox, G, _) ->
    %% A mailbox keeps the call (the shell finds it printed); no reply.
    try gen_server:call({inbox, G}, {call_me, maybe}, 500) of
        X -> {returned, X}
    catch
        exit:{timeout, {gen_server, call, _}} -> ok
    end;
check(echo_pid, G, _) ->
    %% Sent to the echo mailbox's pid (SEND_SENDER), not its name.
    E = gw_pid(G, echo),
    T = {by_pid, make_ref(), <<"x">>},
    E ! T,
    receive
        T -> ok
    after 5000 -> no_echo
    end;
check(rpc_notsup, G, _) ->
    {badrpc, notsup} = rpc:call(G, erlang, node, []),
    {badrpc, notsup} = rpc:call(G, lists, reverse, [[1, 2]], 5000),
    ok;
check(spawn_notsup, G, _) ->
    %% The SPAWN_REPLY says notsup: spawn_monitor/2 raises it.
    try spawn_monitor(G, fun() -> ok end) of
        X -> {spawned, X}
    catch
        error:notsup -> ok
    end;
check(gw_pid, G, _) ->
    P = gw_pid(G, inbox),
    E = gw_pid(G, echo),
    true = is_pid(P) andalso P =/= E,
    P = gw_pid(G, inbox),
    ok;
check(link_unlink, G, _) ->
    P = gw_pid(G, inbox),
    true = link(P),
    true = unlink(P),
    true = link(P),
    ok = quiet(500),
    true = unlink(P),
    ok;
check(link_noproc, G, _) ->
    %% A pid of the gateway that is no mailbox.
    P = gw_pid(G, inbox),
    B = term_to_binary(P),
    Sz = byte_size(B) - 12,
    <<H:Sz/binary, _Id:32, Serial:32, Cr:32>> = B,
    Dead = binary_to_term(<<H/binary, 99999:32, Serial:32, Cr:32>>),
    G = node(Dead),
    true = link(Dead),
    receive
        {'EXIT', Dead, noproc} -> ok
    after 5000 -> no_exit
    end;
check(exit_to_mailbox, G, Opts) ->
    %% A mailbox traps exits: exit/2 becomes a message, printed by -print.
    P = gw_pid(G, inbox),
    true = exit(P, list_to_atom(opt("marker", Opts) ++ "_exit2")),
    true = exit(P, normal),
    ok = quiet(300),
    pong = net_adm:ping(G),
    ok;
check(linked_dies, G, Opts) ->
    %% A process linked to a mailbox dies: the mailbox gets the EXIT.
    P = gw_pid(G, inbox),
    Reason = list_to_atom(opt("marker", Opts) ++ "_linked"),
    {L, R} = spawn_monitor(fun() ->
                                   link(P),
                                   receive go -> exit(Reason) end
                           end),
    timer:sleep(200),
    L ! go,
    receive
        {'DOWN', R, process, L, Reason} -> ok
    after 5000 -> no_down
    end;
check(kill_mailbox, G, _) ->
    %% exit(Pid, kill): links get EXIT killed, monitors DOWN killed, an
    %% unlinked process and a demonitored monitor get nothing.
    V = gw_pid(G, victim),
    persistent_term:put(victim_pid, V),
    Self = self(),
    Linked = spawn(fun() ->
                           process_flag(trap_exit, true),
                           link(V),
                           Self ! {linked, self()},
                           receive
                               {'EXIT', V, Why} -> Self ! {linked_exit, Why}
                           after 10000 -> Self ! {linked_exit, none}
                           end
                   end),
    Unlinked = spawn(fun() ->
                             process_flag(trap_exit, true),
                             link(V),
                             unlink(V),
                             Self ! {unlinked, self()},
                             receive
                                 {'EXIT', V, Why} -> Self ! {unlinked_exit, Why}
                             after 2000 -> Self ! {unlinked_exit, none}
                             end
                     end),
    receive {linked, Linked} -> ok end,
    receive {unlinked, Unlinked} -> ok end,
    M1 = erlang:monitor(process, V),
    M2 = erlang:monitor(process, {victim, G}),
    M3 = erlang:monitor(process, V),
    true = erlang:demonitor(M3),
    timer:sleep(200),
    true = exit(V, kill),
    Got = [receive
               {linked_exit, W} -> {linked, W}
           after 5000 -> {linked, timeout}
           end,
           receive
               {'DOWN', M1, process, V, W1} -> {pid_monitor, W1}
           after 5000 -> {pid_monitor, timeout}
           end,
           receive
               {'DOWN', M2, process, {victim, G}, W2} -> {name_monitor, W2}
           after 5000 -> {name_monitor, timeout}
           end,
           receive
               {unlinked_exit, W3} -> {unlinked, W3}
           after 5000 -> {unlinked, timeout}
           end],
    Want = [{linked, killed}, {pid_monitor, killed}, {name_monitor, killed},
            {unlinked, none}],
    case {Got, quiet(300)} of
        {Want, ok} -> ok;
        Other -> Other
    end;
check(after_kill, G, _) ->
    %% The killed mailbox's name is gone: nothing answers, and a monitor
    %% by name gets DOWN noproc.
    {victim, G} ! {'$gw_pid', self()},
    ok = quiet(500),
    R = erlang:monitor(process, {victim, G}),
    receive
        {'DOWN', R, process, {victim, G}, noproc} -> ok
    after 5000 -> no_down_by_name
    end;
check(dead_pid_noproc, G, _) ->
    %% The killed mailbox's pid: a monitor gets DOWN noproc at once and a
    %% link EXIT noproc, as for any dead pid of a BEAM node.
    Dead = persistent_term:get(victim_pid),
    G = node(Dead),
    R2 = erlang:monitor(process, Dead),
    ok = receive
             {'DOWN', R2, process, Dead, noproc} -> ok
         after 5000 -> no_down_by_pid
         end,
    true = link(Dead),
    receive
        {'EXIT', Dead, noproc} -> ok
    after 5000 -> no_exit_on_link
    end;
check(recorder, G, _) ->
    N = 500,
    [{rec, G} ! {send, self(), {I, term(I)}} || I <- lists:seq(1, N)],
    {rec, G} ! {get, self()},
    receive
        {msgs, L} ->
            Want = [{self(), {I, term(I)}} || I <- lists:seq(1, N)],
            case L =:= Want of
                true -> ok;
                false -> {mismatch, length(L)}
            end
    after 20000 -> no_reply
    end;
check(echo, G, Opts) ->
    N = list_to_integer(opt("count", Opts)),
    T0 = erlang:monotonic_time(millisecond),
    {ok, Bytes} = echo_stream(G, N, 1000),
    T = erlang:monotonic_time(millisecond) - T0,
    {ok, io_lib:format("~b terms, ~b bytes of ETF, ~b ms", [N, Bytes, T])};
check(idle, G, Opts) ->
    %% An idle link stays up: the gateway answers ticks and ticks itself
    %% (run on a node with a short net_ticktime).
    Secs = list_to_integer(opt("secs", Opts)),
    pong = net_adm:ping(G),
    ok = net_kernel:monitor_nodes(true, [{node_type, hidden}]),
    ok = quiet(Secs * 1000),
    true = lists:member(G, nodes(hidden)),
    T = {still_here, make_ref()},
    {echo, G} ! T,
    receive
        T -> {ok, io_lib:format("~b s idle at net_ticktime ~b",
                                [Secs, net_kernel:get_net_ticktime()])}
    after 5000 -> no_echo
    end;
check(echo_big, G, _) ->
    %% One frame of about 24 MB each way.
    Big = {big, binary:copy(<<"0123456789abcdef">>, 1 bsl 20),
           lists:seq(1, 200000), [{I, <<I:64>>} || I <- lists:seq(1, 100000)]},
    {echo, G} ! Big,
    receive
        Big -> {ok, io_lib:format("~b bytes", [erlang:external_size(Big)])};
        Other -> {mismatch, erlang:external_size(Other)}
    after 60000 -> no_echo
    end;
check(over_limit, G, _) ->
    %% A frame over the gateway's limit (64 MiB by default) closes the
    %% link; the next ping connects again.
    pong = net_adm:ping(G),
    ok = net_kernel:monitor_nodes(true, [{node_type, hidden}]),
    {echo, G} ! binary:copy(<<0>>, 65 * 1024 * 1024),
    receive
        {nodedown, G, _} -> ok
    after 20000 -> exit(no_nodedown)
    end,
    pong = net_adm:ping(G),
    ok;
check(echo_parallel, G, _) ->
    %% 50 senders at once, 1,000 terms each: each sees its own in order.
    Self = self(),
    Ps = [spawn_link(fun() ->
                             ok = echo_expect_all(G, [{K, I, term(K * 1000 + I)}
                                                      || I <- lists:seq(1, 1000)]),
                             Self ! {done, self()}
                     end) || K <- lists:seq(1, 50)],
    [receive
         {done, P} -> ok;
         {'EXIT', P, Why} -> exit({sender_failed, Why})
     after 120000 -> exit(timeout)
     end || P <- Ps],
    ok;
check(bad_peers, G, Opts) ->
    %% Peers that do not speak the protocol are answered (where the
    %% protocol has an answer) and closed; the gateway serves on.
    Port = list_to_integer(opt("gwport", Opts)),
    Conn = fun() ->
                   {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port,
                                             [binary, {active, false}]),
                   S
           end,
    Closed = fun(S) ->
                     R = gen_tcp:recv(S, 0, 10000),
                     gen_tcp:close(S),
                     R
             end,
    %% a handshake message longer than any real one
    S1 = Conn(),
    ok = gen_tcp:send(S1, <<65535:16, 0:8000>>),
    {error, closed} = Closed(S1),
    %% random bytes
    S2 = Conn(),
    ok = gen_tcp:send(S2, crypto:strong_rand_bytes(10000)),
    {error, closed} = Closed(S2),
    %% a name message without the flags OTP 25 requires: not_allowed
    S3 = Conn(),
    Me = atom_to_binary(node()),
    ok = gen_tcp:send(S3, <<(15 + byte_size(Me)):16, $N, 4:64, 7:32,
                            (byte_size(Me)):16, Me/binary>>),
    {ok, <<0, 12, "snot_allowed">>} = gen_tcp:recv(S3, 14, 10000),
    {error, closed} = Closed(S3),
    %% a name that is not a node name
    S4 = Conn(),
    ok = gen_tcp:send(S4, <<(15 + 5):16, $N, 16#D07DF7FBC:64, 7:32, 5:16,
                            "nohst">>),
    {error, closed} = Closed(S4),
    %% a right name, then a wrong challenge reply
    S5 = Conn(),
    ok = gen_tcp:send(S5, <<(15 + byte_size(Me)):16, $N, 16#D07DF7FBC:64,
                            7:32, (byte_size(Me)):16, Me/binary>>),
    {ok, <<0, 3, "sok">>} = gen_tcp:recv(S5, 5, 10000),
    {ok, <<Len:16>>} = gen_tcp:recv(S5, 2, 10000),
    {ok, <<$N, _Flags:64, _Ch:32, _Cr:32, NL:16, Name:NL/binary>>} =
        gen_tcp:recv(S5, Len, 10000),
    Name = atom_to_binary(G),
    ok = gen_tcp:send(S5, <<21:16, $r, 1:32, 0:128>>),
    {error, closed} = Closed(S5),
    pong = net_adm:ping(G),
    ok;
check(slow_peer, _G, Opts) ->
    %% A peer that connects and says nothing is closed by the handshake
    %% timer (7 s, as OTP's net_setuptime).
    Port = list_to_integer(opt("gwport", Opts)),
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port, [binary, {active, false}]),
    T0 = erlang:monotonic_time(millisecond),
    {error, closed} = gen_tcp:recv(S, 0, 15000),
    T = erlang:monotonic_time(millisecond) - T0,
    case T >= 6000 andalso T =< 9000 of
        true -> {ok, io_lib:format("closed after ~b ms", [T])};
        false -> {closed_after_ms, T}
    end;
check(raw_peer, G, Opts) ->
    %% A node written here with gen_tcp: the handshake byte by byte, a
    %% tick answered, an echo in a pass-through frame, then a frame that
    %% is no control message closes the link.
    Port = list_to_integer(opt("gwport", Opts)),
    Cookie = atom_to_list(erlang:get_cookie()),
    [_, Host] = string:split(atom_to_list(node()), "@"),
    Me = list_to_binary("raw" ++ os:getpid() ++ "@" ++ Host),
    Flags = 16#D07DF7FBC,
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port,
                              [binary, {active, false}, {packet, 2}]),
    ok = gen_tcp:send(S, <<$N, Flags:64, 1234:32, (byte_size(Me)):16, Me/binary>>),
    {ok, <<"sok">>} = gen_tcp:recv(S, 0, 5000),
    {ok, <<$N, GwFlags:64, Ch:32, Cr:32, NL:16, Name:NL/binary>>} =
        gen_tcp:recv(S, 0, 5000),
    Name = atom_to_binary(G),
    0 = GwFlags band (16#2000 bor 16#800000), % no atom cache, no fragments
    MyCh = 987654321,
    ok = gen_tcp:send(S, <<$r, MyCh:32, (digest(Cookie, Ch))/binary>>),
    Ack = <<$a, (digest(Cookie, MyCh))/binary>>,
    {ok, Ack} = gen_tcp:recv(S, 0, 5000),
    ok = inet:setopts(S, [{packet, 4}]),
    timer:sleep(1100),
    ok = gen_tcp:send(S, <<>>),
    {ok, <<>>} = recv_frame(S),
    MyPid = binary_to_term(<<131, 88, 119, (byte_size(Me)), Me/binary, 42:32,
                             0:32, 1234:32>>),
    Msg = {raw, <<"ü"/utf8>>, [1 | 2], 1 bsl 80},
    ok = gen_tcp:send(S, [112, term_to_binary({6, MyPid, '', echo}),
                          term_to_binary(Msg)]),
    {ok, <<112, Rest/binary>>} = recv_frame(S),
    {{2, '', MyPid}, Used} = binary_to_term(Rest, [used]),
    <<_:Used/binary, MsgBin/binary>> = Rest,
    Msg = binary_to_term(MsgBin),
    %% the gateway's creation is the one of its pids
    EP = gw_pid(G, echo),
    Cr = pid_creation(EP),
    ok = gen_tcp:send(S, <<112, 131, 104, 1, 97, 99>>), % {99}: unknown op
    {error, closed} = recv_frame(S),
    ok;
check(raw_alive, _G, Opts) ->
    %% A node connects again while its first connection is up: the
    %% gateway asks (alive); "sfalse" keeps the old one, "strue" replaces
    %% it, as net_kernel does.
    Port = list_to_integer(opt("gwport", Opts)),
    Cookie = atom_to_list(erlang:get_cookie()),
    [_, Host] = string:split(atom_to_list(node()), "@"),
    Me = list_to_binary("alive" ++ os:getpid() ++ "@" ++ Host),
    {S1, <<"sok">>} = raw_connect(Port, Me),
    S1 = raw_finish(S1, Cookie),
    ok = raw_echo(S1, Me, one),
    {S2, <<"salive">>} = raw_connect(Port, Me),
    ok = gen_tcp:send(S2, <<"sfalse">>),
    {error, closed} = gen_tcp:recv(S2, 0, 5000),
    ok = raw_echo(S1, Me, still_one),
    {S3, <<"salive">>} = raw_connect(Port, Me),
    ok = gen_tcp:send(S3, <<"strue">>),
    S3 = raw_finish(S3, Cookie),
    ok = raw_echo(S3, Me, three),
    ok = inet:setopts(S1, [{packet, raw}]),
    case drain_until_closed(S1) of
        closed -> ok;
        Other -> {old_connection, Other}
    end;
check(kill_gateway, G, Opts) ->
    %% Stream to the echo mailbox, kill the gateway's OS process mid-way:
    %% every link and monitor sees noconnection, and the echoes that did
    %% come back were in order.
    OsPid = opt("gwpid", Opts),
    E = gw_pid(G, echo),
    true = link(E),
    M1 = erlang:monitor(process, {inbox, G}),
    M2 = erlang:monitor(process, E),
    ok = net_kernel:monitor_nodes(true, [{node_type, hidden}]),
    %% The echoes come back to the sender: send from this process.
    [{echo, G} ! {stream, I} || I <- lists:seq(1, 2000)],
    os:cmd("kill -9 " ++ OsPid),
    [erlang:send({echo, G}, {stream, I}, [noconnect])
     || I <- lists:seq(2001, 4000)],
    Got = collect_down(E, M1, M2, G, #{}, 0),
    case Got of
        #{exit := noconnection, m1 := noconnection, m2 := noconnection,
          nodedown := true, order := ok} ->
            false = lists:member(G, nodes(connected)),
            {ok, io_lib:format("~b echoes before the kill", [maps:get(n, Got)])};
        _ -> Got
    end;
check(burst, G, Opts) ->
    %% The gateway is stopped while 500 messages wait on its socket, then
    %% continued: it finds them all in one wakeup, which makes it read
    %% this connection in batches (-coalesce). Every echo comes back in
    %% order; then 20 messages sent one at a time come back too, the first
    %% perhaps held until the batch timer reads it; each is read alone,
    %% which ends the batching. With http=ADDR, the gateway's /metrics
    %% must count one more start of batching, and none going on at the end.
    OsPid = opt("gwpid", Opts),
    pong = net_adm:ping(G),
    Starts0 = metric(Opts, "distgw_coalesce_starts_total"),
    "" = os:cmd("kill -STOP " ++ OsPid),
    Ms = [{burst, I, term(I)} || I <- lists:seq(1, 500)],
    try
        [{echo, G} ! M || M <- Ms],
        timer:sleep(300)
    after
        os:cmd("kill -CONT " ++ OsPid)
    end,
    ok = expect_in_order(Ms),
    Starts1 = metric(Opts, "distgw_coalesce_starts_total"),
    Us = [begin
              Lone = {lone, I, make_ref()},
              T0 = erlang:monotonic_time(microsecond),
              {echo, G} ! Lone,
              receive
                  Lone -> erlang:monotonic_time(microsecond) - T0
              after 10000 -> exit({lone_message_stuck, I})
              end
          end || I <- lists:seq(1, 20)],
    Now = metric(Opts, "distgw_coalescing_connections"),
    Note = io_lib:format("500 in order; then 20 alone, the first back in ~b us",
                         [hd(Us)]),
    case {Starts0, Starts1, Now} of
        {none, none, none} -> {ok, Note};
        {_, _, 0} when Starts1 > Starts0 ->
            {ok, [Note, io_lib:format("; /metrics: batching started ~b times, "
                                      "none going on", [Starts1 - Starts0])]};
        _ -> {metrics, Starts0, Starts1, Now}
    end;
check(Other, _, _) ->
    {unknown_check, Other}.

recv_frame(S) ->
    gen_tcp:recv(S, 0, 5000).

%% Connect as node Me (a name of our own making) up to the status.
raw_connect(Port, Me) ->
    {ok, S} = gen_tcp:connect({127, 0, 0, 1}, Port,
                              [binary, {active, false}, {packet, 2}]),
    ok = gen_tcp:send(S, <<$N, 16#D07DF7FBC:64, 1234:32, (byte_size(Me)):16,
                           Me/binary>>),
    {ok, Status} = gen_tcp:recv(S, 0, 5000),
    {S, Status}.

%% From the challenge to the ack; then 4-byte frames.
raw_finish(S, Cookie) ->
    {ok, <<$N, _:64, Ch:32, _Cr:32, NL:16, _:NL/binary>>} = gen_tcp:recv(S, 0, 5000),
    ok = gen_tcp:send(S, <<$r, 42:32, (digest(Cookie, Ch))/binary>>),
    Ack = <<$a, (digest(Cookie, 42))/binary>>,
    {ok, Ack} = gen_tcp:recv(S, 0, 5000),
    ok = inet:setopts(S, [{packet, 4}]),
    S.

%% Send Msg to the echo mailbox as pid 42 of node Me; read the echo.
raw_echo(S, Me, Msg) ->
    P = binary_to_term(<<131, 88, 119, (byte_size(Me)), Me/binary, 42:32,
                         0:32, 1234:32>>),
    ok = gen_tcp:send(S, [112, term_to_binary({6, P, '', echo}),
                          term_to_binary(Msg)]),
    raw_echo_wait(S, Msg).

raw_echo_wait(S, Msg) ->
    case gen_tcp:recv(S, 0, 5000) of
        {ok, <<>>} -> raw_echo_wait(S, Msg); % a tick
        {ok, <<112, Rest/binary>>} ->
            {_, Used} = binary_to_term(Rest, [used]),
            <<_:Used/binary, MsgBin/binary>> = Rest,
            case binary_to_term(MsgBin) of
                Msg -> ok;
                Other -> {other, Other}
            end;
        Other -> Other
    end.

drain_until_closed(S) ->
    case gen_tcp:recv(S, 0, 5000) of
        {ok, _} -> drain_until_closed(S);
        {error, closed} -> closed;
        Other -> Other
    end.

digest(Cookie, Ch) ->
    erlang:md5(Cookie ++ integer_to_list(Ch)).

pid_creation(P) ->
    B = term_to_binary(P),
    Sz = byte_size(B) - 4,
    <<_:Sz/binary, Cr:32>> = B,
    Cr.

collect_down(E, M1, M2, G, Acc, Last) ->
    Done = maps:is_key(exit, Acc) andalso maps:is_key(m1, Acc) andalso
        maps:is_key(m2, Acc) andalso maps:is_key(nodedown, Acc),
    if
        Done -> Acc#{n => Last, order => maps:get(order, Acc, ok)};
        true ->
            receive
                {'EXIT', E, W} -> collect_down(E, M1, M2, G, Acc#{exit => W}, Last);
                {'DOWN', M1, process, _, W} -> collect_down(E, M1, M2, G, Acc#{m1 => W}, Last);
                {'DOWN', M2, process, _, W} -> collect_down(E, M1, M2, G, Acc#{m2 => W}, Last);
                {nodedown, G, _} -> collect_down(E, M1, M2, G, Acc#{nodedown => true}, Last);
                {stream, I} when I =:= Last + 1 -> collect_down(E, M1, M2, G, Acc, I);
                {stream, I} -> collect_down(E, M1, M2, G, Acc#{order => {out_of_order, Last, I}}, I)
            after 20000 -> Acc#{timeout => true, n => Last}
            end
    end.

%% Send N terms to the echo mailbox in windows of W, each echo checked
%% =:= against what was sent, in order.
echo_stream(G, N, W) ->
    echo_stream(G, 1, N, W, 0).

echo_stream(_, I, N, _, Bytes) when I > N -> {ok, Bytes};
echo_stream(G, I, N, W, Bytes) ->
    Last = min(N, I + W - 1),
    B = lists:foldl(fun(K, Acc) ->
                            T = term(K),
                            {echo, G} ! T,
                            Acc + erlang:external_size(T)
                    end, 0, lists:seq(I, Last)),
    ok = echo_expect(I, Last),
    echo_stream(G, Last + 1, N, W, Bytes + B).

echo_expect(I, Last) when I > Last -> ok;
echo_expect(I, Last) ->
    Want = term(I),
    receive
        Got when Got =:= Want -> echo_expect(I + 1, Last);
        Got ->
            %% both terms, for a look with binary_to_term (in the
            %% test's temporary directory, the node's working directory)
            file:write_file("echo_mismatch." ++ integer_to_list(I) ++ ".etf",
                            term_to_binary({Want, Got})),
            exit({echo_mismatch, I, diff(Want, Got, [])})
    after 20000 -> exit({echo_missing, I})
    end.

echo_expect_all(G, Ts) ->
    [{echo, G} ! T || T <- Ts],
    expect_in_order(Ts).

%% Each of the 3-tuples Ts arrives, in order.
expect_in_order(Ts) ->
    lists:foreach(fun(T) ->
                          receive
                              T -> ok;
                              {_, _, _} = Other -> exit({out_of_order, element(2, T),
                                                         element(2, Other)})
                          after 30000 -> exit({missing, element(2, T)})
                          end
                  end, Ts).

%% Where two terms first differ: {Path, Sent, Got}.
diff(A, A, _) -> same;
diff(A, B, Path) when is_tuple(A), is_tuple(B), tuple_size(A) =:= tuple_size(B) ->
    diff_list(tuple_to_list(A), tuple_to_list(B), Path, 1);
diff([HA | TA], [HB | TB], Path) ->
    case diff(HA, HB, [hd | Path]) of
        same -> diff(TA, TB, [tl | Path]);
        D -> D
    end;
diff(A, B, Path) when is_map(A), is_map(B), map_size(A) =:= map_size(B) ->
    case lists:sort(maps:keys(A)) =:= lists:sort(maps:keys(B)) of
        true ->
            diff_list([maps:get(K, A) || K <- lists:sort(maps:keys(A))],
                      [maps:get(K, B) || K <- lists:sort(maps:keys(A))], Path, 1);
        false -> {lists:reverse(Path), {keys, maps:keys(A)}, {keys, maps:keys(B)}}
    end;
diff(A, B, Path) -> {lists:reverse(Path), A, B}.

diff_list([], [], _, _) -> same;
diff_list([A | As], [B | Bs], Path, N) ->
    case diff(A, B, [N | Path]) of
        same -> diff_list(As, Bs, Path, N + 1);
        D -> D
    end.

%% The I-th term of a fixed random sequence: the same I gives the same
%% term (pids, refs and funs are made once per node).
term(I) ->
    S = rand:seed_s(exsss, {I, I * 7919, 104729}),
    {T, _} = gen(S, 4),
    T.

atoms() ->
    {ok, '', 'Mixed Case', 'with space', 'ünïcödé', '日本語', 'emoji_😀',
     list_to_atom(lists:duplicate(255, $a)),
     list_to_atom(lists:duplicate(255, 16#1F600)), true, false, undefined,
     nil, 'EXIT', '$gen_call'}.

fixed() ->
    case get(fixed) of
        undefined ->
            Y = 42,
            F = {self(), spawn(fun() -> receive after infinity -> ok end end),
                 make_ref(), make_ref(), fun lists:map/2, fun erlang:node/0,
                 fun(X) -> X + Y end, fun() -> ok end,
                 hd(erlang:ports()), node()},
            put(fixed, F),
            F;
        F -> F
    end.

gen(S0, Depth) ->
    {K, S1} = rand:uniform_s(case Depth of 0 -> 9; _ -> 16 end, S0),
    gen(K, S1, Depth).

gen(1, S, _) -> pick(atoms(), S);
gen(2, S0, _) ->
    {K, S1} = rand:uniform_s(8, S0),
    {V, S2} = rand:uniform_s(1 bsl 20, S1),
    T = case K of
            1 -> V rem 256;
            2 -> -V;
            3 -> (1 bsl 27) - 1 + V rem 3;
            4 -> -(1 bsl 31) - V rem 3;
            5 -> (1 bsl 63) + V;
            6 -> -(1 bsl 64) * V;
            7 -> V bsl (V rem 2000);
            8 -> 0
        end,
    {T, S2};
gen(3, S0, _) ->
    {K, S1} = rand:uniform_s(6, S0),
    {F, S2} = rand:uniform_s(S1),
    T = case K of
            1 -> F;
            2 -> -F * 1.0e300;
            3 -> 0.0;
            4 -> 5.0e-324;
            5 -> 1.7976931348623157e308;
            6 -> float(round(F * 1000))
        end,
    {T, S2};
gen(4, S0, _) ->
    {N, S1} = rand:uniform_s(40, S0),
    {Big, S2} = rand:uniform_s(200, S1),
    Len = if Big =:= 1 -> 70000 + N; true -> N - 1 end,
    rand:bytes_s(Len, S2);
gen(5, S0, _) ->
    {N, S1} = rand:uniform_s(20, S0),
    {Bits, S2} = rand:uniform_s(7, S1),
    {B, S3} = rand:bytes_s(N, S2),
    {<<B/binary, (N band 127):Bits>>, S3};
gen(6, S0, _) ->
    {N, S1} = rand:uniform_s(30, S0),
    {B, S2} = rand:bytes_s(N, S1),
    {binary_to_list(B), S2};
gen(7, S, _) -> pick(fixed(), S);
gen(8, S, _) -> {[], S};
gen(9, S0, _) ->
    {N, S1} = rand:uniform_s(4, S0),
    {"utf8 ✓ " ++ [16#1F600 + N], S1};
gen(K, S0, Depth) when K >= 10 ->
    {N, S1} = rand:uniform_s(6, S0),
    {Es, S2} = gens(S1, Depth - 1, N - 1, []),
    case K of
        10 -> {list_to_tuple(Es), S2};
        11 -> {Es, S2};
        12 ->
            {Tail, S3} = gen(S2, 0),
            {improper(Es, Tail), S3};
        13 -> {maps:from_list([{E, N} || E <- Es]), S2};
        14 ->
            %% large maps (hash-array mapped tries) and large tuples
            {M, S3} = rand:uniform_s(3, S2),
            case M of
                %% values stay small: Es may hold big terms, and 40
                %% copies of them, nested, would grow without bound
                1 -> {maps:from_list([{X, {X, N}} || X <- lists:seq(1, 40)] ++
                                     [{big, Es}]), S3};
                2 -> {list_to_tuple(lists:seq(1, 300) ++ Es), S3};
                3 -> {lists:seq(1, 1000), S3}
            end;
        _ -> {Es, S2}
    end.

improper([], Tail) -> [a | Tail];
improper(Es, Tail) -> lists:foldr(fun(E, Acc) -> [E | Acc] end, Tail, Es).

gens(S, _, 0, Acc) -> {Acc, S};
gens(S0, D, N, Acc) ->
    {T, S1} = gen(S0, max(D, 0)),
    gens(S1, D, N - 1, [T | Acc]).

pick(Tuple, S0) ->
    {K, S1} = rand:uniform_s(tuple_size(Tuple), S0),
    {element(K, Tuple), S1}.


%% A registered process for distgw send: prints what it gets.
sink() ->
    register(sink, self()),
    io:format("sink ready~n"),
    sink_loop().

sink_loop() ->
    receive
        M ->
            io:format("sink got ~w~n", [M]),
            sink_loop()
    end.
