/* db.c — the private PostgreSQL cluster cardline runs by itself, connections to it or to a bureau's server,
 * and the numbered migrations that make its schema */
#include "store/db.h"

#include "base/clock.h"
#include "base/i18n.h"
#include "base/log.h"
#include "store/migrations.h"

#include "encoder.h"
#include "photo.h"
#include "printer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLUSTER_DB_NAME     "cardline"
#define CLUSTER_ROLE        "cardline"
#define DEFAULT_ACCOUNT     "cardline"
#define SYSTEM_CLUSTER_ROOT "/var/lib/cardline/clusters"
#define LOCK_WAIT_SECONDS   180
/* sun_path is 108 bytes; the socket file name adds 15 */
#define SOCKET_DIR_MAX 90

const char *producer_strerror(int err)
{
    /* a library's code passed up through producer keeps its own name: the ranges never overlap */
    if (err <= PRINTER_ERROR_RANGE_MAX && err >= PRINTER_ERROR_RANGE_MIN)
        return printer_strerror(err);
    if (err <= PHOTO_ERROR_RANGE_MAX && err >= PHOTO_ERROR_RANGE_MIN)
        return photo_strerror(err);
    if (err <= ENCODER_ERROR_RANGE_MAX && err >= ENCODER_ERROR_RANGE_MIN)
        return encoder_strerror(err);
    switch (err) {
    case PRODUCER_ERROR_INVALID:
        return N_("invalid argument");
    case PRODUCER_ERROR_NOMEM:
        return N_("out of memory");
    case PRODUCER_ERROR_IO:
        return N_("input/output error");
    case PRODUCER_ERROR_DB:
        return N_("database error");
    case PRODUCER_ERROR_CLUSTER:
        return N_("the private PostgreSQL cluster could not be set up");
    case PRODUCER_ERROR_SCHEMA:
        return N_("database schema problem");
    case PRODUCER_ERROR_INPUT:
        return N_("bad input");
    case PRODUCER_ERROR_REFUSED:
        return N_("the database refused the change");
    case PRODUCER_ERROR_NOT_FOUND:
        return N_("not found");
    default:
        return err >= 0 ? N_("success") : N_("unknown error");
    }
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static void sha256_prefix_hex(const char *s, char *out, size_t hex_chars)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL);
    for (size_t i = 0; i < hex_chars / 2 && i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* libpq conninfo values are quoted with single quotes, backslash escaping ' and \. */
int db_conninfo_append(char *buf, size_t size, const char *key, const char *value)
{
    size_t o = strlen(buf);
    int n = snprintf(buf + o, size - o, "%s%s='", o ? " " : "", key);

    if (n < 0 || (size_t)n >= size - o)
        return -ENAMETOOLONG;
    o += (size_t)n;
    for (const char *p = value; *p; p++) {
        if (o + 3 >= size)
            return -ENAMETOOLONG;
        if (*p == '\'' || *p == '\\')
            buf[o++] = '\\';
        buf[o++] = *p;
    }
    if (o + 2 >= size)
        return -ENAMETOOLONG;
    buf[o++] = '\'';
    buf[o] = '\0';
    return 0;
}

static bool pg_env_present(void)
{
    static const char *const vars[] = {"PGHOST", "PGHOSTADDR", "PGDATABASE", "PGSERVICE", "PGPORT"};

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return true;
    }
    return false;
}

static int default_data_dir(char *out, size_t size)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;

    if (xdg && xdg[0] == '/')
        n = snprintf(out, size, "%s/cardline", xdg);
    else if (home && home[0] == '/')
        n = snprintf(out, size, "%s/.local/share/cardline", home);
    else {
        struct passwd *pw = getpwuid(geteuid());
        if (!pw)
            return PRODUCER_ERROR_INVALID;
        n = snprintf(out, size, "%s/.local/share/cardline", pw->pw_dir);
    }
    return n < 0 || (size_t)n >= size ? PRODUCER_ERROR_INVALID : 0;
}

static const char *server_account(void)
{
    const char *a = getenv("CARDLINE_PG_ACCOUNT");
    return a && *a ? a : DEFAULT_ACCOUNT;
}

/* The data directory's cluster id: 16 random bytes in hex, made on first use (O_EXCL: of two processes that
 * race, one writes it and both read the same). */
