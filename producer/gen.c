/* gen.c — realistic approved applications for demos and tests: valid identity numbers, minors, foreigners,
 * rare and long names, both kinds of outlet, replacements and exchanges, each with a photo */
#include "producer.h"

#include "gen_portrait.h"
#include "intake.h"
#include "log.h"
#include "photo.h"
#include "rng.h"
#include "rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct rng {
    uint32_t s;
};

static uint32_t rng_next(struct rng *r)
{
    return producer_splitmix32(&r->s);
}

static int rng_below(struct rng *r, int n)
{
    return (int)(rng_next(r) % (uint32_t)n);
}

#define PICK(r, arr) (arr)[rng_below((r), (int)(sizeof(arr) / sizeof((arr)[0])))]

static const struct {
    const char *code, *name, *kind, *county, *weekdays;
    int transit;
    const char *bank; /* a bank's own window opens accounts with that bank */
} default_outlets[] = {
    {"HR0101", "越秀区人社局综合柜员窗口", "hrss", "越秀区", "{1,3,5}", 1, NULL},
    {"HR0102", "天河区人社局综合柜员窗口", "hrss", "天河区", "{2,4}", 1, NULL},
    {"HR0103", "番禺区人社局综合柜员窗口", "hrss", "番禺区", "{1,4}", 2, NULL},
    {"HR0104", "花都区政务服务中心社保窗口", "hrss", "花都区", "{3}", 2, NULL},
    {"BK0201", "中国工商银行广州天河支行", "bank", "天河区", "{1,2,3,4,5}", 1, "中国工商银行"},
    {"BK0202", "中国建设银行广州海珠支行", "bank", "海珠区", "{2,5}", 1, "中国建设银行"},
    {"BK0203", "中国农业银行广州白云支行", "bank", "白云区", "{1,3}", 1, "中国农业银行"},
    {"BK0204", "广州农村商业银行黄埔支行", "bank", "黄埔区", "{4}", 2, "广州农村商业银行"},
};

static const char *const banks[] = {"中国工商银行", "中国建设银行", "中国农业银行", "中国银行",
                                    "广州农村商业银行"};

/* Guangzhou districts and places migrants come from (GB/T 2260 codes) */
static const char *const local_regions[] = {"440103", "440104", "440105", "440106",
                                            "440111", "440112", "440113", "440114"};
static const char *const other_regions[] = {"430102", "510104", "360102", "450102", "110101",
                                            "420106", "350203", "522601", "652101", "530102"};

static const char *const surnames[] = {"王",   "李",   "张",   "刘",   "陈", "杨", "黄", "赵", "吴", "周",
                                       "徐",   "孙",   "马",   "朱",   "胡", "郭", "何", "林", "罗", "梁",
                                       "欧阳", "司马", "上官", "诸葛", "钟", "邓", "冯", "曾", "彭", "萧"};
static const char *const given_common[] = {
    "伟", "芳", "娜", "敏",   "静", "丽", "强",   "磊",   "军",   "洋",   "勇",   "艳",   "杰",   "娟",
    "涛", "明", "超", "秀英", "华", "慧", "建国", "志强", "晓燕", "子涵", "浩然", "梓轩", "雨桐", "欣怡"};
/* characters outside everyday use that still must print and encode (all within GBK) */
static const char *const given_rare[] = {"堃", "喆", "犇", "淼", "彧", "玥", "珺", "燊", "昇", "翀",
                                         "赟", "昊", "骉", "垚", "祎", "旻", "琍", "溱", "頔", "婧"};
