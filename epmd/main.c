/*
 * epmd: the Erlang Port Mapper Daemon, flag for flag as OTP's.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "epmd.h"
#include "log.h"
#include "num.h"
#include "registry.h"

/* Largest value accepted for the seconds options: a day. */
#define MAIN_MAX_SECONDS 86400

/* Print OTP's usage text and exit 1; scripts compare it. */
static void __attribute__((noreturn)) usage(void)
{
    fputs("usage: epmd [-d|-debug] [DbgExtra...] [-address List]\n"
          "            [-port No] [-daemon] [-relaxed_command_check]\n"
          "       epmd [-d|-debug] [-port No] [-names|-kill|-stop name]\n"
          "\n"
          "See the Erlang epmd manual page for info about the usage.\n"
          "\n"
          "Regular options\n"
          "    -address List\n"
          "        Let epmd listen only on the comma-separated list of IP\n"
          "        addresses (and on the loopback interface).\n"
          "    -port No\n"
          "        Let epmd listen to another port than default 4369\n"
          "    -d\n"
          "    -debug\n"
          "        Enable debugging. This will give a log to\n"
          "        the standard error stream. It will shorten\n"
          "        the number of saved used node names to 5.\n"
          "\n"
          "        If you give more than one debug flag you may\n"
          "        get more debugging information.\n"
          "    -daemon\n"
          "        Start epmd detached (as a daemon)\n"
          "    -relaxed_command_check\n"
          "        Allow this instance of epmd to be killed with\n"
          "        epmd -kill even if there are registered nodes.\n"
          "        Also allows forced unregister (epmd -stop).\n"
          "    -systemd\n"
          "        Wait for socket from systemd. The option makes sense\n"
          "        when started from .socket unit.\n"
          "\n"
          "DbgExtra options\n"
          "    -packet_timeout Seconds\n"
          "        Set the number of seconds a connection can be\n"
          "        inactive before epmd times out and closes the\n"
          "        connection (default 60).\n"
          "\n"
          "    -delay_accept Seconds\n"
          "        To simulate a busy server you can insert a\n"
          "        delay between epmd gets notified about that\n"
          "        a new connection is requested and when the\n"
          "        connections gets accepted.\n"
          "\n"
          "    -delay_write Seconds\n"
          "        Also a simulation of a busy server. Inserts\n"
          "        a delay before a reply is sent.\n"
          "\n"
          "Interactive options\n"
          "    -names\n"
          "        List names registered with the currently running epmd\n"
          "    -kill\n"
          "        Kill the currently running epmd\n"
          "        (only allowed if -names show empty database or\n"
          "        -relaxed_command_check was given when epmd was started).\n"
          "    -stop Name\n"
          "        Forcibly unregisters a name with epmd\n"
          "        (only allowed if -relaxed_command_check was given when \n"
          "        epmd was started).\n",
          stderr);
    exit(1);
}

/* Parse a whole decimal number in [min, max]; -1 if it is not one. */
static long
main_number(const char *s, long min, long max)
{
    long long v;

    return num_parse(s, min, max, &v) == 0 ? (long)v : -1;
}

/* The option that takes a value: its value, or usage() if missing/bad. */
static long
main_seconds(int argc, char **argv)
{
    long v;

    if (argc < 2 || (v = main_number(argv[1], 1, MAIN_MAX_SECONDS)) == -1)
        usage();
    return v;
}

/* Defaults from the environment, as OTP reads them. */
static void
main_defaults(struct epmd_config *cfg)
{
    const char *p = getenv("ERL_EPMD_PORT");
    long v;

    memset(cfg, 0, sizeof(*cfg));
    cfg->port = EPMD_DEFAULT_PORT;
    if (p != NULL) {
        /* OTP uses atoi(): a value that is not a number means port 0. */
        v = main_number(p, 0, 65535);
        if (v == -1)
            fprintf(stderr,
                    "epmd: ERL_EPMD_PORT \"%s\" is not a port number; "
                    "using 0, as OTP does\n",
                    p);
        cfg->port = v == -1 ? 0 : (uint16_t)v;
    }
    cfg->relaxed = getenv("ERL_EPMD_RELAXED_COMMAND_CHECK") != NULL;
    cfg->addresses = getenv("ERL_EPMD_ADDRESS");
    cfg->packet_timeout = EPMD_CLOSE_TIMEOUT;
}

