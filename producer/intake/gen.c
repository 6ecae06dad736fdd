/* gen.c — realistic approved applications for demos and tests: valid identity numbers, minors, foreigners,
 * rare and long names, both kinds of outlet, replacements and exchanges, each with a photo */
#include "producer.h"
#include "store/applications.h"
#include "store/banks.h"
#include "store/calendar.h"
#include "store/outlets.h"
#include "store/production.h"
#include "store/reads.h"
#include "store/settings.h"
#include "store/store.h"

#include "intake/gen.h"
#include "intake/gen_portrait.h"
#include "intake/intake.h"
#include "base/log.h"
#include "photo.h"
#include "base/rng.h"
#include "base/rules.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The outlets `cardline gen outlets` writes into a bureau that has none (a demo, a test): Shaoguan's, an
 * HR&SS window in each of its districts and counties and windows of cooperating banks. Plausible names, not
 * real addresses; a bureau's own come from its configuration (`cardline config apply`), which these never
 * override. */
static const struct {
    const char *code, *name, *kind, *county, *weekdays;
    int transit;
} default_outlets[] = {
    {"HR0101", "韶关市浈江区社会保险服务窗口", "hrss", "浈江区", "{1,3,5}", 1},
    {"HR0102", "韶关市武江区社会保险服务窗口", "hrss", "武江区", "{2,4}", 1},
    {"HR0103", "韶关市曲江区社会保险服务窗口", "hrss", "曲江区", "{1,4}", 1},
    {"HR0104", "乐昌市政务服务中心社保窗口", "hrss", "乐昌市", "{3}", 2},
    {"HR0105", "南雄市政务服务中心社保窗口", "hrss", "南雄市", "{2,5}", 2},
    {"HR0106", "仁化县社会保险服务窗口", "hrss", "仁化县", "{1,4}", 2},
    {"HR0107", "始兴县社会保险服务窗口", "hrss", "始兴县", "{2,4}", 2},
    {"HR0108", "翁源县社会保险服务窗口", "hrss", "翁源县", "{3}", 2},
    {"HR0109", "新丰县社会保险服务窗口", "hrss", "新丰县", "{1,5}", 2},
    {"HR0110", "乳源瑶族自治县社会保险服务窗口", "hrss", "乳源瑶族自治县", "{2}", 2},
    {"BK0201", "中国工商银行韶关分行营业部", "bank", "浈江区", "{1,2,3,4,5}", 1},
    {"BK0202", "中国建设银行韶关武江支行", "bank", "武江区", "{2,5}", 1},
    {"BK0203", "中国农业银行韶关曲江支行", "bank", "曲江区", "{1,3}", 1},
    {"BK0204", "韶关农村商业银行营业部", "bank", "浈江区", "{4}", 1},
    {"BK0205", "中国银行乐昌支行", "bank", "乐昌市", "{2,4}", 2},
    {"BK0206", "中国邮政储蓄银行南雄市支行", "bank", "南雄市", "{3}", 2},
};

/* the cooperating banks a new database lists (migration 0010), for the generator's tests */
static const char *const banks[] = {"中国工商银行", "中国建设银行",     "中国农业银行",
                                    "中国银行",     "中国邮政储蓄银行", "韶关农村商业银行"};

/* The region of a new database (migration 0013), for the generator's tests. */
#define DEFAULT_REGION "440200"

/* Districts and counties (GB/T 2260) of the prefectures the generator knows: Shaoguan's ten (浈江区, 武江区,
 * 曲江区, 始兴县, 仁化县, 翁源县, 乳源瑶族自治县, 新丰县, 乐昌市, 南雄市) and Guangzhou's. A bureau elsewhere
 * gets its own region code as the birth place of its locals. */
static const char *const known_districts[] = {
    "440203", "440204", "440205", "440222", "440224", "440229", "440232", "440233", "440281", "440282",
    "440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114", "440115", "440117",
};
/* where migrants come from: elsewhere in Guangdong (Guangzhou 越秀区, Shenzhen 罗湖区, Foshan 禅城区,
 * Zhanjiang 霞山区, Huizhou 惠城区, Meizhou 梅江区, Heyuan 源城区, Qingyuan 清城区, Chaozhou 湘桥区; one of
 * the bureau's own prefecture is skipped) and other provinces (Hunan's 郴州 and Jiangxi's 赣州 next door, and
 * further) */
static const char *const guangdong_regions[] = {"440104", "440303", "440604", "440803", "441302",
                                                "441402", "441602", "441802", "445102"};
