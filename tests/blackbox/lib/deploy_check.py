"""Static checks of what deploy/ ships, for tests/blackbox/deploy_check.sh.

  deploy_check.py dockerfile FILE OUT   the runtime image's statements
  deploy_check.py node FILE BASE        deploy/swarm/node.Dockerfile, BASE
                                        the runtime image's base
  deploy_check.py stack FILE            deploy/swarm/stack.yml
  deploy_check.py units DIR             deploy/systemd/*

Prints one "PASS what" or "FAIL what" line per check. `dockerfile` also
writes what the shell half runs into OUT: entrypoint, cmd, healthcheck
(one argument a line), env (NAME=VALUE lines), user, uid, packages (the
runtime stage's apt packages), copies (the build stage's COPY sources)
build.sh (the build stage's RUN lines that build) and runtime_base;
With DEPLOY_OUT set, `node` writes there node.packages and node.link.sh
(the RUN that puts our epmd in erl's place), and `stack` node.cmd (the
nodes' command).
"""

import json
import os
import re
import shlex
import sys


def say(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
    return ok


def instructions(path):
    """The Dockerfile's instructions as (KEYWORD, text), continuations
    joined, comments and the parser directive dropped."""
    out, cur = [], ""
    with open(path) as f:
        for line in f:
            s = line.rstrip("\n")
            if not cur and (s.strip().startswith("#") or not s.strip()):
                continue
            if cur and s.strip().startswith("#"):
                continue
            if s.endswith("\\"):
                cur += s[:-1] + " "
                continue
            cur += s
            kw, _, rest = cur.strip().partition(" ")
            out.append((kw.upper(), rest.strip()))
            cur = ""
    return out


def stages(ins):
    """Split into stages: [(name or None, base, [instructions])]."""
    st = []
    for kw, rest in ins:
        if kw == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
            st.append((m.group(2) if m else None, m.group(1) if m else rest, []))
        elif st:
            st[-1][2].append((kw, rest))
    return st


def exec_form(text):
    """The JSON array of an exec-form instruction, or None."""
    try:
        v = json.loads(text)
    except ValueError:
        return None
    if isinstance(v, list) and v and all(isinstance(a, str) for a in v):
        return v
    return None


def apt_packages(runs):
    pk = []
    for r in runs:
        for part in re.split(r"&&|;", r):
            w = shlex.split(part)
            if len(w) > 2 and w[0] == "apt-get" and "install" in w:
                pk += [a for a in w[w.index("install") + 1:]
                       if not a.startswith("-")]
    return pk


def dockerfile(path, out):
    ins = instructions(path)
    st = stages(ins)
    ok = True
    ok &= say(len(st) >= 2 and st[0][0] is not None,
              "Dockerfile: multi-stage (%d stages, the first named %s)"
              % (len(st), st[0][0] if st else None))
    build, final = st[0], st[-1]
    froms = [r for k, r in final[2] if k == "COPY" and "--from=" + str(build[0]) in r]
    ok &= say(bool(froms), "Dockerfile: the runtime stage copies the build "
              "stage's output (COPY --from=%s)" % build[0])
    runs = [r for k, r in final[2] if k == "RUN"]
    users = [r for k, r in final[2] if k == "USER"]
    user = users[-1] if users else "root"
    uid = None
    for r in runs:
        for part in re.split(r"&&|;", r):
            w = shlex.split(part)
            if w and w[0] == "useradd" and "--uid" in w and w[-1] == user:
                uid = w[w.index("--uid") + 1]
    ok &= say(user not in ("root", "0") and uid is not None and uid != "0",
              "Dockerfile: runs as %s (uid %s, made by useradd in the "
              "runtime stage), not root" % (user, uid))
    shellish = [(k, r) for k, r in ins
                if k in ("ENTRYPOINT", "CMD") and exec_form(r) is None]
    ok &= say(not shellish, "Dockerfile: ENTRYPOINT and CMD in exec form only"
              + ("" if not shellish else ": %s" % shellish))
    ep = [exec_form(r) for k, r in final[2] if k == "ENTRYPOINT"]
    cmd = [exec_form(r) for k, r in final[2] if k == "CMD"]
    ok &= say(len(ep) == 1 and ep[0] is not None
              and ep[0][0].startswith("/usr/local/bin/"),
              "Dockerfile: ENTRYPOINT %s is one of ours, by absolute path"
              % (ep[0] if ep else None))
    hc = [r for k, r in final[2] if k == "HEALTHCHECK"]
    hcmd = None
    if len(hc) == 1:
        m = re.search(r"\bCMD\s+(\[.*\])\s*$", hc[0])
        hcmd = exec_form(m.group(1)) if m else None
    ok &= say(hcmd is not None and hcmd[0].startswith("/usr/local/bin/"),
              "Dockerfile: HEALTHCHECK in exec form, with our own binary: %s"
              % hcmd)
    # The check gives up (and says pang) before Docker kills it.
    m = re.search(r"--timeout=(\d+)s\b", hc[0]) if len(hc) == 1 else None
    own = (int(hcmd[hcmd.index("-timeout") + 1])
           if hcmd and "-timeout" in hcmd[:-1] else None)
    ok &= say(m is not None and own is not None and own < int(m.group(1)),
              "Dockerfile: the health check's own -timeout (%s s) is under "
              "HEALTHCHECK --timeout (%s s)" % (own, m.group(1) if m else None))
    env = []
    for k, r in final[2]:
        if k == "ENV":
            for a in shlex.split(r):
                if "=" in a:
                    env.append(a)
    wd = [r for k, r in final[2] if k == "WORKDIR"]
    copies = []
    for k, r in build[2]:
        if k == "COPY" and "--from" not in r:
            copies += shlex.split(r)[:-1]
    build_runs = [r for k, r in build[2] if k == "RUN" and "cmake -S" in r]
    ok &= say(len(build_runs) == 1, "Dockerfile: one RUN builds (cmake)")
    os.makedirs(out, exist_ok=True)

    def put(name, lines):
        with open(os.path.join(out, name), "w") as f:
            f.write("".join(str(a) + "\n" for a in lines))
    put("entrypoint", ep[0] if ep and ep[0] else [])
    put("cmd", cmd[0] if cmd and cmd[0] else [])
    put("healthcheck", hcmd or [])
    put("env", env)
    put("user", [user])
    put("uid", [uid or ""])
    put("workdir", wd[-1:] or ["/"])
    put("packages", apt_packages(runs))
    put("copies", copies)
    put("build.sh", build_runs)
    put("runtime_base", [final[1]])
    return ok


def node(path, runtime_base):
    st = stages(instructions(path))
    final = st[-1] if st else (None, None, [])
    runs = [r for k, r in final[2] if k == "RUN"]
    ok = True
    cp = [r for k, r in final[2] if k == "COPY" and "--from=" in r
          and "/usr/local/bin/epmd" in r]
    ok &= say(bool(cp), "node.Dockerfile: the node image copies our epmd "
              "from the distgw image")
    ok &= say(any("ln -sf /usr/local/bin/epmd" in r and "erts-*/bin" in r
                  for r in runs),
              "node.Dockerfile: erl's own epmd (erts-*/bin/epmd) is "
              "linked to ours")
    ok &= say(not any(re.search(r"apk\s+add[^&;]*\berlang\b", r)
                      for r in runs),
              "node.Dockerfile: no `apk add erlang`")
    # The epmd copied in was linked against the runtime image's glibc.
    ok &= say(final[1] == runtime_base,
              "node.Dockerfile: based on %s, as the image its epmd comes "
              "from (%s): the glibc it was linked against" %
              (final[1], runtime_base))
    ep = [exec_form(r) for k, r in final[2] if k == "ENTRYPOINT"]
    ok &= say(len(ep) == 1 and ep[0] is not None,
              "node.Dockerfile: ENTRYPOINT in exec form")
    out = os.environ.get("DEPLOY_OUT")
    if out:
        with open(os.path.join(out, "node.packages"), "w") as f:
            f.write("".join(p + "\n" for p in apt_packages(runs)))
        with open(os.path.join(out, "node.link.sh"), "w") as f:
            f.write("".join(r + "\n" for r in runs
                            if "ln -sf /usr/local/bin/epmd" in r))
    return ok


def kernel_args(cmd):
    """-kernel KEY VALUE pairs of an erl command line (one -kernel may
    carry several pairs)."""
    kv, i = {}, 0
    while i < len(cmd):
        if cmd[i] == "-kernel":
            i += 1
            while i + 1 < len(cmd) and not cmd[i].startswith("-"):
                kv[cmd[i]] = cmd[i + 1]
                i += 2
        else:
            i += 1
    return kv


def stack(path):
    try:
        import yaml
    except ImportError:
        return say(False, "stack.yml: python3 has no yaml module "
                   "(Debian: python3-yaml)")
    with open(path) as f:
        doc = yaml.safe_load(f)
    ok = True
    svcs = doc.get("services", {}) if isinstance(doc, dict) else {}
    ok &= say(str(doc.get("version", "")).startswith("3"),
              "stack.yml: compose format 3 (docker stack deploy)")
    nodes = {n: s for n, s in svcs.items()
             if (s.get("deploy") or {}).get("endpoint_mode") == "dnsrr"}
    ok &= say(len(nodes) == 1, "stack.yml: one service with endpoint_mode "
              "dnsrr: %s" % list(nodes))
    if not nodes:
        return False
    name, s = next(iter(nodes.items()))
    cmd = [str(a) for a in s.get("command") or []]
    kv = kernel_args(cmd)
    ok &= say(kv.get("inet_dist_listen_min") == "9100"
              and kv.get("inet_dist_listen_max") == "9200",
              "stack.yml: %s pins the distribution ports to 9100-9200 (%s)"
              % (name, kv))
    ok &= say("-sname" in cmd and "-setcookie" in cmd
              and "-name" not in cmd,
              "stack.yml: %s runs -sname with a -setcookie" % name)
    ok &= say("{{.Task.Slot}}" in str(s.get("hostname", "")),
              "stack.yml: %s has a hostname per task slot (%s)"
              % (name, s.get("hostname")))
    dep = s.get("deploy") or {}
    ok &= say(int(dep.get("replicas", 1)) >= 2
              and (dep.get("restart_policy") or {}).get("condition") == "any",
              "stack.yml: %s has replicas (%s) and Swarm restarts them "
              "(restart_policy any)" % (name, dep.get("replicas")))
    ev = [a for a in cmd if "register(msg" in a]
    ok &= say(len(ev) == 1, "stack.yml: %s registers a msg process" % name)
    if os.environ.get("DEPLOY_OUT"):
        with open(os.path.join(os.environ["DEPLOY_OUT"], "node.cmd"), "w") as f:
            f.write("".join(a + "\n" for a in cmd))
    gws = {n: g for n, g in svcs.items() if n != name}
    disc = []
    for n, g in gws.items():
        c = [str(a) for a in g.get("command") or []]
        for i, a in enumerate(c[:-1]):
            if a == "-discover":
                disc.append((n, c[i + 1]))
    ok &= say(len(disc) == 1 and disc[0][1] == "tasks." + name,
              "stack.yml: the gateway discovers through tasks.%s: %s"
              % (name, disc))
    if disc:
        g = svcs[disc[0][0]]
        ok &= say(set(g.get("networks") or []) & set(s.get("networks") or [])
                  and all((doc.get("networks") or {}).get(nw, {}).get("driver")
                          == "overlay" for nw in s.get("networks") or []),
                  "stack.yml: gateway and nodes share an overlay network")
    return ok


def units(d):
    def kv(path):
        out = {}
        text = open(path).read().replace("\\\n", " ")
        for line in text.split("\n"):
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")) and "=" in line:
                k, _, v = line.partition("=")
                out.setdefault(k.strip(), []).append(v.strip())
        return out
    ok = True
    sock = kv(os.path.join(d, "epmd.socket"))
    ls = sock.get("ListenStream", [])
    ok &= say(ls and all(re.match(r"^(127\.0\.0\.1|\[::1\]):4369$", a)
                         for a in ls),
              "epmd.socket: listens on loopback only: %s" % ls)
    ep = kv(os.path.join(d, "epmd.service"))
    ok &= say(ep.get("Type") == ["notify"]
              and "-systemd" in " ".join(ep.get("ExecStart", [])).split(),
              "epmd.service: Type=notify, ExecStart with -systemd")
    hard = {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
            "ProtectHome": "yes", "PrivateTmp": "yes", "DynamicUser": "yes",
            "CapabilityBoundingSet": "", "RestrictAddressFamilies": None,
            "SystemCallFilter": None}
    for name in ("epmd.service", "distgw.service"):
        u = kv(os.path.join(d, name))
        miss = [k for k, v in hard.items()
                if k not in u or (v is not None and u[k][-1] != v)]
        ok &= say(not miss, "%s: hardened (%s)%s" % (
            name, ", ".join(hard), "; missing or weaker: %s" % miss
            if miss else ""))
    g = kv(os.path.join(d, "distgw.service"))
    ex = " ".join(g.get("ExecStart", [])).split()
    ok &= say("epmd.socket" in " ".join(g.get("Requires", []) + g.get("After", []))
              and "-start_epmd" in ex and ex[ex.index("-start_epmd") + 1] == "false",
              "distgw.service: uses epmd.socket's epmd (-start_epmd false)")
    return ok


def main():
    what = sys.argv[1]
    if what == "dockerfile":
        r = dockerfile(sys.argv[2], sys.argv[3])
    elif what == "node":
        r = node(sys.argv[2], sys.argv[3])
    elif what == "stack":
        r = stack(sys.argv[2])
    elif what == "units":
        r = units(sys.argv[2])
    else:
        sys.exit("unknown check " + what)
    sys.exit(0 if r else 1)


if __name__ == "__main__":
    main()