static int cluster_id(const char *data_dir, char ret[33])
{
    char path[PATH_MAX + 16], buf[40] = "";
    unsigned char raw[16];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/cluster-id", data_dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
            close(fd);
            unlink(path);
            return PRODUCER_ERROR_IO;
        }
        for (size_t i = 0; i < sizeof(raw); i++)
            snprintf(buf + 2 * i, 3, "%02x", raw[i]);
        buf[32] = '\n';
        if (write(fd, buf, 33) != 33 || close(fd) < 0) {
            unlink(path);
            log_error("db", "cannot write %s", path);
            return PRODUCER_ERROR_IO;
        }
    } else if (errno != EEXIST) {
        log_error("db", "cannot create %s: %s", path, strerror(errno));
        return PRODUCER_ERROR_IO;
    }
    for (int tries = 0; tries < 50; tries++) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        n = fd >= 0 ? read(fd, buf, 32) : -1;
        if (fd >= 0)
            close(fd);
        if (n == 32)
            break;
        /* the other process is between creating and writing it */
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    if (n != 32 || strspn(buf, "0123456789abcdef") < 32) {
        log_error("db", "%s is damaged; remove it only if the data directory's cluster is gone", path);
        return PRODUCER_ERROR_CLUSTER;
    }
    memcpy(ret, buf, 32);
    ret[32] = '\0';
    return 0;
}

int producer_db_resolve(const char *data_dir_opt, const char *db_opt, struct db_config *ret)
{
    struct db_config cfg;
    const char *env_dir = getenv("CARDLINE_DATA_DIR");
    char real[PATH_MAX], hash[17] = {0};
    int r;

    memset(&cfg, 0, sizeof(cfg));
    if (data_dir_opt && *data_dir_opt)
        r = snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", data_dir_opt) >= (int)sizeof(cfg.data_dir);
    else if (env_dir && *env_dir)
        r = snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", env_dir) >= (int)sizeof(cfg.data_dir);
    else
        r = default_data_dir(cfg.data_dir, sizeof(cfg.data_dir)) < 0;
    if (r) {
        log_error("db", "data directory path is too long or no home directory is known");
        return PRODUCER_ERROR_INVALID;
    }
    r = mkdir_p(cfg.data_dir, 0700);
    if (r < 0) {
        log_error("db", "cannot create data directory %s: %s", cfg.data_dir, strerror(-r));
        return PRODUCER_ERROR_IO;
    }
    if (!realpath(cfg.data_dir, real)) {
        log_error("db", "cannot resolve data directory %s: %s", cfg.data_dir, strerror(errno));
        return PRODUCER_ERROR_IO;
    }
    memcpy(cfg.data_dir, real, sizeof(real));

    if ((db_opt && *db_opt) || pg_env_present()) {
        cfg.embedded = false;
        snprintf(cfg.conninfo, sizeof(cfg.conninfo), "%s", db_opt ? db_opt : "");
        *ret = cfg;
        return 0;
    }

    cfg.embedded = true;
    sha256_prefix_hex(cfg.data_dir, hash, 16);
    if (geteuid() == 0) {
        /* PostgreSQL refuses to run as root, and the unprivileged account may not be able to walk into root's
         * home, so root's clusters live in a system directory under an id kept in the data directory: a new
         * data directory always gets a new cluster, even at a path used before. */
        char id[33];
        r = cluster_id(cfg.data_dir, id);
        if (r < 0)
            return r;
        snprintf(cfg.cluster_dir, sizeof(cfg.cluster_dir), "%s/%s", SYSTEM_CLUSTER_ROOT, id);
    } else {
        r = snprintf(cfg.cluster_dir, sizeof(cfg.cluster_dir), "%s/pg", cfg.data_dir);
        if (r < 0 || (size_t)r >= sizeof(cfg.cluster_dir))
            return PRODUCER_ERROR_INVALID;
    }
    if (strlen(cfg.cluster_dir) <= SOCKET_DIR_MAX)
        snprintf(cfg.socket_dir, sizeof(cfg.socket_dir), "%s", cfg.cluster_dir);
    else
        snprintf(cfg.socket_dir, sizeof(cfg.socket_dir), "/tmp/cardline-%u-%s", (unsigned)geteuid(), hash);

    if (db_conninfo_append(cfg.conninfo, sizeof(cfg.conninfo), "host", cfg.socket_dir) < 0 ||
        db_conninfo_append(cfg.conninfo, sizeof(cfg.conninfo), "dbname", CLUSTER_DB_NAME) < 0 ||
        db_conninfo_append(cfg.conninfo, sizeof(cfg.conninfo), "user", CLUSTER_ROLE) < 0)
        return PRODUCER_ERROR_INVALID;
    *ret = cfg;
    return 0;
}