static const char *const other_regions[] = {"431002", "431022", "360702", "430102", "510104", "360102",
                                            "450102", "110101", "420106", "350203", "522601", "530102"};

static const char *const surnames[] = {"王",   "李",   "张",   "刘",   "陈", "杨", "黄", "赵", "吴", "周",
                                       "徐",   "孙",   "马",   "朱",   "胡", "郭", "何", "林", "罗", "梁",
                                       "欧阳", "司马", "上官", "诸葛", "钟", "邓", "冯", "曾", "彭", "萧"};
/* given names by the sex they are usually given to, so that a name never contradicts the sex field (a woman
 * called 建国 is an error a clerk would query) */
static const char *const given_male[] = {"伟", "强", "磊",   "军",   "洋",   "勇",   "杰", "涛",
                                         "明", "超", "建国", "志强", "浩然", "梓轩", "华", "俊杰"};
static const char *const given_female[] = {"芳", "娜",   "敏",   "静",   "丽",   "艳", "娟", "秀英",
                                           "慧", "晓燕", "子涵", "雨桐", "欣怡", "婷", "雪", "秀兰"};
/* characters outside everyday use that still must print and encode (all within GBK), by the same rule (淼,
 * 旻, 溱 and 頔 are given to both; they stand with the women's) */
static const char *const rare_male[] = {"堃", "喆", "犇", "彧", "燊", "昇", "翀", "赟", "昊", "骉", "垚"};
static const char *const rare_female[] = {"玥", "珺", "祎", "琍", "婧", "淼", "旻", "溱", "頔"};
/* long names of Uyghur and other minorities, written with the middle dot */
static const struct {
    const char *name;
    int ethnicity;
    char sex;
} long_names[] = {
    {"阿依古丽·买买提依明·阿卜杜克热木", 5, '2'},
    {"买买提依明·阿卜杜热西提", 5, '1'},
    {"热依拉·艾买提江", 5, '2'},
    {"扎西次仁·洛桑丹增", 4, '1'},
    {"阿卜杜萨拉木·吐尔逊托合提", 5, '1'},
};
static const struct {
    const char *name, *nationality;
    char sex;
} foreigners[] = {
    {"SMITH JOHN WILLIAM", "USA", '1'}, {"KIM MINJUN", "KOR", '1'},      {"TANAKA HARUTO", "JPN", '1'},
    {"MUELLER ANNA", "DEU", '2'},       {"DUPONT CAMILLE", "FRA", '2'},  {"IVANOV DMITRY", "RUS", '1'},
    {"NGUYEN VAN AN", "VNM", '1'},      {"OKAFOR CHIAMAKA", "NGA", '2'},
};
/* ret = the index of a random entry of that sex in a table of names whose entries carry one (each table has
 * both, so this ends) */
#define PICK_SEXED(r, table, want, ret)                                                                      \
    do                                                                                                       \
        (ret) = rng_below((r), (int)(sizeof(table) / sizeof((table)[0])));                                   \
    while ((table)[(ret)].sex != (want))
/* GB 3304 ethnicity codes other than Han (01) seen in Guangdong */
static const int minority_codes[] = {8, 3, 6, 11, 7, 9, 13, 16};

struct person_gen {
    struct rng rng;
    int today_y;
    const char *region; /* the bureau's, 6 digits */
};

int producer_gen_local_regions(const char *region, const char **ret, int max)
{
    int n = 0;

    for (size_t i = 0; region && i < sizeof(known_districts) / sizeof(known_districts[0]); i++) {
        if (strncmp(known_districts[i], region, 4) == 0 && n < max)
            ret[n++] = known_districts[i];
    }
    return n;
}

/* Where a resident applicant was born and registered: mostly the bureau's own districts and counties, a share
 * from elsewhere in Guangdong and from other provinces (the migrants who work there). */
static const char *birth_region(struct rng *r, const char *region)
{
    const char *local[sizeof(known_districts) / sizeof(known_districts[0])];
    int roll = rng_below(r, 20),
        n = producer_gen_local_regions(region, local, (int)(sizeof(local) / sizeof(local[0])));

    if (roll < 14)
        return n > 0 ? local[rng_below(r, n)] : region;
    if (roll < 17) {
        const char *g = PICK(r, guangdong_regions);
        /* one of the bureau's own prefecture is a local after all */
        return strncmp(g, region, 4) == 0 ? PICK(r, other_regions) : g;
    }
    return PICK(r, other_regions);
}

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

