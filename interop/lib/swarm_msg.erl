%% The seeds' `msg` process and the drivers of interop/swarm.sh and
%% interop/chaos.sh.
%%
%% msg keeps every {send, From, Content} and answers {get, Pid} with
%% {msgs, [{From, Content}, ...]} (oldest first, as distgw's -recorder
%% does). So that "acknowledged" means something, it first appends the
%% Content to its host's journal file (one line "OSPID CONTENT", a single
%% write(2), so it outlives a SIGKILL of the node) and only then answers
%% From ! {ack, Content}: an acknowledged message is one that was kept.
-module(swarm_msg).
-export([start/0, start/1, exchange/3, get_msgs/1, scenario/3, ping_all/1, chaos/1]).

-define(GET_TIMEOUT, 5000).
-define(ACK_TIMEOUT, 10000).

%% -run swarm_msg start [JOURNAL]: register msg on this node.
start() ->
    start([]).

start(Args) ->
    Pid = spawn(fun() ->
                        %% A raw file belongs to the process that opens it.
                        Journal = case Args of
                                      [J] ->
                                          {ok, F} = file:open(J, [append, raw,
                                                                  binary]),
                                          F;
                                      [] -> none
                                  end,
                        msg_loop(Journal, os:getpid(), [])
                end),
    register(msg, Pid),
    ok.

msg_loop(Journal, Inc, Kept) ->
    receive
        {send, From, Content} ->
            case Journal of
                none -> ok;
                F -> ok = file:write(F, io_lib:format("~s ~w~n", [Inc, Content]))
            end,
            catch From ! {ack, Content},
            msg_loop(Journal, Inc, [{From, Content} | Kept]);
        {get, Pid} ->
            Pid ! {msgs, lists:reverse(Kept)},
            msg_loop(Journal, Inc, Kept);
        _ ->
            msg_loop(Journal, Inc, Kept)
    end.

