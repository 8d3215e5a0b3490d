# syntax=docker/dockerfile:1
# An Erlang node image whose epmd is ours, from distgw's image: erl
# starts the epmd in its own bin directory, and that is now ours.
# The base is the one distgw's image is built and run on (Debian 12):
# the epmd copied here needs its glibc (2.34 or later; erlang:25-slim is
# Debian 11, glibc 2.31). Debian 12's erlang-base is OTP 25, the release
# the interop tests run against.
FROM distgw AS tools
FROM debian:12-slim
# erl itself, and what our epmd links (ldd): libevent_core, libevent_extra.
RUN apt-get update \
 && apt-get install -y --no-install-recommends erlang-base \
      libevent-core-2.1-7 libevent-extra-2.1-7 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=tools /usr/local/bin/epmd /usr/local/bin/epmd
RUN for d in /usr/lib/erlang/erts-*/bin /usr/lib/erlang/bin; do \
      ln -sf /usr/local/bin/epmd "$d/epmd" || exit 1; done
EXPOSE 4369 9100-9200
ENTRYPOINT ["erl", "-noshell", "-noinput"]