/* --- running PostgreSQL's own programs ------------------------------------------------------------------ */

int db_pg_bindir(char *out, size_t size)
{
    const char *env = getenv("CARDLINE_PG_BINDIR");
    DIR *d;
    struct dirent *de;
    int best = 0;

    if (env && *env) {
        snprintf(out, size, "%s", env);
        return 0;
    }
    d = opendir("/usr/lib/postgresql");
    if (!d)
        return PRODUCER_ERROR_CLUSTER;
    while ((de = readdir(d))) {
        char probe[PATH_MAX];
        int v = atoi(de->d_name);
        snprintf(probe, sizeof(probe), "/usr/lib/postgresql/%s/bin/initdb", de->d_name);
        if (v >= 13 && v > best && access(probe, X_OK) == 0)
            best = v;
    }
    closedir(d);
    if (!best)
        return PRODUCER_ERROR_CLUSTER;
    snprintf(out, size, "/usr/lib/postgresql/%d/bin", best);
    return 0;
}

/* Look up (and, as root, create) the unprivileged account the server runs as. NULL when not root. */
static int server_passwd(struct passwd *ret, char *buf, size_t bufsize, bool *ret_as_other)
{
    struct passwd *res = NULL;
    const char *account = server_account();

    *ret_as_other = false;
    if (geteuid() != 0)
        return 0;
    getpwnam_r(account, ret, buf, bufsize, &res);
    if (!res) {
        pid_t pid;
        int status;

        log_info("db", "creating system account '%s' for the private PostgreSQL server", account);
        pid = fork();
        if (pid == 0) {
            execlp("useradd", "useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                   "/nonexistent", "--shell", "/usr/sbin/nologin", account, (char *)NULL);
            _exit(127);
        }
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            log_error("db",
                      "cannot create system account '%s'; create it with: useradd --system --user-group "
                      "--no-create-home --shell /usr/sbin/nologin %s",
                      account, account);
            return PRODUCER_ERROR_CLUSTER;
        }
        getpwnam_r(account, ret, buf, bufsize, &res);
        if (!res)
            return PRODUCER_ERROR_CLUSTER;
    }
    if (ret->pw_uid == 0) {
        log_error("db", "account '%s' is root; PostgreSQL needs an unprivileged account", account);
        return PRODUCER_ERROR_CLUSTER;
    }
    *ret_as_other = true;
    return 0;
}

/* Run argv (as pw when not NULL; with PGPASSWORD when password is not NULL) with stdout and stderr appended
 * to log_path. Returns the exit status or a negative error. */
static int run_program_env(const struct passwd *pw, char *const argv[], const char *log_path,
                           const char *password)
{
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_t pid;
    int status;

    if (fd < 0) {
        log_error("db", "cannot open %s: %s", log_path, strerror(errno));
        return PRODUCER_ERROR_IO;
    }
    pid = fork();
    if (pid < 0) {
        close(fd);
        return PRODUCER_ERROR_IO;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        /* the server outlives us: it must not inherit our lock file or database sockets */
        close_range(3, ~0U, 0);
        if (pw) {
            if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
                _exit(126);
            setenv("HOME", "/", 1);
            setenv("USER", pw->pw_name, 1);
        }
        /* PostgreSQL's programs speak their own language, not the one cardline chose for itself */
        i18n_child_env();
        /* what these programs write (dumps, logs) is for the owner alone */
        umask(077);
        /* a password goes through the environment, which only we can read, never through argv */
        if (password && setenv("PGPASSWORD", password, 1) < 0)
            _exit(126);
        if (chdir("/") < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return PRODUCER_ERROR_IO;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_program(const struct passwd *pw, char *const argv[], const char *log_path)
{
    return run_program_env(pw, argv, log_path, NULL);
}

int db_run_client(char *const argv[], const char *log_path, const char *password)
{
    return run_program_env(NULL, argv, log_path, password);
}

static void log_tail(const char *path)
{
    char line[512];
    FILE *f = fopen(path, "re");
    long size;

    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, size > 2048 ? size - 2048 : 0, SEEK_SET);
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0])
            log_error("db", "  %s", line);
    }
    fclose(f);
}