/* long names of Uyghur and other minorities, written with the middle dot */
static const struct {
    const char *name;
    int ethnicity;
} long_names[] = {
    {"阿依古丽·买买提依明·阿卜杜克热木", 5},
    {"买买提依明·阿卜杜热西提", 5},
    {"热依拉·艾买提江", 5},
    {"扎西次仁·洛桑丹增", 4},
    {"阿卜杜萨拉木·吐尔逊托合提", 5},
};
static const struct {
    const char *name, *nationality;
} foreigners[] = {
    {"SMITH JOHN WILLIAM", "USA"}, {"KIM MINJUN", "KOR"},      {"TANAKA HARUTO", "JPN"},
    {"MUELLER ANNA", "DEU"},       {"DUPONT CAMILLE", "FRA"},  {"IVANOV DMITRY", "RUS"},
    {"NGUYEN VAN AN", "VNM"},      {"OKAFOR CHIAMAKA", "NGA"},
};
/* GB 3304 ethnicity codes other than Han (01) seen in Guangdong */
static const int minority_codes[] = {8, 3, 6, 11, 7, 9, 13, 16};

struct person_gen {
    struct rng rng;
    struct producer_portrait_source
        *portraits; /* the real face photos the applicants' photos are made from */
    char today[11];
    int today_y;
};

