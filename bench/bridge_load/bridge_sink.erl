%% The OTP side of bench/bridge_load/run.sh: a registered process sink that
%% counts what arrives; count/0 says how many so far.
-module(bridge_sink).
-export([start/1, count/0]).

start([Dir]) ->
    true = register(sink, spawn(fun() -> loop(0) end)),
    ok = file:write_file(filename:join(Dir, "sink.ready"), <<"ok\n">>).

loop(N) ->
    receive
        {count, From} ->
            From ! {count, N},
            loop(N);
        _ ->
            loop(N + 1)
    end.

count() ->
    sink ! {count, self()},
    receive
        {count, N} -> N
    after 5000 -> timeout
    end.