static int own_dir(const char *path, const struct passwd *pw)
{
    int r = mkdir_p(path, 0700);

    if (r < 0) {
        log_error("db", "cannot create %s: %s", path, strerror(-r));
        return PRODUCER_ERROR_IO;
    }
    if (pw && chown(path, pw->pw_uid, pw->pw_gid) < 0) {
        log_error("db", "cannot hand %s to %s: %s", path, pw->pw_name, strerror(errno));
        return PRODUCER_ERROR_IO;
    }
    return 0;
}

/* A socket directory in /tmp must be ours and private, or anyone could stand in for our server. */
static int check_private_dir(const char *path, uid_t owner)
{
    struct stat st;

    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != owner || (st.st_mode & 077)) {
        log_error("db", "socket directory %s is not a private directory of uid %u", path, (unsigned)owner);
        return PRODUCER_ERROR_CLUSTER;
    }
    return 0;
}

static int write_server_config(const char *pgdata, const char *socket_dir)
{
    char path[PATH_MAX + 32];
    FILE *f;

    snprintf(path, sizeof(path), "%s/postgresql.conf", pgdata);
    f = fopen(path, "ae");
    if (!f) {
        log_error("db", "cannot open %s: %s", path, strerror(errno));
        return PRODUCER_ERROR_IO;
    }
    fprintf(f,
            "\n# cardline private cluster: unix socket only, reachable by its owner alone\n"
            "listen_addresses = ''\n"
            "unix_socket_directories = '%s'\n"
            "unix_socket_permissions = 0700\n"
            "max_connections = 200\n"
            "log_line_prefix = '%%m [%%p] %%q%%u@%%d '\n"
            "log_min_messages = warning\n"
            "# no personal data in this log (also given to pg_ctl start, for clusters made before)\n"
            "log_error_verbosity = terse\n"
            "log_min_error_statement = panic\n",
            socket_dir);
    if (fclose(f) != 0)
        return PRODUCER_ERROR_IO;
    return 0;
}

static int cluster_paths(const struct db_config *cfg, char *pgdata, char *log_path, char *ctl_log)
{
    if ((size_t)snprintf(pgdata, PATH_MAX, "%s/data", cfg->cluster_dir) >= PATH_MAX ||
        (size_t)snprintf(log_path, PATH_MAX, "%s/server.log", cfg->cluster_dir) >= PATH_MAX ||
        (size_t)snprintf(ctl_log, PATH_MAX, "%s/pg_ctl.log", cfg->cluster_dir) >= PATH_MAX)
        return PRODUCER_ERROR_INVALID;
    return 0;
}

static int lock_data_dir(const struct db_config *cfg)
{
    char path[PATH_MAX + 32];
    int fd;
    time_t until = time(NULL) + LOCK_WAIT_SECONDS;

    snprintf(path, sizeof(path), "%s/.cluster.lock", cfg->data_dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("db", "cannot open %s: %s", path, strerror(errno));
        return PRODUCER_ERROR_IO;
    }
    /* flock has no timeout of its own; another cardline holds this only while it starts the server */
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK || time(NULL) > until) {
            log_error("db", "cannot lock %s: %s", path,
                      errno == EWOULDBLOCK ? "held too long" : strerror(errno));
            close(fd);
            return PRODUCER_ERROR_CLUSTER;
        }
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    return fd;
}

int producer_db_running(const struct db_config *cfg)
{
    char conninfo[1200];

    if (!cfg->embedded)
        return PQping(cfg->conninfo) == PQPING_OK;
    snprintf(conninfo, sizeof(conninfo), "%s connect_timeout=5", cfg->conninfo);
    /* PQPING_REJECT (starting up, shutting down) counts as not ready */
    return PQping(conninfo) == PQPING_OK;
}