static void chinese_name(struct rng *r, char sex, char *out, size_t size)
{
    const char *sur = PICK(r, surnames);
    int roll = rng_below(r, 10);
    bool male = sex == '1';
    const char *rare = male ? PICK(r, rare_male) : PICK(r, rare_female);
    const char *first = male ? PICK(r, given_male) : PICK(r, given_female);
    const char *second = male ? PICK(r, given_male) : PICK(r, given_female);

    if (roll < 2)
        snprintf(out, size, "%s%s", sur, rare);
    else if (roll < 3)
        snprintf(out, size, "%s%s%s", sur, rare, first);
    else if (roll < 6)
        snprintf(out, size, "%s%s", sur, first);
    else if (strlen(first) == 3 && strlen(second) == 3 && strcmp(first, second) != 0)
        snprintf(out, size, "%s%s%s", sur, first, second); /* two single characters: 王伟强 */
    else
        snprintf(out, size, "%s%s", sur, first); /* 建国, 秀英 are whole given names already */
}

/* ISO 3166 numeric codes of the foreigners above: the 2023 permanent resident card writes the country so */
static const char *iso_numeric(const char *alpha3)
{
    static const char *const map[][2] = {{"USA", "840"}, {"KOR", "410"}, {"JPN", "392"}, {"DEU", "276"},
                                         {"FRA", "250"}, {"RUS", "643"}, {"VNM", "704"}, {"NGA", "566"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i][0], alpha3) == 0)
            return map[i][1];
    }
    return "999";
}

/* A foreign permanent resident card number: the 2023 card (18 digits from 9, built like a resident ID
 * number), or the 2004/2017 card (the country's 3 capitals, 4-digit place of issue, YYMMDD, 2 digits). */
static void make_foreign_permanent(struct rng *r, const char *alpha3, const char *region, int y, int m, int d,
                                   char sex, bool card2023, char out[19])
{
    if (card2023) {
        char head[7];
        snprintf(head, sizeof(head), "944%.3s", iso_numeric(alpha3));
        make_resident_id(r, head, y, m, d, sex, out);
    } else {
        /* issued where the holder lives: the bureau's province and prefecture */
        snprintf(out, 19, "%.3s%.4s%02u%02u%02u%02u", alpha3, region, (unsigned)y % 100u, (unsigned)m % 100u,
                 (unsigned)d % 100u, (unsigned)rng_below(r, 100));
    }
}

