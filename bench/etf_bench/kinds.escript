#!/usr/bin/env escript
%% Corpora of one kind of term each, for etf-bench: DIR/KIND/terms/NNNNN.etf,
%% 400 terms per kind, made by term_to_binary/1 from a fixed seed.
%% usage: kinds.escript DIR
main([Dir]) ->
    rand:seed(exsss, {1, 2, 3}),
    [write(Dir, Kind, Make) || {Kind, Make} <- kinds()],
    ok;
main(_) ->
    io:format(standard_error, "usage: kinds.escript DIR~n", []),
    halt(2).

kinds() ->
    Atoms = [ok, error, undefined, true, false, hello, world, 'EXIT'],
    %% (an atom at the end, or the list of bytes would be a STRING_EXT)
    [{small_integers, fun(_) -> [rand:uniform(255) || _ <- seq(500)] ++ [x] end},
     {integers, fun(_) -> [rand:uniform(1 bsl 30) - (1 bsl 29) || _ <- seq(500)] end},
     {bignums, fun(_) -> [rand:uniform(1 bsl 200) || _ <- seq(200)] end},
     {floats, fun(_) -> [rand:uniform() * 1.0e6 || _ <- seq(500)] end},
     {repeated_atoms, fun(_) -> [lists:nth(rand:uniform(8), Atoms) || _ <- seq(500)] end},
     {ascii_atoms, fun(I) -> [list_to_atom("atom_" ++ integer_to_list(I * 1000 + K))
                              || K <- seq(300)] end},
     {emoji_atoms, fun(I) -> [list_to_atom([16#1F600, $a | integer_to_list(I * 1000 + K)])
                              || K <- seq(300)] end},
     {small_binaries, fun(_) -> [bytes(rand:uniform(20)) || _ <- seq(400)] end},
     {binaries_1k, fun(_) -> [bytes(1024) || _ <- seq(20)] end},
     {strings, fun(_) -> [[$a + rand:uniform(25) || _ <- seq(rand:uniform(30))]
                          || _ <- seq(300)] end},
     {small_tuples, fun(_) -> [{a, rand:uniform(100), {b, rand:uniform(100)}}
                               || _ <- seq(200)] end},
     {small_maps, fun(_) -> [#{a => rand:uniform(9), b => rand:uniform(9),
                               c => rand:uniform(9)} || _ <- seq(150)] end},
     {big_map, fun(_) -> maps:from_list([{K, K} || K <- seq(400)]) end},
     {pids, fun(_) -> [self() || _ <- seq(300)] end},
     {refs, fun(_) -> [make_ref() || _ <- seq(300)] end},
     {nested_lists, fun(_) -> [[[1, 2], [3, [4]]] || _ <- seq(200)] end}].

write(Dir, Kind, Make) ->
    Terms = filename:join([Dir, atom_to_list(Kind), "terms"]),
    ok = filelib:ensure_dir(filename:join(Terms, "x")),
    [ok = file:write_file(filename:join(Terms, io_lib:format("~5..0b.etf", [I])),
                          term_to_binary(Make(I)))
     || I <- seq(400)].

seq(N) -> lists:seq(1, N).

bytes(N) -> << <<(rand:uniform(256) - 1)>> || _ <- seq(N) >>.