static int ensure_database(const struct db_config *cfg)
{
    char conninfo[1200] = "";
    PGconn *conn;
    PGresult *res;
    const char *params[1] = {CLUSTER_DB_NAME};
    int r = 0;

    db_conninfo_append(conninfo, sizeof(conninfo), "host", cfg->socket_dir);
    db_conninfo_append(conninfo, sizeof(conninfo), "dbname", "postgres");
    db_conninfo_append(conninfo, sizeof(conninfo), "user", CLUSTER_ROLE);
    conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        log_error("db", "cannot connect to the private cluster: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return PRODUCER_ERROR_CLUSTER;
    }
    res = PQexecParams(conn, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 0) {
        PQclear(res);
        res = PQexec(conn, "CREATE DATABASE " CLUSTER_DB_NAME " ENCODING 'UTF8' TEMPLATE template0");
        if (PQresultStatus(res) != PGRES_COMMAND_OK && strcmp(db_sqlstate(res), "42P04") != 0) {
            log_error("db", "cannot create database: %s", PQresultErrorMessage(res));
            r = PRODUCER_ERROR_CLUSTER;
        }
    } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_error("db", "cannot list databases: %s", PQresultErrorMessage(res));
        r = PRODUCER_ERROR_CLUSTER;
    }
    PQclear(res);
    PQfinish(conn);
    return r;
}

static int start_locked(const struct db_config *cfg)
{
    struct passwd pwbuf;
    char pwstr[1024], bindir[PATH_MAX], prog[PATH_MAX + 16], pgdata[PATH_MAX], log_path[PATH_MAX],
        ctl_log[PATH_MAX], version[PATH_MAX + 16];
    bool as_other;
    const struct passwd *pw;
    int r;

    if (producer_db_running(cfg) == 1)
        return ensure_database(cfg);
    r = server_passwd(&pwbuf, pwstr, sizeof(pwstr), &as_other);
    if (r < 0)
        return r;
    pw = as_other ? &pwbuf : NULL;
    if (db_pg_bindir(bindir, sizeof(bindir)) < 0) {
        log_error("db",
                  "PostgreSQL server programs not found under /usr/lib/postgresql (install the 'postgresql' "
                  "package, or set CARDLINE_PG_BINDIR)");
        return PRODUCER_ERROR_CLUSTER;
    }
    if (cluster_paths(cfg, pgdata, log_path, ctl_log) < 0)
        return PRODUCER_ERROR_INVALID;
    if (pw && mkdir_p(SYSTEM_CLUSTER_ROOT, 0755) < 0) {
        log_error("db", "cannot create %s: %s", SYSTEM_CLUSTER_ROOT, strerror(errno));
        return PRODUCER_ERROR_IO;
    }
    r = own_dir(cfg->cluster_dir, pw);
    if (r < 0)
        return r;
    if (strcmp(cfg->socket_dir, cfg->cluster_dir) != 0) {
        r = own_dir(cfg->socket_dir, pw);
        if (r < 0 || (r = check_private_dir(cfg->socket_dir, pw ? pw->pw_uid : geteuid())) < 0)
            return r;
    }
    if (pw) {
        /* leave a pointer in the data directory so that people find the cluster */
        char link[PATH_MAX + 8];
        snprintf(link, sizeof(link), "%s/pg", cfg->data_dir);
        if (symlink(cfg->cluster_dir, link) < 0 && errno != EEXIST)
            log_warn("db", "cannot link %s to %s: %s", link, cfg->cluster_dir, strerror(errno));
    }

    snprintf(version, sizeof(version), "%s/PG_VERSION", pgdata);
    if (access(version, F_OK) != 0) {
        char *argv[] = {prog,
                        "-D",
                        pgdata,
                        "-U",
                        CLUSTER_ROLE,
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                        "--auth-local=trust",
                        "--auth-host=reject",
                        NULL};
        snprintf(prog, sizeof(prog), "%s/initdb", bindir);
        log_info("db", "creating private PostgreSQL cluster in %s", cfg->cluster_dir);
        r = run_program(pw, argv, ctl_log);
        if (r != 0) {
            log_error("db", "initdb failed (exit %d); its output:", r);
            log_tail(ctl_log);
            return PRODUCER_ERROR_CLUSTER;
        }
        r = write_server_config(pgdata, cfg->socket_dir);
        if (r < 0)
            return r;
    }

    {
        /* No personal data in the server log: terse drops an error's DETAIL (a unique-key violation's detail
         * holds the key: a document number), HINT and CONTEXT; panic drops the STATEMENT that failed. Given
         * on every start, so clusters created by older versions get them too. */
        char opts[] = "-c log_error_verbosity=terse -c log_min_error_statement=panic";
        char *argv[] = {prog, "-D", pgdata, "-l", log_path, "-w", "-t", "120", "-o", opts, "start", NULL};
        snprintf(prog, sizeof(prog), "%s/pg_ctl", bindir);
        log_info("db", "starting private PostgreSQL server (socket in %s)", cfg->socket_dir);
        r = run_program(pw, argv, ctl_log);
        if (r != 0) {
            log_error("db", "pg_ctl start failed (exit %d); server log:", r);
            log_tail(log_path);
            return PRODUCER_ERROR_CLUSTER;
        }
    }
    return ensure_database(cfg);
}