/* Detach as OTP does: fork, new session, fork, cd /, stdio on /dev/null.
 * The parent exits 0 at once, before anything is bound. */
static void
main_daemonize(void)
{
    pid_t pid;
    int fd;
    long maxfd;

    if ((pid = fork()) == -1)
        fatal("fork");
    if (pid > 0)
        _exit(0);
    if (setsid() == -1)
        fatal("setsid");
    signal(SIGHUP, SIG_IGN);
    if ((pid = fork()) == -1)
        fatal("fork");
    if (pid > 0)
        _exit(0);
    if (chdir("/") == -1)
        fatal("chdir /");
    umask(0);
    if ((fd = open("/dev/null", O_RDWR)) == -1)
        fatal("/dev/null");
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
    /* Inherited descriptors (a caller's pipes) must not be held open. */
    maxfd = sysconf(_SC_OPEN_MAX);
    if (maxfd < 0 || maxfd > 65536)
        maxfd = 65536;
    for (fd = 3; fd < maxfd; fd++)
        close(fd);
    log_setforeground(0);
}

/* Raise the open-files soft limit to the hard limit: each registered node
 * holds a connection. */
static void
main_raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;

        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            log_debug("raised open files limit from %llu to %llu",
                      (unsigned long long)old, (unsigned long long)rl.rlim_cur);
    }
}

/* After binding, run as user (if given). */
static void
main_drop_privileges(const char *user)
{
    struct passwd *pw;

    if ((pw = getpwnam(user)) == NULL)
        fatalx("unknown user \"%s\"", user);
    if (geteuid() != 0) {
        if (pw->pw_uid == geteuid())
            return;
        fatalx("-user %s needs root", user);
    }
    /* As root, setgid and setuid set the real, effective and saved ids. */
    if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
        setuid(pw->pw_uid) == -1)
        fatal("cannot drop privileges to %s", user);
    if (setuid(0) != -1 && pw->pw_uid != 0)
        fatalx("privileges not dropped: setuid(0) still works");
    log_debug("running as %s (uid %u, gid %u)", user, (unsigned)pw->pw_uid,
              (unsigned)pw->pw_gid);
}

