# syntax=docker/dockerfile:1
# An Erlang node image that gets epmd from distgw's image, not from
# `apk add erlang`: erl starts the epmd it finds next to itself.
FROM distgw AS tools
FROM erlang:25-slim
# What our epmd links (ldd): libevent_core and libevent_extra.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libevent-core-2.1-7 \
      libevent-extra-2.1-7 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=tools /usr/local/bin/epmd /usr/local/bin/epmd
# erl looks for epmd in its own bin directory first.
RUN for d in /usr/local/lib/erlang/erts-*/bin /usr/local/lib/erlang/bin; do \
      [ -d "$d" ] && ln -sf /usr/local/bin/epmd "$d/epmd"; done; true
EXPOSE 4369 9100-9200
ENTRYPOINT ["erl", "-noshell", "-noinput"]