int producer_db_start(const struct db_config *cfg)
{
    int fd, r;

    if (!cfg->embedded)
        return 0;
    fd = lock_data_dir(cfg);
    if (fd < 0)
        return fd;
    r = start_locked(cfg);
    close(fd);
    return r;
}

int producer_db_stop(const struct db_config *cfg)
{
    struct passwd pwbuf;
    char pwstr[1024], bindir[PATH_MAX], prog[PATH_MAX + 16], pgdata[PATH_MAX], log_path[PATH_MAX],
        ctl_log[PATH_MAX];
    bool as_other;
    int fd, r;

    if (!cfg->embedded) {
        log_error("db", "the database is an external server; cardline only stops its own private cluster");
        return PRODUCER_ERROR_INVALID;
    }
    if (cluster_paths(cfg, pgdata, log_path, ctl_log) < 0)
        return PRODUCER_ERROR_INVALID;
    {
        char pid_file[PATH_MAX + 16];
        snprintf(pid_file, sizeof(pid_file), "%s/postmaster.pid", pgdata);
        if (access(pid_file, F_OK) != 0)
            return 0;
    }
    r = server_passwd(&pwbuf, pwstr, sizeof(pwstr), &as_other);
    if (r < 0)
        return r;
    if (db_pg_bindir(bindir, sizeof(bindir)) < 0)
        return PRODUCER_ERROR_CLUSTER;
    fd = lock_data_dir(cfg);
    if (fd < 0)
        return fd;
    {
        char *argv[] = {prog, "-D", pgdata, "-m", "fast", "-w", "-t", "120", "stop", NULL};
        snprintf(prog, sizeof(prog), "%s/pg_ctl", bindir);
        r = run_program(as_other ? &pwbuf : NULL, argv, ctl_log);
    }
    close(fd);
    if (r != 0) {
        log_error("db", "pg_ctl stop failed (exit %d); see %s", r, ctl_log);
        return PRODUCER_ERROR_CLUSTER;
    }
    return 0;
}