static void make_resident_id(struct rng *r, const char *region, int y, int m, int d, char sex, char out[19])
{
    int seq = rng_below(r, 500) * 2 + (sex == '1' ? 1 : 0); /* odd = male */
    char check;

    snprintf(out, 19, "%.6s%04u%02u%02u%03u", region, (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u, (unsigned)seq % 1000u);
    check = producer_idcard_check_char(out);
    out[17] = check;
    out[18] = '\0';
}

static void random_birth(struct rng *r, int today_y, int min_age, int max_age, int *y, int *m, int *d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    *y = today_y - min_age - rng_below(r, max_age - min_age + 1);
    *m = 1 + rng_below(r, 12);
    *d = 1 + rng_below(r, mdays[*m - 1]);
}

static void chinese_name(struct rng *r, char *out, size_t size)
{
    const char *sur = PICK(r, surnames);
    int roll = rng_below(r, 10);

    if (roll < 2)
        snprintf(out, size, "%s%s", sur, PICK(r, given_rare));
    else if (roll < 3)
        snprintf(out, size, "%s%s%s", sur, PICK(r, given_rare), PICK(r, given_common));
    else if (roll < 6)
        snprintf(out, size, "%s%s", sur, PICK(r, given_common));
    else
        snprintf(out, size, "%s%s%s", sur, PICK(r, given_common), PICK(r, given_common));
}

/* A person and the document they applied with. */
static void gen_person(struct person_gen *g, struct producer_app *a)
{
    struct rng *r = &g->rng;
    int roll = rng_below(r, 100), y, m, d;

    a->sex = rng_below(r, 2) ? '1' : '2';
    a->ethnicity = rng_below(r, 10) == 0 ? PICK(r, minority_codes) : 1;
    snprintf(a->nationality, sizeof(a->nationality), "CHN");
    if (roll < 6) {
        /* foreigner with a passport; the bureau assigns the social security number */
        int i = rng_below(r, (int)(sizeof(foreigners) / sizeof(foreigners[0])));
        random_birth(r, g->today_y, 20, 60, &y, &m, &d);
        snprintf(a->doc_type, sizeof(a->doc_type), "passport");
        snprintf(a->doc_number, sizeof(a->doc_number), "%c%c%07u", 'E' + rng_below(r, 4),
                 'A' + rng_below(r, 26), rng_next(r) % 10000000u);
        snprintf(a->name, sizeof(a->name), "%s", foreigners[i].name);
        snprintf(a->nationality, sizeof(a->nationality), "%s", foreigners[i].nationality);
        snprintf(a->ssn, sizeof(a->ssn), "%.3s%04u%02u%02u%07u", foreigners[i].nationality,
                 (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u, rng_next(r) % 10000000u);
        snprintf(a->birth_place, sizeof(a->birth_place), "440100");
        a->ethnicity = 97;
    } else if (roll < 8) {
        random_birth(r, g->today_y, 18, 70, &y, &m, &d);
        snprintf(a->doc_type, sizeof(a->doc_type), "hk_macau_permit");
        snprintf(a->doc_number, sizeof(a->doc_number), "%c%08u", rng_below(r, 2) ? 'H' : 'M',
                 rng_next(r) % 100000000u);
        chinese_name(r, a->name, sizeof(a->name));
        snprintf(a->birth_place, sizeof(a->birth_place), rng_below(r, 2) ? "810000" : "820000");
        /* Hong Kong and Macau residents living on the mainland hold an 18-digit residence permit number */
        make_resident_id(r, a->birth_place, y, m, d, a->sex, a->ssn);
    } else {
        bool minor = roll < 22;
        const char *region = rng_below(r, 3) ? PICK(r, local_regions) : PICK(r, other_regions);
        if (minor)
            random_birth(r, g->today_y, 1, 15, &y, &m, &d);
        else
            random_birth(r, g->today_y, 18, 85, &y, &m, &d);
        snprintf(a->doc_type, sizeof(a->doc_type), minor ? "household_register" : "resident_id");
        make_resident_id(r, region, y, m, d, a->sex, a->doc_number);
        snprintf(a->ssn, sizeof(a->ssn), "%.18s", a->doc_number);
        snprintf(a->birth_place, sizeof(a->birth_place), "%s", region);
        if (rng_below(r, 25) == 0) {
            int i = rng_below(r, (int)(sizeof(long_names) / sizeof(long_names[0])));
            snprintf(a->name, sizeof(a->name), "%s", long_names[i].name);
            a->ethnicity = long_names[i].ethnicity;
        } else {
            chinese_name(r, a->name, sizeof(a->name));
        }
    }
    snprintf(a->birth_date, sizeof(a->birth_date), "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u);
}

int producer_gen_outlets(PGconn *conn)
{
    PGresult *res = db_exec(conn, "SELECT count(*) FROM outlet", 0, NULL);
    int have = db_ok(res) ? atoi(PQgetvalue(res, 0, 0)) : -1;

    PQclear(res);
    if (have < 0)
        return PRODUCER_ERROR_DB;
    if (have > 0)
        return 0;
    for (size_t i = 0; i < sizeof(default_outlets) / sizeof(default_outlets[0]); i++) {
        char transit[8];
        const char *params[6] = {default_outlets[i].code,     default_outlets[i].name,
                                 default_outlets[i].kind,     default_outlets[i].county,
                                 default_outlets[i].weekdays, transit};
        snprintf(transit, sizeof(transit), "%d", default_outlets[i].transit);
        if (db_command(conn, "add outlet",
                       "INSERT INTO outlet (code, name, kind, county, delivery_weekdays, transit_days) "
                       "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                       6, params) < 0)
            return PRODUCER_ERROR_DB;
    }
    return (int)(sizeof(default_outlets) / sizeof(default_outlets[0]));
}

static time_t parse_day(const char *s)
{
    struct tm tm = {0};
    if (!s || sscanf(s, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
        return (time_t)-1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_hour = 12;
    return timegm(&tm);
}

/* A working-hours timestamp on a weekday inside [from, to], in Beijing time. */
static void gen_accepted(struct rng *r, time_t from, time_t to, char *out, size_t size)
{
    int days = (int)((to - from) / 86400) + 1;
    struct tm tm;

    for (int tries = 0; tries < 16; tries++) {
        time_t t = from + (time_t)rng_below(r, days > 0 ? days : 1) * 86400;
        gmtime_r(&t, &tm);
        if (tm.tm_wday != 0 && tm.tm_wday != 6)
            break;
    }
    snprintf(out, size, "%04d-%02d-%02d %02d:%02d:00+08", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             9 + rng_below(r, 8), rng_below(r, 60));
}

/* An earlier card of the person, as issued years ago, for replacement and exchange applications. */
static int insert_old_card(PGconn *conn, struct rng *r, const struct producer_app *a, const char *status,
                           char out[10])
{
    char issue[11];
    const char *params[4] = {out, a->ssn, status, issue};
    PGresult *res;
    int rc;

    for (int tries = 0; tries < 8; tries++) {
        snprintf(out, 10, "E%08u", rng_next(r) % 100000000u);
        snprintf(issue, sizeof(issue), "%04u-%02u-15", 2016u + (unsigned)rng_below(r, 6),
                 1u + (unsigned)rng_below(r, 12));
        res = db_exec(conn,
                      "INSERT INTO card (card_number, person_key, status, issue_date, expiry_date) "
                      "VALUES ($1, $2, $3, $4, $4::date + interval '10 years') ON CONFLICT DO NOTHING",
                      4, params);
        rc = db_ok(res) ? atoi(PQcmdTuples(res)) : -1;
        if (!db_ok(res))
            log_error("gen", "old card: %s", PQresultErrorMessage(res));
        PQclear(res);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return PRODUCER_ERROR_DB;
    }
    return PRODUCER_ERROR_DB;
}

enum defect {
    DEFECT_CHECK_CHAR,
    DEFECT_UNKNOWN_OUTLET,
    DEFECT_BIRTH_MISMATCH,
    DEFECT_REPLACEMENT_NOT_LOST,
    DEFECT_ALREADY_HAS_CARD,
    DEFECT_BAD_PHOTO,
    DEFECT_COUNT
};

static int gen_one(PGconn *conn, struct person_gen *g, const struct producer_gen_config *cfg, int index,
                   time_t from, time_t to, uint32_t run_id, int defect)
{
    struct rng *r = &g->rng;
    struct producer_app a;
    char accepted[40], err[256];
    uint8_t *jpeg = NULL;
    size_t jpeg_len = 0;
    int outlet = rng_below(r, (int)(sizeof(default_outlets) / sizeof(default_outlets[0])));
    int kind_roll = rng_below(r, 100), rc;

    memset(&a, 0, sizeof(a));
    gen_person(g, &a);
    /* these defects are about the resident ID number, so the person must have one */
    while ((defect == DEFECT_CHECK_CHAR || defect == DEFECT_BIRTH_MISMATCH) &&
           strcmp(a.doc_type, "resident_id") != 0 && strcmp(a.doc_type, "household_register") != 0)
        gen_person(g, &a);
    snprintf(a.upstream_id, sizeof(a.upstream_id), "SQ%08X-%05d", run_id, index + 1);
    snprintf(a.kind, sizeof(a.kind), "new");
    snprintf(a.outlet_code, sizeof(a.outlet_code), "%s", default_outlets[outlet].code);
    /* at a bank's window the applicant opens the account with that bank */
    snprintf(a.bank_name, sizeof(a.bank_name), "%s",
             default_outlets[outlet].bank ? default_outlets[outlet].bank : PICK(r, banks));
    gen_accepted(r, from, to, accepted, sizeof(accepted));

    if (defect < 0 && kind_roll < 3) {
        snprintf(a.kind, sizeof(a.kind), "replacement");
        if (insert_old_card(conn, r, &a, "lost", a.replaced_card) < 0)
            return PRODUCER_ERROR_DB;
    } else if (defect < 0 && kind_roll < 6) {
        snprintf(a.kind, sizeof(a.kind), "exchange");
        if (insert_old_card(conn, r, &a, "issued", a.replaced_card) < 0)
            return PRODUCER_ERROR_DB;
    }

    switch (defect) {
    case DEFECT_CHECK_CHAR:
        a.doc_number[17] = a.doc_number[17] == '0' ? '1' : '0';
        memcpy(a.ssn, a.doc_number, 19);
        break;
    case DEFECT_UNKNOWN_OUTLET:
        snprintf(a.outlet_code, sizeof(a.outlet_code), "HR0999");
        break;
    case DEFECT_BIRTH_MISMATCH:
        a.birth_date[9] = a.birth_date[9] == '1' ? '2' : '1';
        break;
    case DEFECT_REPLACEMENT_NOT_LOST:
        snprintf(a.kind, sizeof(a.kind), "replacement");
        if (insert_old_card(conn, r, &a, "issued", a.replaced_card) < 0)
            return PRODUCER_ERROR_DB;
        break;
    case DEFECT_ALREADY_HAS_CARD: {
        char old[10];
        if (insert_old_card(conn, r, &a, "issued", old) < 0)
            return PRODUCER_ERROR_DB;
        break;
    }
    default:
        break;
    }
    rc = producer_portrait_render(
        g->portraits, g->rng.s ^ (uint32_t)index,
        defect == DEFECT_BAD_PHOTO
            /* each kind of photo fault in turn */
            ? (enum producer_portrait_flaw)(1 + index % (PRODUCER_PORTRAIT_FLAW_COUNT - 1))
            : PRODUCER_PORTRAIT_OK,
        &jpeg, &jpeg_len);
    if (rc < 0) {
        log_error("gen", "portrait: %s", producer_portrait_strerror(rc));
        return PRODUCER_ERROR_IO;
    }
    rc = producer_insert_photo(conn, jpeg, jpeg_len, "demo studio", &a.photo_id);
    free(jpeg);
    if (rc < 0)
        return rc;
    if (producer_insert_application(conn, &a, accepted, kind_roll < 8 ? 3 : 5, err, sizeof(err)) < 0) {
        log_error("gen", "application %s: %s", a.upstream_id, err);
        return PRODUCER_ERROR_DB;
    }
    (void)cfg;
    return 0;
}

int producer_gen_applications(PGconn *conn, const struct producer_gen_config *cfg)
{
    struct person_gen g;
    time_t now = time(NULL), from, to;
    struct tm tm;
    uint32_t run_id;
    int r = 0;

    if (cfg->count < 0 || cfg->count > 1000000 || cfg->defects < 0 || cfg->defects > cfg->count) {
        log_error("gen", "count must be 0..1000000 and defects at most count");
        return PRODUCER_ERROR_INVALID;
    }
    memset(&g, 0, sizeof(g));
    g.rng.s = cfg->seed;
    run_id = rng_next(&g.rng);
    gmtime_r(&now, &tm);
    g.today_y = tm.tm_year + 1900;
    from = cfg->accepted_from ? parse_day(cfg->accepted_from) : now - 35 * 86400;
    to = cfg->accepted_to ? parse_day(cfg->accepted_to) : now - 86400;
    if (from == (time_t)-1 || to == (time_t)-1 || to < from) {
        log_error("gen", "accepted dates must be YYYY-MM-DD with from <= to");
        return PRODUCER_ERROR_INVALID;
    }
    r = producer_gen_outlets(conn);
    if (r < 0)
        return r;
    r = producer_portrait_source_new(NULL, &g.portraits);
    if (r < 0) {
        log_error("gen", "portraits: %s", producer_portrait_strerror(r));
        return PRODUCER_ERROR_IO;
    }
    if (db_command(conn, "begin", "BEGIN", 0, NULL) < 0) {
        producer_portrait_source_free(g.portraits);
        return PRODUCER_ERROR_DB;
    }
    for (int i = 0; i < cfg->count; i++) {
        /* spread the defects evenly through the batch */
        int defect = -1;
        if (cfg->defects > 0 && (i * cfg->defects) / cfg->count != ((i + 1) * cfg->defects) / cfg->count)
            defect = ((i + 1) * cfg->defects / cfg->count - 1) % DEFECT_COUNT;
        r = gen_one(conn, &g, cfg, i, from, to, run_id, defect);
        if (r < 0) {
            PQclear(PQexec(conn, "ROLLBACK"));
            producer_portrait_source_free(g.portraits);
            return r;
        }
    }
    producer_portrait_source_free(g.portraits);
    if (producer_event(conn, "gen", "generated", NULL, NULL, NULL, NULL) < 0 ||
        db_command(conn, "commit", "COMMIT", 0, NULL) < 0) {
        PQclear(PQexec(conn, "ROLLBACK"));
        return PRODUCER_ERROR_DB;
    }
    producer_notify_work(conn);
    return cfg->count;
}