%% Run on each node (by rpc): ping every other node, then send K
%% messages {node(), I} to the msg process of each (acks awaited), and K
%% to each of NoAck (a gateway's recorder: it does not ack).
%% Returns {Pongs, Acks}.
exchange(Nodes, K, NoAck) ->
    Others = Nodes -- [node()],
    Pongs = length([N || N <- Others, net_adm:ping(N) =:= pong]),
    [{msg, N} ! {send, self(), {node(), I}}
     || N <- Others ++ NoAck, I <- lists:seq(1, K)],
    {Pongs, acks(length(Others) * K, 0)}.

acks(0, Got) -> Got;
acks(Left, Got) ->
    receive {ack, {Node, _}} when Node =:= node() -> acks(Left - 1, Got + 1)
    after ?ACK_TIMEOUT -> Got
    end.

%% What msg on Node kept: a list, or timeout.
get_msgs(Node) ->
    {msg, Node} ! {get, self()},
    receive {msgs, L} -> L after ?GET_TIMEOUT -> timeout end.

%% The seeds' scenario, run from a hidden node: every node (at once)
%% pings every other and sends K messages to each other's msg and to
%% each of NoAck; then every msg is asked {get, self()}. Prints one line
%% per node and step for swarm.sh to check:
%%   exchange NODE PONGS ACKS
%%   msgs NODE ok|missing|extra|differ|timeout COUNT
%%   hidden NODE [HIDDEN_NODES]
scenario(Nodes, K, NoAck) ->
    Self = self(),
    [spawn_link(fun() ->
                        Self ! {N, rpc:call(N, ?MODULE, exchange,
                                            [Nodes, K, NoAck], 60000)}
                end) || N <- Nodes],
    [receive {N, R} -> io:format("exchange ~s ~w~n", [N, R]) end
     || N <- Nodes],
    timer:sleep(500), % NoAck targets do not ack: give them a moment
    [kept(N, [{M, I} || M <- Nodes -- [N], I <- lists:seq(1, K)])
     || N <- Nodes],
    [kept(G, [{M, I} || M <- Nodes, I <- lists:seq(1, K)]) || G <- NoAck],
    [io:format("hidden ~s ~w~n", [N, rpc:call(N, erlang, nodes, [hidden])])
     || N <- Nodes],
    ok.

kept(N, Want0) ->
    Want = lists:sort(Want0),
    {Verdict, Count} =
        case get_msgs(N) of
            timeout -> {timeout, 0};
            L ->
                Got = lists:sort([C || {_, C} <- L]),
                {if Got =:= Want -> ok;
                    length(Got) > length(Want) -> extra;
                    length(Got) < length(Want) -> missing;
                    true -> differ
                 end, length(Got)}
        end,
    io:format("msgs ~s ~s ~b~n", [N, Verdict, Count]).

%% Run on a node by rpc: how many of the others answer pong.
ping_all(Nodes) ->
    length([N || N <- Nodes -- [node()], net_adm:ping(N) =:= pong]).

%% ---------------------------------------------------------------------
%% The chaos run's sender and checker: -run swarm_msg chaos DIR TICK_MS
%% NODE=JOURNAL... Every TICK_MS it sends {send, self(), Seq} to the msg
%% process of every node (Seq counts up over all of them) and counts the
%% acks. When DIR/check.R appears it writes DIR/check.R.out: the mesh
%% pings, then the acked messages checked against the journals; for
%% DIR/count.C it writes DIR/count.C.out: the acks so far per node; when
%% DIR/stop appears it stops sending, waits for the last acks, asks every
%% msg {get, self()}, checks it all and writes DIR/final, then halts.
chaos([Dir, Tick | Targets]) ->
    Nodes = [{list_to_atom(N), J}
             || T <- Targets, [N, J] <- [string:split(T, "=")]],
    Self = self(),
    spawn_link(fun() -> watch(Dir, Self, 0) end),
    erlang:send_after(list_to_integer(Tick), self(), tick),
    sender(#{dir => Dir, tick => list_to_integer(Tick), nodes => Nodes,
             seq => 0, sent => #{}, acked => #{}, dupacks => 0}).

sender(S = #{seq := Seq, sent := Sent, acked := Acked, nodes := Nodes}) ->
    receive
        tick ->
            {Seq1, Sent1} =
                lists:foldl(fun({N, _}, {Q, M}) ->
                                    {msg, N} ! {send, self(), Q + 1},
                                    {Q + 1, M#{Q + 1 => N}}
                            end, {Seq, Sent}, Nodes),
            erlang:send_after(maps:get(tick, S), self(), tick),
            sender(S#{seq := Seq1, sent := Sent1});
        {ack, Q} when is_map_key(Q, Acked) ->
            sender(S#{dupacks := maps:get(dupacks, S) + 1});
        {ack, Q} ->
            sender(S#{acked := Acked#{Q => true}});
        {check, R} ->
            Pongs = [{N, rpc:call(N, ?MODULE, ping_all,
                                  [[M || {M, _} <- Nodes]], 10000)}
                     || {N, _} <- Nodes],
            {Lost, Dup} = verify(S),
            out(S, "check." ++ integer_to_list(R) ++ ".out",
                "pongs ~w~nsent ~b acked ~b lost ~b dup ~b dupacks ~b~n",
                [[P || {_, P} <- Pongs], map_size(Sent), map_size(Acked),
                 Lost, Dup, maps:get(dupacks, S)]),
            sender(S);
        {count, C} ->
            %% Acks so far per node, in the order of the nodes.
            By = maps:fold(fun(Q, _, M) ->
                                   maps:update_with(maps:get(Q, Sent),
                                                    fun(X) -> X + 1 end, 1, M)
                           end, #{}, Acked),
            out(S, "count." ++ integer_to_list(C) ++ ".out", "~s~n",
                [lists:join(" ", [integer_to_list(maps:get(N, By, 0))
                                  || {N, _} <- Nodes])]),
            sender(S);
        stop ->
            drain(S, erlang:monotonic_time(millisecond) + 5000)
    end.

%% Stopped: take the last acks for a while, then the final check.
drain(S = #{acked := Acked}, Until) ->
    Left = max(0, Until - erlang:monotonic_time(millisecond)),
    receive
        {ack, Q} when is_map_key(Q, Acked) ->
            drain(S#{dupacks := maps:get(dupacks, S) + 1}, Until);
        {ack, Q} ->
            drain(S#{acked := Acked#{Q => true}}, Until);
        _ ->
            drain(S, Until)
    after Left ->
            final(S)
    end.

final(S = #{nodes := Nodes, sent := Sent, acked := Acked}) ->
    {Lost, Dup} = verify(S),
    %% What each msg answers to {get, Pid} is what its current
    %% incarnation journaled, no more and no less.
    GetBad = [N || {N, J} <- Nodes, not get_matches(N, J)],
    out(S, "final",
        "sent ~b acked ~b lost ~b dup ~b dupacks ~b getbad ~w~n",
        [map_size(Sent), map_size(Acked), Lost, Dup,
         maps:get(dupacks, S), GetBad]),
    halt(0).

get_matches(N, J) ->
    case {get_msgs(N), rpc:call(N, os, getpid, [], 5000)} of
        {L, Inc} when is_list(L), is_list(Inc) ->
            Mine = [Q || {Inc1, Q} <- journal(J), Inc1 =:= Inc],
            lists:sort([Q || {_, Q} <- L]) =:= lists:sort(Mine);
        _ -> false
    end.

%% Acked messages missing from their node's journal (lost), and
%% messages journaled more than once or by a node they were not sent to
%% (dup).
verify(#{nodes := Nodes, sent := Sent, acked := Acked}) ->
    Kept = lists:foldl(
             fun({N, J}, M) ->
                     lists:foldl(fun({_, Q}, M1) ->
                                         maps:update_with({N, Q},
                                                          fun(C) -> C + 1 end,
                                                          1, M1)
                                 end, M, journal(J))
             end, #{}, Nodes),
    Lost = length([Q || Q <- maps:keys(Acked),
                        not is_map_key({maps:get(Q, Sent), Q}, Kept)]),
    Dup = length([K || K = {N, Q} <- maps:keys(Kept),
                       maps:get(K, Kept) > 1
                           orelse maps:get(Q, Sent, none) =/= N]),
    {Lost, Dup}.

%% A journal's complete lines as {OsPid, Seq}.
journal(J) ->
    case file:read_file(J) of
        {ok, B} ->
            Lines = binary:split(B, <<"\n">>, [global]),
            %% The last piece has no newline yet (or is empty): skip it.
            [{binary_to_list(P), binary_to_integer(Q)}
             || L <- lists:droplast(Lines),
                [P, Q] <- [binary:split(L, <<" ">>)]];
        _ -> []
    end.

out(#{dir := Dir}, Name, Fmt, Args) ->
    Tmp = filename:join(Dir, Name ++ ".tmp"),
    ok = file:write_file(Tmp, io_lib:format(Fmt, Args)),
    ok = file:rename(Tmp, filename:join(Dir, Name)).

%% Turn DIR/check.R, DIR/count.C and DIR/stop into messages to the
%% sender, each numbered file once and in order.
watch(Dir, Sender, R) ->
    watch(Dir, Sender, R, 0).

watch(Dir, Sender, R, C) ->
    timer:sleep(50),
    Check = filename:join(Dir, "check." ++ integer_to_list(R + 1)),
    Count = filename:join(Dir, "count." ++ integer_to_list(C + 1)),
    case filelib:is_file(filename:join(Dir, "stop")) of
        true -> Sender ! stop;
        false ->
            {R1, C1} =
                case {filelib:is_file(Check), filelib:is_file(Count)} of
                    {true, _} -> Sender ! {check, R + 1}, {R + 1, C};
                    {_, true} -> Sender ! {count, C + 1}, {R, C + 1};
                    _ -> {R, C}
                end,
            watch(Dir, Sender, R1, C1)
    end.