/* Run the daemon; returns the exit code. */
static int
main_run(struct epmd_config *cfg)
{
    struct listen_set ls = {.n = 0};
    struct event_base *base;
    struct registry *reg;
    struct metrics metrics;
    struct server *srv;
    char state[128];
    int n, rv;

    log_init("epmd", 1, LOG_DAEMON);
    log_setverbose(cfg->debug);
    if (cfg->daemon)
        main_daemonize();
    signal(SIGPIPE, SIG_IGN);
    main_raise_nofile();
    if (cfg->systemd) {
        n = sysd_listen_fds(ls.fds, EPMD_MAX_LISTEN);
        if (n == 0) {
            log_warnx("systemd provides no sockets");
            return 1;
        }
        if (n < 0) {
            log_warnx("cannot listen on more than %d IP addresses",
                      EPMD_MAX_LISTEN);
            return 1;
        }
        ls.n = n;
    } else {
        switch (listen_open(cfg, &ls)) {
        case LISTEN_OK:
            break;
        case LISTEN_IN_USE:
            return 0; /* "epmd -daemon" twice must succeed */
        case LISTEN_FAILED:
            return 1;
        }
    }
    if ((base = event_base_new()) == NULL)
        fatalx("event_base_new failed");
    log_debug("epmd running - daemon = %d, port %u, event method %s",
              cfg->daemon, cfg->port, event_base_get_method(base));
    memset(&metrics, 0, sizeof(metrics));
    if (cfg->metrics != NULL &&
        metrics_listen(&metrics, base, cfg->metrics) == -1)
        return 1;
    if (cfg->user != NULL)
        main_drop_privileges(cfg->user);
    reg =
        registry_new(cfg->debug ? EPMD_DEBUG_MAX_UNREG : EPMD_MAX_UNREG, NULL);
    metrics.reg = reg;
    srv = server_new(base, cfg, &ls, reg, &metrics);
    if (cfg->systemd) {
        snprintf(state, sizeof(state),
                 "READY=1\nSTATUS=Processing port mapping requests...\n"
                 "MAINPID=%lu",
                 (unsigned long)getpid());
        sysd_notify(state);
    }
    rv = server_run(srv);
    server_free(srv);
    metrics_close(&metrics);
    registry_free(reg);
    event_base_free(base);
    if (rv > 0) {
        /* Die of the signal, as OTP's epmd would have. */
        signal(rv, SIG_DFL);
        raise(rv);
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct epmd_config cfg;
    long v;

    main_defaults(&cfg);
    /* Left to right, as OTP: the client commands act when they are seen
     * and must come last. */
    for (argc--, argv++; argc > 0;) {
        const char *a = argv[0];

        if (strcmp(a, "-d") == 0 || strcmp(a, "-debug") == 0) {
            cfg.debug++;
            argc--, argv++;
        } else if (strcmp(a, "-packet_timeout") == 0) {
            cfg.packet_timeout = (int)main_seconds(argc, argv);
            argc -= 2, argv += 2;
        } else if (strcmp(a, "-delay_accept") == 0) {
            cfg.delay_accept = (int)main_seconds(argc, argv);
            argc -= 2, argv += 2;
        } else if (strcmp(a, "-delay_write") == 0) {
            cfg.delay_write = (int)main_seconds(argc, argv);
            argc -= 2, argv += 2;
        } else if (strcmp(a, "-daemon") == 0) {
            cfg.daemon = 1;
            argc--, argv++;
        } else if (strcmp(a, "-relaxed_command_check") == 0) {
            cfg.relaxed = 1;
            argc--, argv++;
        } else if (strcmp(a, "-systemd") == 0) {
            cfg.systemd = 1;
            argc--, argv++;
        } else if (strcmp(a, "-port") == 0) {
            if (argc < 2 || (v = main_number(argv[1], 1, 65535)) == -1)
                usage();
            cfg.port = (uint16_t)v;
            argc -= 2, argv += 2;
        } else if (strcmp(a, "-address") == 0) {
            if (argc < 2)
                usage();
            cfg.addresses = argv[1];
            argc -= 2, argv += 2;
        } else if (strcmp(a, "-metrics_address") == 0) {
            if (argc < 2)
                usage();
            cfg.metrics = argv[1];
            argc -= 2, argv += 2;
        } else if (strcmp(a, "-user") == 0) {
            if (argc < 2)
                usage();
            cfg.user = argv[1];
            argc -= 2, argv += 2;
        } else if (strcmp(a, "-names") == 0 || strcmp(a, "-started") == 0) {
            if (argc != 1)
                usage();
            return cli_names(cfg.port, strcmp(a, "-started") == 0);
        } else if (strcmp(a, "-dump") == 0) {
            if (argc != 1)
                usage();
            return cli_dump(cfg.port);
        } else if (strcmp(a, "-kill") == 0) {
            if (argc != 1)
                usage();
            return cli_kill(cfg.port);
        } else if (strcmp(a, "-stop") == 0) {
            if (argc != 2)
                usage();
            return cli_stop(cfg.port, argv[1]);
        } else
            usage();
    }
    return main_run(&cfg);
}