/* Server notices (e.g. "relation already exists, skipping") are for developers, not for operators. */
static void notice_to_log(void *arg, const char *message)
{
    (void)arg;
    log_debug("db", "server notice: %.*s", (int)strcspn(message, "\n"), message);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* The folders under the data directory that cardline fills from the database (line/controller.c,
 * cli/cmd_photo.c, dispatch/dispatch.c); each is created owner-only. */
static const char *const derived_dirs[] = {"faces", "receipts", "shipments"};

int producer_db_destroy(const struct db_config *cfg)
{
    char link[PATH_MAX + 16];
    int r;

    if (!cfg->embedded) {
        log_error("db", "the database is an external server; cardline only removes its own private cluster");
        return PRODUCER_ERROR_INVALID;
    }
    r = producer_db_stop(cfg);
    if (r < 0)
        return r;
    if (nftw(cfg->cluster_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) {
        log_error("db", "cannot remove %s: %s", cfg->cluster_dir, strerror(errno));
        return PRODUCER_ERROR_IO;
    }
    if (strcmp(cfg->socket_dir, cfg->cluster_dir) != 0)
        rmdir(cfg->socket_dir);
    /* what was made from the database goes with it: faces (name, number, photo), photo receipts, shipment
     * exports — all personal data */
    for (size_t i = 0; i < sizeof(derived_dirs) / sizeof(derived_dirs[0]); i++) {
        snprintf(link, sizeof(link), "%s/%s", cfg->data_dir, derived_dirs[i]);
        if (nftw(link, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) {
            log_error("db", "cannot remove %s: %s", link, strerror(errno));
            return PRODUCER_ERROR_IO;
        }
    }
    snprintf(link, sizeof(link), "%s/pg", cfg->data_dir);
    unlink(link);
    snprintf(link, sizeof(link), "%s/cluster-id", cfg->data_dir);
    unlink(link);
    return 0;
}

PGconn *db_connect_to(const struct db_config *cfg, const char *dbname)
{
    /* Our defaults come before the conninfo so that a bureau's own values win: connect_timeout bounds each
     * host of a multi-host conninfo, and keepalives with tcp_user_timeout notice a database machine that
     * vanished without closing its connections (power, network), which would otherwise hang a statement for
     * the kernel's quarter of an hour instead of letting the line reconnect to the new primary. The encoding,
     * a database asked for by name and the clock come after it: they are not the bureau's to change. */
    const char *keys[12] = {
        "fallback_application_name", "connect_timeout",  "keepalives_idle", "keepalives_interval",
        "keepalives_count",          "tcp_user_timeout", "dbname"};
    const char *vals[12] = {"cardline", "10", "10", "5", "3", "20000", cfg->conninfo};
    char options[64];
    size_t n = 7;
    PGconn *conn;

    if (dbname) {
        keys[n] = "dbname";
        vals[n++] = dbname;
    }
    keys[n] = "client_encoding";
    vals[n++] = "UTF8";
    /* the business clock, when pinned, travels with every session so that SQL's clock_now() agrees with ours
     */
    if (producer_clock_pinned()) {
        snprintf(options, sizeof(options), "-c cardline.clock_offset=%lld", producer_clock_offset());
        keys[n] = "options";
        vals[n++] = options;
    }
    keys[n] = NULL;
    vals[n] = NULL;
    conn = PQconnectdbParams(keys, vals, 1);
    if (conn && PQstatus(conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(conn, notice_to_log, NULL);
        /* error messages without DETAIL: a unique-key violation's detail holds the key, a person's document
         * number, and error messages reach our logs */
        PQsetErrorVerbosity(conn, PQERRORS_TERSE);
    }
    return conn;
}

PGconn *producer_db_connect(const struct db_config *cfg)
{
    PGconn *conn = db_connect_to(cfg, NULL);

    if (PQstatus(conn) != CONNECTION_OK) {
        log_error("db", "cannot connect to the database: %s", conn ? PQerrorMessage(conn) : "out of memory");
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

PGconn *producer_db_open(const struct db_config *cfg)
{
    PGconn *conn;

    if (producer_db_start(cfg) < 0)
        return NULL;
    conn = producer_db_connect(cfg);
    if (!conn)
        return NULL;
    if (producer_db_migrate(conn, NULL) < 0) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* --- SQL helpers ---------------------------------------------------------------------------------------- */

PGresult *db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

bool db_ok(const PGresult *res)
{
    ExecStatusType s = PQresultStatus(res);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

const char *db_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

PGresult *store_query(PGconn *conn, const char *what, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = db_exec(conn, sql, nparams, params);

    if (!db_ok(res)) {
        log_debug("store", "%s: %s", what, PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

int store_query_number(PGconn *conn, const char *what, const char *sql, int nparams,
                       const char *const *params, long long *ret)
{
    PGresult *res = store_query(conn, what, sql, nparams, params);

    if (!res)
        return PRODUCER_ERROR_DB;
    if (PQntuples(res) != 1 || PQnfields(res) < 1) {
        log_debug("store", "%s: %d rows, one expected", what, PQntuples(res));
        PQclear(res);
        return PRODUCER_ERROR_DB;
    }
    *ret = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int store_query_row(PGconn *conn, const char *what, const char *sql, int nparams, const char *const *params,
                    PGresult **ret_res)
{
    PGresult *res = store_query(conn, what, sql, nparams, params);

    if (!res)
        return PRODUCER_ERROR_DB;
    if (PQntuples(res) < 1) {
        PQclear(res);
        return 0;
    }
    *ret_res = res;
    return 1;
}

int store_command_count(PGconn *conn, const char *what, const char *sql, int nparams,
                        const char *const *params)
{
    PGresult *res = store_query(conn, what, sql, nparams, params);
    int r;

    if (!res)
        return PRODUCER_ERROR_DB;
    r = atoi(PQcmdTuples(res));
    PQclear(res);
    return r;
}

int db_command(PGconn *conn, const char *ctx, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = db_exec(conn, sql, nparams, params);
    int r = 0;

    if (!db_ok(res)) {
        /* no result at all when the session is already gone: the connection says why */
        log_error("db", "%s: %s", ctx, res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        r = PRODUCER_ERROR_DB;
    }
    PQclear(res);
    return r;
}

/* --- migrations ----------------------------------------------------------------------------------------- */

static int apply_one(PGconn *conn, const struct producer_migration *m, bool *ret_applied)
{
    char version[16];
    const char *params[2] = {version, m->name};
    PGresult *res;
    int r = PRODUCER_ERROR_SCHEMA;

    snprintf(version, sizeof(version), "%d", m->version);
    *ret_applied = false;
    if (db_command(conn, "begin migration", "BEGIN", 0, NULL) < 0)
        return PRODUCER_ERROR_DB;
    /* one migrator at a time across all controllers */
    if (db_command(conn, "lock migrations", "SELECT pg_advisory_xact_lock(hashtext('cardline.migrate'))", 0,
                   NULL) < 0 ||
        db_command(
            conn, "create schema_migration",
            "CREATE TABLE IF NOT EXISTS schema_migration (version integer PRIMARY KEY, name text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())",
            0, NULL) < 0)
        goto rollback;
    res = db_exec(conn, "SELECT 1 FROM schema_migration WHERE version = $1", 1, params);
    if (!db_ok(res)) {
        log_error("db", "read schema_migration: %s", PQresultErrorMessage(res));
        PQclear(res);
        goto rollback;
    }
    if (PQntuples(res) > 0) {
        PQclear(res);
        return db_command(conn, "commit", "COMMIT", 0, NULL);
    }
    PQclear(res);

    res = PQexec(conn, m->sql);
    if (!db_ok(res)) {
        log_error("db", "migration %s failed: %s", m->name, PQresultErrorMessage(res));
        PQclear(res);
        goto rollback;
    }
    PQclear(res);
    if (db_command(conn, "record migration", "INSERT INTO schema_migration (version, name) VALUES ($1, $2)",
                   2, params) < 0)
        goto rollback;
    if (db_command(conn, "commit migration", "COMMIT", 0, NULL) < 0)
        return PRODUCER_ERROR_SCHEMA;
    *ret_applied = true;
    log_info("db", "applied migration %s", m->name);
    return 0;

rollback:
    PQclear(PQexec(conn, "ROLLBACK"));
    return r;
}

int producer_db_migrate(PGconn *conn, int *ret_applied)
{
    int applied = 0, known = producer_migrations[producer_migration_count - 1].version;
    bool done[1000] = {false};
    PGresult *res;

    /* what is applied already; the table is missing on a fresh database */
    res = PQexec(conn, "SELECT version FROM schema_migration");
    for (int i = 0; db_ok(res) && i < PQntuples(res); i++) {
        int v = atoi(PQgetvalue(res, i, 0));
        if (v > known) {
            log_error("db", "database schema version %d is newer than this cardline (%d); upgrade cardline",
                      v, known);
            PQclear(res);
            return PRODUCER_ERROR_SCHEMA;
        }
        if (v > 0 && v < (int)(sizeof(done) / sizeof(done[0])))
            done[v] = true;
    }
    PQclear(res);
    /* every migration not yet recorded, also one numbered below the newest applied; apply_one checks again
     * under the lock, so concurrent controllers apply each exactly once */
    for (size_t i = 0; i < producer_migration_count; i++) {
        bool did;
        int r;

        if (done[producer_migrations[i].version])
            continue;
        r = apply_one(conn, &producer_migrations[i], &did);
        if (r < 0)
            return r;
        applied += did;
    }
    if (ret_applied)
        *ret_applied = applied;
    return 0;
}