/* A person and the document they applied with. */
static void gen_person(struct person_gen *g, struct producer_app *a)
{
    struct rng *r = &g->rng;
    int roll = rng_below(r, 100), y, m, d;

    memset(&a->rep, 0, sizeof(a->rep));
    a->sex = rng_below(r, 2) ? '1' : '2';
    a->ethnicity = rng_below(r, 10) == 0 ? PICK(r, minority_codes) : 1;
    snprintf(a->nationality, sizeof(a->nationality), "CHN");
    if (roll < 6) {
        /* a foreigner, with a passport (the bureau assigns the social security number) or a permanent
         * resident card */
        int i, doc;
        PICK_SEXED(r, foreigners, a->sex, i);
        doc = rng_below(r, 4);
        random_birth(r, g->today_y, 20, 60, &y, &m, &d);
        snprintf(a->name, sizeof(a->name), "%s", foreigners[i].name);
        snprintf(a->nationality, sizeof(a->nationality), "%s", foreigners[i].nationality);
        snprintf(a->ssn, sizeof(a->ssn), "%.3s%04u%02u%02u%07u", foreigners[i].nationality,
                 (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u, rng_next(r) % 10000000u);
        if (doc < 2) {
            snprintf(a->doc_type, sizeof(a->doc_type), "passport");
            snprintf(a->doc_number, sizeof(a->doc_number), "%c%c%07u", 'E' + rng_below(r, 4),
                     'A' + rng_below(r, 26), rng_next(r) % 10000000u);
        } else {
            snprintf(a->doc_type, sizeof(a->doc_type), "foreign_permanent");
            make_foreign_permanent(r, a->nationality, g->region, y, m, d, a->sex, doc == 3, a->doc_number);
            if (doc == 3)
                snprintf(a->ssn, sizeof(a->ssn), "%.18s", a->doc_number);
        }
        /* the platform writes where a foreigner lives: the bureau's region */
        snprintf(a->birth_place, sizeof(a->birth_place), "%.6s", g->region);
        a->ethnicity = 97;
    } else if (roll < 10) {
        /* Hong Kong, Macau and Taiwan residents: the Mainland travel permit, or the residence permit whose
         * 18-digit number (810000 Hong Kong, 820000 Macau, 830000 Taiwan) is their social security number */
        bool taiwan = roll >= 9, residence = rng_below(r, 2) == 0;
        random_birth(r, g->today_y, 18, 70, &y, &m, &d);
        chinese_name(r, a->sex, a->name, sizeof(a->name));
        snprintf(a->birth_place, sizeof(a->birth_place), "%s",
                 taiwan            ? "710000"
                 : rng_below(r, 2) ? "810000"
                                   : "820000");
        make_resident_id(r, taiwan ? "830000" : a->birth_place, y, m, d, a->sex, a->ssn);
        if (residence) {
            snprintf(a->doc_type, sizeof(a->doc_type), taiwan ? "taiwan_residence" : "hk_macau_residence");
            snprintf(a->doc_number, sizeof(a->doc_number), "%.18s", a->ssn);
        } else if (taiwan) {
            snprintf(a->doc_type, sizeof(a->doc_type), "taiwan_permit");
            snprintf(a->doc_number, sizeof(a->doc_number), "%08u", rng_next(r) % 100000000u);
        } else {
            snprintf(a->doc_type, sizeof(a->doc_type), "hk_macau_permit");
            snprintf(a->doc_number, sizeof(a->doc_number), "%c%08u", a->birth_place[1] == '1' ? 'H' : 'M',
                     rng_next(r) % 100000000u);
        }
    } else {
        /* under 16 on the day of acceptance (ages 2 to 15 now, so also on any working day of the window) the
         * household register is the document and a parent applies as the guardian */
        bool minor = roll < 24;
        const char *region = birth_region(r, g->region);
        if (minor)
            random_birth(r, g->today_y, 2, 15, &y, &m, &d);
        else
            random_birth(r, g->today_y, 18, 85, &y, &m, &d);
        snprintf(a->doc_type, sizeof(a->doc_type), minor ? "household_register" : "resident_id");
        make_resident_id(r, region, y, m, d, a->sex, a->doc_number);
        snprintf(a->ssn, sizeof(a->ssn), "%.18s", a->doc_number);
        snprintf(a->birth_place, sizeof(a->birth_place), "%s", region);
        if (rng_below(r, 25) == 0) {
            int i;
            PICK_SEXED(r, long_names, a->sex, i);
            snprintf(a->name, sizeof(a->name), "%s", long_names[i].name);
            a->ethnicity = long_names[i].ethnicity;
        } else {
            chinese_name(r, a->sex, a->name, sizeof(a->name));
        }
        /* the very old often send a son, daughter or spouse with a power of attorney */
        if (minor || (g->today_y - y >= 75 && rng_below(r, 3) == 0)) {
            struct producer_rep *rep = &a->rep;
            char rep_sex = rng_below(r, 2) ? '1' : '2';
            int ry, rm, rd;
            if (minor)
                random_birth(r, y, 22, 40, &ry, &rm, &rd);
            else
                random_birth(r, g->today_y, 20, g->today_y - y - 20, &ry, &rm, &rd);
            snprintf(rep->role, sizeof(rep->role), minor ? "guardian" : "agent");
            snprintf(rep->relationship, sizeof(rep->relationship), "%s",
                     minor ? (rep_sex == '1' ? "father" : "mother") : "child");
            snprintf(rep->doc_type, sizeof(rep->doc_type), "resident_id");
            make_resident_id(r, region, ry, rm, rd, rep_sex, rep->doc_number);
            snprintf(rep->nationality, sizeof(rep->nationality), "CHN");
            chinese_name(r, rep_sex, rep->name, sizeof(rep->name));
        }
    }
    snprintf(a->birth_date, sizeof(a->birth_date), "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u);
}

int producer_gen_outlets(PGconn *conn)
{
    int have, r;

    r = store_outlets_count(conn, &have);
    if (r < 0)
        return r;
    if (have > 0)
        return 0;
    for (size_t i = 0; i < sizeof(default_outlets) / sizeof(default_outlets[0]); i++) {
        const struct store_outlet o = {.code = default_outlets[i].code,
                                       .name = default_outlets[i].name,
                                       .kind = default_outlets[i].kind,
                                       .county = default_outlets[i].county,
                                       .weekdays = default_outlets[i].weekdays,
                                       .transit_days = default_outlets[i].transit};
        r = store_outlets_put(conn, &o, STORE_OUTLET_KEEP, NULL);
        if (r < 0)
            return r;
    }
    return (int)(sizeof(default_outlets) / sizeof(default_outlets[0]));
}

/* An earlier card of the person, as issued years ago, for replacement and exchange applications. The number
 * is drawn from the item's own generator, so a collision with an existing card draws again the same way. */
static int insert_old_card(PGconn *conn, struct rng *r, const struct producer_app *a, const char *status,
                           char out[10])
{
    char issue[11];
    int rc;

    for (int tries = 0; tries < 8; tries++) {
        snprintf(out, 10, "E%08u", rng_next(r) % 100000000u);
        snprintf(issue, sizeof(issue), "%04u-%02u-15", 2016u + (unsigned)rng_below(r, 6),
                 1u + (unsigned)rng_below(r, 12));
        rc = store_applications_prior_card(conn, out, a->ssn, status, issue);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return rc;
    }
    return PRODUCER_ERROR_DB;
}

/* The account bank: the outlet's own when it is a cooperating bank's window, else one of the cooperating
 * banks (the configured list in ctx, or the defaults a new database has). */
static const char *pick_bank(const struct producer_gen_ctx *ctx, struct rng *r, const char *outlet_bank)
{
    int n = ctx->banks ? ctx->nbanks : (int)(sizeof(banks) / sizeof(banks[0]));
    int pick = rng_below(r, n > 0 ? n : 1);

    for (int i = 0; outlet_bank && i < n; i++) {
        if (strcmp(ctx->banks ? ctx->banks[i] : banks[i], outlet_bank) == 0)
            return outlet_bank;
    }
    if (n <= 0)
        return "";
    return ctx->banks ? ctx->banks[pick] : banks[pick];
}

/* The cooperating bank whose window an outlet is: the longest bank name the outlet's name begins with
 * (中国工商银行韶关分行营业部 is 中国工商银行's); NULL for an HR&SS window or a bank not in the list. */
static const char *outlet_bank_of(const char *kind, const char *name, const struct producer_gen_ctx *ctx)
{
    int n = ctx->banks ? ctx->nbanks : (int)(sizeof(banks) / sizeof(banks[0]));
    const char *best = NULL;

    if (strcmp(kind, "bank") != 0)
        return NULL;
    for (int i = 0; i < n; i++) {
        const char *b = ctx->banks ? ctx->banks[i] : banks[i];
        if (strncmp(name, b, strlen(b)) == 0 && (!best || strlen(b) > strlen(best)))
            best = b;
    }
    return best;
}

/* The item's own random state: a function of (seed, index) alone, so that one item never depends on another,
 * on the day, or on how many draws an earlier item needed. */
static void item_rng(uint32_t seed, int index, struct rng *ret)
{
    uint32_t s = seed ^ 0x5bd1e995u;

    ret->s = producer_splitmix32(&s) ^ ((uint32_t)index * 0x9e3779b9u);
    (void)producer_splitmix32(&ret->s);
}

int producer_gen_item_make(const struct producer_gen_ctx *ctx, int index, int defect,
                           struct producer_gen_item *ret)
{
    struct person_gen g;
    struct producer_gen_item it;
    struct rng *r = &g.rng;
    const char *day;
    int outlet, kind_roll, rc = PHOTO_ERROR_INVALID;
    int nout =
        ctx && ctx->outlets ? ctx->noutlets : (int)(sizeof(default_outlets) / sizeof(default_outlets[0]));
    const char *outlet_code, *outlet_bank;

    if (!ctx || !ret || index < 0 || ctx->ndays <= 0 || defect >= PRODUCER_GEN_DEFECT_COUNT ||
        (ctx->outlets && ctx->noutlets <= 0))
        return PRODUCER_ERROR_INVALID;
    memset(&it, 0, sizeof(it));
    g.today_y = ctx->today / 10000;
    g.region = ctx->region && strlen(ctx->region) == 6 ? ctx->region : DEFAULT_REGION;
    item_rng(ctx->seed, index, r);
    outlet = rng_below(r, nout);
    kind_roll = rng_below(r, 100);
    gen_person(&g, &it.app);
    /* these defects are about the resident ID number, so the person must have one */
    while ((defect == PRODUCER_GEN_DEFECT_CHECK_CHAR || defect == PRODUCER_GEN_DEFECT_BIRTH_MISMATCH) &&
           strcmp(it.app.doc_type, "resident_id") != 0 && strcmp(it.app.doc_type, "household_register") != 0)
        gen_person(&g, &it.app);
    snprintf(it.app.upstream_id, sizeof(it.app.upstream_id), "SQ%08X-%05d", ctx->run_id, index + 1);
    snprintf(it.app.kind, sizeof(it.app.kind), "new");
    if (ctx->outlets) {
        outlet_code = ctx->outlets[outlet].code;
        outlet_bank = ctx->outlets[outlet].bank[0] ? ctx->outlets[outlet].bank : NULL;
    } else {
        outlet_code = default_outlets[outlet].code;
        outlet_bank = outlet_bank_of(default_outlets[outlet].kind, default_outlets[outlet].name, ctx);
    }
    snprintf(it.app.outlet_code, sizeof(it.app.outlet_code), "%s", outlet_code);
    /* at a bank's window the applicant opens the account with that bank */
    snprintf(it.app.bank_name, sizeof(it.app.bank_name), "%s", pick_bank(ctx, r, outlet_bank));
    /* accepted on one of the bureau's working days in the window, during office hours, bureau time (the
     * writer adds the bureau's time zone, so the item does not depend on it) */
    day = ctx->days[rng_below(r, ctx->ndays)];
    snprintf(it.accepted, sizeof(it.accepted), "%.10s %02d:%02d:00", day, 9 + rng_below(r, 8),
             rng_below(r, 60));
    it.priority = kind_roll < 8 ? 3 : 5;

    if (defect < 0 && kind_roll < 3) {
        snprintf(it.app.kind, sizeof(it.app.kind), "replacement");
        snprintf(it.old_card_status, sizeof(it.old_card_status), "lost");
        it.old_card_replaced = true;
    } else if (defect < 0 && kind_roll < 6) {
        snprintf(it.app.kind, sizeof(it.app.kind), "exchange");
        snprintf(it.old_card_status, sizeof(it.old_card_status), "issued");
        it.old_card_replaced = true;
    }
    switch (defect) {
    case PRODUCER_GEN_DEFECT_CHECK_CHAR:
        it.app.doc_number[17] = it.app.doc_number[17] == '0' ? '1' : '0';
        memcpy(it.app.ssn, it.app.doc_number, 19);
        break;
    case PRODUCER_GEN_DEFECT_UNKNOWN_OUTLET:
        snprintf(it.app.outlet_code, sizeof(it.app.outlet_code), "HR0999");
        break;
    case PRODUCER_GEN_DEFECT_BIRTH_MISMATCH:
        it.app.birth_date[9] = it.app.birth_date[9] == '1' ? '2' : '1';
        break;
    case PRODUCER_GEN_DEFECT_REPLACEMENT_NOT_LOST:
        snprintf(it.app.kind, sizeof(it.app.kind), "replacement");
        snprintf(it.old_card_status, sizeof(it.old_card_status), "issued");
        it.old_card_replaced = true;
        break;
    case PRODUCER_GEN_DEFECT_ALREADY_HAS_CARD:
        snprintf(it.old_card_status, sizeof(it.old_card_status), "issued");
        break;
    default:
        break;
    }
    it.old_card_seed = rng_next(r);

    if (defect == PRODUCER_GEN_DEFECT_BAD_PHOTO) {
        /* each kind of photo fault in turn */
        rc = producer_portrait_render(
            ctx->portraits, rng_next(r),
            (enum producer_portrait_flaw)(1 + index % (PRODUCER_PORTRAIT_FLAW_COUNT - 1)), &it.jpeg,
            &it.jpeg_len);
    } else {
        /* A portrait the bureau's own checker fails would hold a good applicant: draw again until it passes.
         */
        for (int tries = 0; tries < PRODUCER_GEN_PORTRAIT_TRIES; tries++) {
            struct photo_report *rep = NULL;
            bool pass;
            rc = producer_portrait_render(ctx->portraits, rng_next(r), PRODUCER_PORTRAIT_OK, &it.jpeg,
                                          &it.jpeg_len);
            if (rc < 0 || !ctx->checker)
                break;
            rc = photo_check(ctx->checker, it.jpeg, it.jpeg_len, ctx->profile, &rep);
            if (rc < 0)
                break;
            pass = rep->verdict != PHOTO_STATUS_FAIL;
            photo_report_free(rep);
            if (pass)
                break;
            free(it.jpeg);
            it.jpeg = NULL;
            it.jpeg_len = 0;
            rc = PHOTO_ERROR_INVALID;
        }
    }
    if (rc < 0) {
        free(it.jpeg);
        return rc == PHOTO_ERROR_NOMEM ? PRODUCER_ERROR_NOMEM : PRODUCER_ERROR_IO;
    }
    *ret = it;
    return 0;
}

void producer_gen_item_clear(struct producer_gen_item *it)
{
    if (!it)
        return;
    free(it->jpeg);
    it->jpeg = NULL;
    it->jpeg_len = 0;
}

/* time_zone: the bureau's (setting bureau_timezone), which the item's accepted time is in */
static int gen_store(PGconn *conn, struct producer_gen_item *it, const char *time_zone)
{
    struct rng r = {.s = it->old_card_seed};
    char err[256], old[10], accepted[128];
    int rc;

    if (it->old_card_status[0]) {
        rc = insert_old_card(conn, &r, &it->app, it->old_card_status, old);
        if (rc < 0) {
            log_error("gen", "application %s: its earlier card could not be stored", it->app.upstream_id);
            return rc;
        }
        if (it->old_card_replaced)
            memcpy(it->app.replaced_card, old, sizeof(old));
    }
    rc = producer_insert_photo(conn, it->jpeg, it->jpeg_len, "demo studio", &it->app.photo_id);
    if (rc < 0) {
        log_error("gen", "application %s: its photo could not be stored", it->app.upstream_id);
        return rc;
    }
    /* PostgreSQL reads "YYYY-MM-DD HH:MM:SS Zone/Name" as that zone's wall-clock time */
    snprintf(accepted, sizeof(accepted), "%s %s", it->accepted, time_zone);
    if (producer_insert_application(conn, &it->app, accepted, it->priority, err, sizeof(err)) < 0) {
        log_error("gen", "application %s: %s", it->app.upstream_id, err);
        return PRODUCER_ERROR_DB;
    }
    return 0;
}

/* The days applications may have been accepted on: the bureau's working days in [from, to] (Monday to Friday
 * where a year's official calendar is not loaded), and today's date as YYYYMMDD. */
static int gen_days(PGconn *conn, const struct producer_gen_config *cfg, struct producer_gen_ctx *ctx,
                    char (**ret_days)[11])
{
    struct store_accept_days d;
    int r = store_calendar_accept_days(conn, cfg->accepted_from, cfg->accepted_to, &d);

    if (r == PRODUCER_ERROR_INPUT) {
        log_error("gen", "accepted dates must be YYYY-MM-DD");
        return PRODUCER_ERROR_INVALID;
    }
    if (r < 0) {
        log_error("gen", "the days to accept applications on could not be read: %s", producer_strerror(r));
        return r;
    }
    if (d.ndays == 0) {
        log_error("gen", "no working day to accept applications on from %s to %s", d.from, d.to);
        free(d.days);
        return PRODUCER_ERROR_INVALID;
    }
    ctx->today = d.today;
    ctx->ndays = d.ndays;
    ctx->days = (const char(*)[11])d.days;
    *ret_days = d.days;
    return 0;
}

/* The bureau's outlets as configured, each bank window with its bank (ctx->banks read already); *ret_outlets
 * malloc'd. Returns how many or a negative PRODUCER_ERROR. */
static int gen_outlets_read(PGconn *conn, const struct producer_gen_ctx *ctx,
                            struct producer_gen_outlet **ret)
{
    json_object *rows = NULL;
    struct producer_gen_outlet *out;
    int n, r = store_reads_outlets(conn, &rows);

    if (r < 0)
        return r;
    n = (int)json_object_array_length(rows);
    out = calloc(n > 0 ? (size_t)n : 1, sizeof(*out));
    if (!out) {
        json_object_put(rows);
        return PRODUCER_ERROR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        json_object *row = json_object_array_get_idx(rows, (size_t)i), *v;
        const char *code = json_object_object_get_ex(row, "code", &v) ? json_object_get_string(v) : "";
        const char *kind = json_object_object_get_ex(row, "kind", &v) ? json_object_get_string(v) : "";
        const char *name = json_object_object_get_ex(row, "name", &v) ? json_object_get_string(v) : "";
        const char *bank = outlet_bank_of(kind ? kind : "", name ? name : "", ctx);

        snprintf(out[i].code, sizeof(out[i].code), "%s", code ? code : "");
        snprintf(out[i].bank, sizeof(out[i].bank), "%s", bank ? bank : "");
    }
    json_object_put(rows);
    *ret = out;
    return n;
}

int producer_gen_applications(PGconn *conn, const struct producer_gen_config *cfg)
{
    const char *profile_name = cfg->photo_profile && *cfg->photo_profile ? cfg->photo_profile : "ssc";
    struct producer_gen_ctx ctx = {0};
    struct producer_portrait_source *portraits = NULL;
    struct photo_checker *checker = NULL;
    struct photo_profile profile;
    char(*days)[11] = NULL, why[256], time_zone[64];
    char(*bank_names)[STORE_BANK_NAME_MAX] = NULL;
    struct producer_gen_outlet *outlets = NULL;
    struct store_line_settings settings;
    struct rng seed_rng = {.s = cfg->seed};
    int r = 0;

    if (cfg->count < 0 || cfg->count > 1000000 || cfg->defects < 0 || cfg->defects > cfg->count) {
        log_error("gen", "count must be 0..1000000 and defects at most count");
        return PRODUCER_ERROR_INVALID;
    }
    if (photo_profile_builtin(profile_name))
        profile = *photo_profile_builtin(profile_name);
    else if (photo_profile_load(profile_name, &profile, why, sizeof(why)) < 0) {
        log_error("gen", "photo profile: %s", why);
        return PRODUCER_ERROR_INPUT;
    }
    ctx.seed = cfg->seed;
    ctx.run_id = rng_next(&seed_rng);
    ctx.profile = &profile;
    if (store_settings_time_zone(conn, time_zone, sizeof(time_zone)) < 0) {
        log_error("gen", "the bureau's time zone (setting bureau_timezone) could not be read");
        return PRODUCER_ERROR_DB;
    }
    if (store_production_settings(conn, &settings) < 0) {
        log_error("gen", "the bureau's region (setting region_code) could not be read");
        return PRODUCER_ERROR_DB;
    }
    ctx.region = settings.region;
    r = gen_days(conn, cfg, &ctx, &days);
    if (r < 0)
        return r;
    bank_names = calloc(STORE_BANKS_MAX, sizeof(*bank_names));
    r = bank_names ? store_banks_list(conn, bank_names, STORE_BANKS_MAX, NULL, 0) : PRODUCER_ERROR_NOMEM;
    if (r < 0) {
        log_error("gen", "the cooperating banks could not be read: %s", producer_strerror(r));
        free(bank_names);
        free(days);
        return r;
    }
    ctx.banks = (const char(*)[STORE_BANK_NAME_MAX])bank_names;
    ctx.nbanks = r < STORE_BANKS_MAX ? r : STORE_BANKS_MAX;
    r = producer_gen_outlets(conn);
    if (r < 0)
        log_error("gen", "the default outlets could not be written: %s", producer_strerror(r));
    /* applications name the bureau's outlets as configured, whichever they are */
    if (r >= 0) {
        r = gen_outlets_read(conn, &ctx, &outlets);
        if (r < 0)
            log_error("gen", "the outlets could not be read: %s", producer_strerror(r));
        else if (r == 0)
            log_error("gen", "the bureau has no outlet to accept applications at");
        if (r == 0)
            r = PRODUCER_ERROR_INVALID;
        ctx.outlets = outlets;
        ctx.noutlets = r > 0 ? r : 0;
    }
    if (r >= 0) {
        r = producer_portrait_source_new(NULL, &portraits);
        ctx.portraits = portraits;
        if (r < 0)
            log_error("gen", "portraits: %s", producer_portrait_strerror(r));
    }
    if (r >= 0) {
        r = photo_checker_new(NULL, &checker);
        ctx.checker = checker;
        if (r < 0)
            log_error("gen", "photo checker: %s", photo_strerror(r));
    }
    if (r >= 0)
        r = store_begin(conn);
    for (int i = 0; r >= 0 && i < cfg->count; i++) {
        struct producer_gen_item it;
        /* spread the defects evenly through the batch */
        int defect = -1;
        if (cfg->defects > 0 && (i * cfg->defects) / cfg->count != ((i + 1) * cfg->defects) / cfg->count)
            defect = ((i + 1) * cfg->defects / cfg->count - 1) % PRODUCER_GEN_DEFECT_COUNT;
        r = producer_gen_item_make(&ctx, i, defect, &it);
        if (r < 0) {
            log_error("gen", "application %d: no portrait passes the photo profile '%s'", i + 1,
                      profile_name);
            break;
        }
        r = gen_store(conn, &it, time_zone);
        producer_gen_item_clear(&it);
    }
    if (r >= 0 &&
        (store_event(conn, "gen", "generated", NULL, NULL, NULL, NULL) < 0 || store_commit(conn) < 0))
        r = PRODUCER_ERROR_DB;
    if (r < 0)
        store_rollback(conn);
    photo_checker_free(checker);
    producer_portrait_source_free(portraits);
    free(days);
    free(bank_names);
    free(outlets);
    if (r < 0)
        return r;
    store_work_notify(conn);
    return cfg->count;
}
