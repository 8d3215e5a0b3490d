%% The OTP side of interop/dist_bridge.sh: an OTP 25 node that the HTTP
%% bridge of distgw sends to, calls and receives from.
%%  - kv: a gen_server (put, get, crash, slow);
%%  - pong: a registered process that answers a ping to a gateway mailbox;
%%  - functions the bridge calls through /rpc: burst/3 sends N messages to
%%    a gateway mailbox, big_burst/4 sends large ones, recorder_get/2 asks a
%%    recorder mailbox what it kept, say/1 prints, boom/0 raises.
-module(bridge_peer).
-behaviour(gen_server).

-export([start/1, burst/3, big_burst/4, recorder_send/4, recorder_get/2,
         say/1, format/1, boom/0]).
-export([init/1, handle_call/3, handle_cast/2]).

%% Start kv and pong, and write the ETF of a ping for the gateway GwNode to
%% Dir/ping.etf (a /send body with Content-Type application/x-erlang-binary).
start([GwNode, Dir]) ->
    Gw = list_to_atom(GwNode),
    {ok, _} = gen_server:start({local, kv}, ?MODULE, [], []),
    Pong = spawn(fun pong/0),
    true = register(pong, Pong),
    ok = file:write_file(filename:join(Dir, "ping.etf"),
                         term_to_binary({ping, replies, Gw, etf})),
    ok = file:write_file(filename:join(Dir, "otp.ready"),
                         io_lib:format("~s~n", [node()])).

%% {ping, Mailbox, GwNode, X} -> {pong, X} to {Mailbox, GwNode};
%% #{<<"ping">> := X, <<"mailbox">> := M, <<"node">> := N} (the plain
%% form) -> #{<<"pong">> => X}.
pong() ->
    receive
        {ping, Mailbox, Gw, X} ->
            {Mailbox, Gw} ! {pong, X};
        #{<<"ping">> := X, <<"mailbox">> := M, <<"node">> := N} ->
            {binary_to_atom(M), binary_to_atom(N)} ! #{<<"pong">> => X};
        _ ->
            ok
    end,
    pong().

%% Send {seq, 1} .. {seq, N} to {Mailbox, Gw} in order.
burst(Mailbox, Gw, N) ->
    [{Mailbox, Gw} ! {seq, I} || I <- lists:seq(1, N)],
    N.

%% Send N messages of Size bytes each.
big_burst(Mailbox, Gw, N, Size) ->
    Bin = binary:copy(<<"x">>, Size),
    [{Mailbox, Gw} ! {big, I, Bin} || I <- lists:seq(1, N)],
    N.

%% Record Content with a recorder mailbox, as the seeds' nodes do.
recorder_send(Mailbox, Gw, From, Content) ->
    {Mailbox, Gw} ! {send, From, Content},
    ok.

%% What a recorder mailbox kept: {msgs, [{From, Content}, ...]}.
recorder_get(Mailbox, Gw) ->
    {Mailbox, Gw} ! {get, self()},
    receive
        {msgs, L} -> L
    after 5000 -> timeout
    end.

%% Print Text as an iolist with a code point beyond Latin-1 (the bridge
%% keeps put_chars output as UTF-8); format/1 prints with io:format, which
%% the gateway (no Erlang to format with) refuses.
say(Text) ->
    ok = io:put_chars([Text, <<" ">>, [8364], "\n"]),
    said.

format(Text) ->
    io:format("~s~n", [Text]).

boom() ->
    erlang:error(boom).

init([]) ->
    {ok, #{}}.

handle_call({put, K, V}, _From, S) ->
    {reply, ok, S#{K => V}};
handle_call(#{<<"get">> := K}, _From, S) ->
    {reply, maps:get(K, S, undefined), S};
handle_call({get, K}, _From, S) ->
    {reply, maps:get(K, S, undefined), S};
handle_call({sleep, Ms}, _From, S) ->
    timer:sleep(Ms),
    {reply, slept, S};
handle_call(crash, _From, _S) ->
    exit(crashed).

handle_cast(_, S) ->
    {noreply, S}.
