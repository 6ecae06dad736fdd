/* haar.c — Viola-Jones detection with OpenCV's Haar cascades (XML via libxml2), for faces and eyes in ID
 * photos */
#include "internal.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* The cascades Debian ships are 0.3-1 MB; anything far larger is not one of them. */
#define CASCADE_MAX_BYTES          (8u * 1024u * 1024u)
#define CASCADE_MAX_WINDOW         64u
#define CASCADE_MAX_STAGES         64u
#define CASCADE_MAX_TREES          8192u
#define CASCADE_MAX_NODES_PER_TREE 16u
#define CASCADE_MAX_FEATURES       16384u
#define CASCADE_MAX_RECTS          3u
/* Raw hits before merging; a 358 x 441 photo yields a few hundred, so the cap only bounds hostile input. */
#define DETECT_MAX_CANDIDATES 4096u
#define DETECT_MAX_SCALES     64u
#define GROUP_EPS             0.2

struct haar_rect {
    int x, y, w, h;
    float weight;
};

struct haar_feature {
    struct haar_rect r[CASCADE_MAX_RECTS];
    unsigned n;
    bool tilted; /* rectangles rotated by 45 degrees, summed on the tilted integral image */
};

struct haar_node {
    int left, right; /* > 0: next node of the tree; <= 0: -(leaf index) */
    unsigned feature;
    float threshold;
};

struct haar_tree {
    unsigned first_node, node_count;
    unsigned first_leaf, leaf_count;
};

struct haar_stage {
    unsigned first_tree, tree_count;
    float threshold;
};

struct haar_cascade {
    unsigned width, height;
    unsigned nstages, ntrees, nnodes, nleaves, nfeatures;
    bool any_tilted;
    bool stumps; /* every tree is a single node */
    struct haar_stage *stages;
    struct haar_tree *trees;
    struct haar_node *nodes;
    float *leaves;
    struct haar_feature *features;
};

void haar_cascade_free(struct haar_cascade *c)
{
    if (!c)
        return;
    free(c->stages);
    free(c->trees);
    free(c->nodes);
    free(c->leaves);
    free(c->features);
    free(c);
}

unsigned haar_cascade_window(const struct haar_cascade *c)
{
    return c ? c->width : 0;
}

/* ---- XML ------------------------------------------------------------------------------------------- */

static xmlNode *child(xmlNode *parent, const char *name)
{
    for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

static unsigned count_children(xmlNode *parent)
{
    unsigned n = 0;
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            n++;
    return n;
}

/* Up to cap numbers from an element's text; returns how many, or -1 when the text holds something else. */
static int numbers(xmlNode *n, double *out, int cap, locale_t loc)
{
    xmlChar *text;
    int count = 0;

    if (!n)
        return -1;
    text = xmlNodeGetContent(n);
    if (!text)
        return -1;
    const char *p = (const char *)text;
    for (;;) {
        char *end;
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
            p++;
        if (!*p)
            break;
        if (count == cap) {
            count = -1;
            break;
        }
        errno = 0;
        double v = strtod_l(p, &end, loc); /* "C" numbers whatever the process locale */
        if (end == p || errno || !isfinite(v)) {
            count = -1;
            break;
        }
        out[count++] = v;
        p = end;
    }
    xmlFree(text);
    return count;
}

static int number(xmlNode *n, double *ret, locale_t loc)
{
    double v;
    if (numbers(n, &v, 1, loc) != 1)
        return -1;
    *ret = v;
    return 0;
}

static bool text_is(xmlNode *n, const char *want)
{
    xmlChar *text = n ? xmlNodeGetContent(n) : NULL;
    bool same = text && strcmp((const char *)text, want) == 0;
    xmlFree(text);
    return same;
}

static bool is_int(double v, double lo, double hi)
{
    return v >= lo && v <= hi && v == floor(v);
}

static int parse_features(struct haar_cascade *c, xmlNode *features, locale_t loc)
{
    c->nfeatures = count_children(features);
    if (c->nfeatures == 0 || c->nfeatures > CASCADE_MAX_FEATURES)
        return -1;
    c->features = calloc(c->nfeatures, sizeof(*c->features));
    if (!c->features)
        return PHOTO_ERROR_NOMEM;
    unsigned i = 0;
    for (xmlNode *f = features->children; f; f = f->next) {
        if (f->type != XML_ELEMENT_NODE)
            continue;
        xmlNode *tilted = child(f, "tilted");
        double t = 0;
        if (tilted && (number(tilted, &t, loc) < 0 || (t != 0 && t != 1)))
            return -1;
        xmlNode *rects = child(f, "rects");
        struct haar_feature *hf = &c->features[i++];
        hf->tilted = t == 1;
        c->any_tilted |= hf->tilted;
        for (xmlNode *r = rects ? rects->children : NULL; r; r = r->next) {
            double v[5];
            if (r->type != XML_ELEMENT_NODE)
                continue;
            if (hf->n == CASCADE_MAX_RECTS || numbers(r, v, 5, loc) != 5)
                return -1;
            if (!is_int(v[0], 0, c->width) || !is_int(v[1], 0, c->height) || !is_int(v[2], 1, c->width) ||
                !is_int(v[3], 1, c->height) || fabs(v[4]) > 1e4)
                return -1;
            /* Every corner a rectangle reads must lie inside the window. A tilted one spans from (x - h, y)
             * to (x + w, y + w + h). */
            if (hf->tilted ? v[0] - v[3] < 0 || v[0] + v[2] > c->width || v[1] + v[2] + v[3] > c->height
                           : v[0] + v[2] > c->width || v[1] + v[3] > c->height)
                return -1;
            hf->r[hf->n++] = (struct haar_rect){(int)v[0], (int)v[1], (int)v[2], (int)v[3], (float)v[4]};
        }
        if (hf->n < 2)
            return -1;
    }
    return 0;
}

/* Two passes over the stages: count, then fill, so every array is allocated once at its exact size. */
static int parse_stages(struct haar_cascade *c, xmlNode *stages, locale_t loc)
{
    double nodes[4 * CASCADE_MAX_NODES_PER_TREE], leaves[CASCADE_MAX_NODES_PER_TREE + 1];

    c->nstages = count_children(stages);
    if (c->nstages == 0 || c->nstages > CASCADE_MAX_STAGES)
        return -1;
    for (xmlNode *s = stages->children; s; s = s->next) {
        if (s->type != XML_ELEMENT_NODE)
            continue;
        xmlNode *weak = child(s, "weakClassifiers");
        for (xmlNode *w = weak ? weak->children : NULL; w; w = w->next) {
            if (w->type != XML_ELEMENT_NODE)
                continue;
            int nn = numbers(child(w, "internalNodes"), nodes, 4 * CASCADE_MAX_NODES_PER_TREE, loc);
            int nl = numbers(child(w, "leafValues"), leaves, CASCADE_MAX_NODES_PER_TREE + 1, loc);
            if (nn <= 0 || nn % 4 != 0 || nl != nn / 4 + 1 || c->ntrees == CASCADE_MAX_TREES)
                return -1;
            c->ntrees++;
            c->nnodes += (unsigned)nn / 4;
            c->nleaves += (unsigned)nl;
        }
    }
    c->stumps = c->nnodes == c->ntrees;
    c->stages = calloc(c->nstages, sizeof(*c->stages));
    c->trees = calloc(c->ntrees, sizeof(*c->trees));
    c->nodes = calloc(c->nnodes, sizeof(*c->nodes));
    c->leaves = calloc(c->nleaves, sizeof(*c->leaves));
    if (!c->stages || !c->trees || !c->nodes || !c->leaves)
        return PHOTO_ERROR_NOMEM;

    unsigned si = 0, ti = 0, ni = 0, li = 0;
    for (xmlNode *s = stages->children; s; s = s->next) {
        if (s->type != XML_ELEMENT_NODE)
            continue;
        struct haar_stage *st = &c->stages[si++];
        double thr;
        if (number(child(s, "stageThreshold"), &thr, loc) < 0)
            return -1;
        st->threshold = (float)thr;
        st->first_tree = ti;
        xmlNode *weak = child(s, "weakClassifiers");
        for (xmlNode *w = weak ? weak->children : NULL; w; w = w->next) {
            if (w->type != XML_ELEMENT_NODE)
                continue;
            int nn = numbers(child(w, "internalNodes"), nodes, 4 * CASCADE_MAX_NODES_PER_TREE, loc) / 4;
            int nl = numbers(child(w, "leafValues"), leaves, CASCADE_MAX_NODES_PER_TREE + 1, loc);
            struct haar_tree *t = &c->trees[ti++];
            t->first_node = ni;
            t->node_count = (unsigned)nn;
            t->first_leaf = li;
            t->leaf_count = (unsigned)nl;
            for (int k = 0; k < nn; k++) {
                double *v = nodes + 4 * k;
                /* Children must point forward inside this tree or at one of its leaves, so evaluation ends.
                 */
                if (!is_int(v[0], -(nl - 1), nn - 1) || !is_int(v[1], -(nl - 1), nn - 1) ||
                    (v[0] > 0 && v[0] <= k) || (v[1] > 0 && v[1] <= k) ||
                    !is_int(v[2], 0, c->nfeatures - 1.0) || !isfinite(v[3]))
                    return -1;
                c->nodes[ni++] = (struct haar_node){(int)v[0], (int)v[1], (unsigned)v[2], (float)v[3]};
            }
            for (int k = 0; k < nl; k++)
                c->leaves[li++] = (float)leaves[k];
        }
        st->tree_count = ti - st->first_tree;
        if (st->tree_count == 0)
            return -1;
    }
    return 0;
}

static int parse_cascade(struct haar_cascade *c, xmlDoc *doc, locale_t loc)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *cas = NULL;
    double w, h;

    if (!root || strcmp((const char *)root->name, "opencv_storage") != 0)
        return -1;
    for (xmlNode *n = root->children; n && !cas; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            cas = n;
    if (!cas || !text_is(child(cas, "stageType"), "BOOST") || !text_is(child(cas, "featureType"), "HAAR"))
        return -1;
    if (number(child(cas, "width"), &w, loc) < 0 || number(child(cas, "height"), &h, loc) < 0 ||
        !is_int(w, 4, CASCADE_MAX_WINDOW) || !is_int(h, 4, CASCADE_MAX_WINDOW))
        return -1;
    c->width = (unsigned)w;
    c->height = (unsigned)h;
    xmlNode *features = child(cas, "features"), *stages = child(cas, "stages");
    if (!features || !stages)
        return -1;
    /* Features first: node indices are checked against their count. */
    int r = parse_features(c, features, loc);
    if (r < 0)
        return r;
    return parse_stages(c, stages, loc);
}

int haar_cascade_parse(const char *xml, size_t len, struct haar_cascade **ret)
{
    struct haar_cascade *c;
    xmlDoc *doc;
    int r;

    if (!xml || !ret)
        return PHOTO_ERROR_INVALID;
    if (len > CASCADE_MAX_BYTES)
        return PHOTO_ERROR_MODEL;
    xmlInitParser();
    /* No network, no entity expansion beyond libxml2's defaults, no DTD loading. */
    doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return PHOTO_ERROR_MODEL;
    c = calloc(1, sizeof(*c));
    if (!c) {
        xmlFreeDoc(doc);
        return PHOTO_ERROR_NOMEM;
    }
    locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    r = loc ? parse_cascade(c, doc, loc) : PHOTO_ERROR_NOMEM;
    if (loc)
        freelocale(loc);
    xmlFreeDoc(doc);
    if (r < 0) {
        haar_cascade_free(c);
        return r == PHOTO_ERROR_NOMEM ? r : PHOTO_ERROR_MODEL;
    }
    *ret = c;
    return 0;
}

int haar_cascade_load(const char *path, struct haar_cascade **ret)
{
    struct stat st;
    char *buf;
    FILE *f;
    int r;

    if (!path || !ret)
        return PHOTO_ERROR_INVALID;
    f = fopen(path, "rbe");
    if (!f)
        return PHOTO_ERROR_MODEL;
    if (fstat(fileno(f), &st) < 0 || st.st_size <= 0 || (unsigned long long)st.st_size > CASCADE_MAX_BYTES) {
        fclose(f);
        return PHOTO_ERROR_MODEL;
    }
    buf = malloc((size_t)st.st_size);
    if (!buf) {
        fclose(f);
        return PHOTO_ERROR_NOMEM;
    }
    size_t n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    r = n == (size_t)st.st_size ? haar_cascade_parse(buf, n, ret) : PHOTO_ERROR_MODEL;
    free(buf);
    return r;
}

/* ---- detection ------------------------------------------------------------------------------------- */

/* One scale of the pyramid: the region averaged down by the scale, with its integral, squared integral and
 * (for cascades with rotated features) tilted integral. Strides are those of the largest level, fixed for the
 * whole search, so each feature's corner offsets are computed once per search instead of once per window. */
struct level {
    int w, h;
    int stride;       /* of sum and sq: largest level's width + 1 */
    int tstride, pad; /* of tilt: largest width + 2 * pad + 1; column X is stored at X + pad */
    uint8_t *px;      /* stride - 1 per row */
    int32_t *sum;
    double *sq;
    int32_t *tilt;
};

/* A feature's rectangles as four corner offsets each, relative to the window's top-left integral entry. */
struct feature_ofs {
    int32_t o[CASCADE_MAX_RECTS][4];
    float weight[CASCADE_MAX_RECTS];
    unsigned n;
    bool tilted;
};

/* A stump cascade (one node per tree: the face and eye cascades) compiled for one search: each weak
 * classifier with its corner offsets, weights, threshold and both leaves, laid out in evaluation order so the
 * hot loop streams through memory instead of chasing node -> feature -> leaf indices. */
struct stump {
    int32_t o[CASCADE_MAX_RECTS][4];
    float weight[CASCADE_MAX_RECTS];
    float threshold;
    float leaf[2]; /* below, at or above the threshold */
    uint8_t n;
    uint8_t tilted;
};

/* OpenCV's tilted integral: T(X, Y) sums the pixels (x, y) with y < Y and |x - X + 1| <= Y - y - 1, a
 * triangle whose apex is just above-left of (X, Y). The triangles reach sideways past the image, so columns
 * run from -pad to w + pad. Recurrence: T(X, Y) = T(X - 1, Y - 1) + T(X + 1, Y - 1) - T(X, Y - 2) + I(X - 1,
 * Y - 1)
 * + I(X - 1, Y - 2). */
static void build_tilted(struct level *l)
{
    int tw = l->w + 2 * l->pad + 1;
    size_t ts = (size_t)l->tstride, ps = (size_t)l->stride - 1u;

    for (int y = 0; y <= l->h; y++)
        memset(l->tilt + (size_t)y * ts, 0, (size_t)tw * sizeof(*l->tilt));
    for (int y = 1; y <= l->h; y++)
        for (int col = 0; col < tw; col++) {
            int x = col - l->pad;
            int32_t v = 0;
            if (col > 0)
                v += l->tilt[(size_t)(y - 1) * ts + (size_t)(col - 1)];
            if (col + 1 < tw)
                v += l->tilt[(size_t)(y - 1) * ts + (size_t)(col + 1)];
            if (y >= 2)
                v -= l->tilt[(size_t)(y - 2) * ts + (size_t)col];
            if (x - 1 >= 0 && x - 1 < l->w) {
                v += l->px[(size_t)(y - 1) * ps + (size_t)(x - 1)];
                if (y >= 2)
                    v += l->px[(size_t)(y - 2) * ps + (size_t)(x - 1)];
            }
            l->tilt[(size_t)y * ts + (size_t)col] = v;
        }
}

static uint32_t box_sum(const struct haar_image *img, int x0, int y0, int x1, int y1)
{
    size_t s = img->width + 1u;
    return img->sum[(size_t)y1 * s + (size_t)x1] - img->sum[(size_t)y0 * s + (size_t)x1] -
           img->sum[(size_t)y1 * s + (size_t)x0] + img->sum[(size_t)y0 * s + (size_t)x0];
}

/* Area-averaged downscale straight from the photo's integral image: exact and four lookups per pixel. */
static void build_level(struct level *l, const struct haar_image *img, const struct haar_search *s,
                        double scale)
{
    size_t stride = (size_t)l->stride, ps = stride - 1u;

    for (int y = 0; y < l->h; y++) {
        int y0 = s->y + (int)(y * scale), y1 = s->y + (int)((y + 1) * scale);
        if (y1 <= y0)
            y1 = y0 + 1;
        for (int x = 0; x < l->w; x++) {
            int x0 = s->x + (int)(x * scale), x1 = s->x + (int)((x + 1) * scale);
            if (x1 <= x0)
                x1 = x0 + 1;
            uint32_t area = (uint32_t)((x1 - x0) * (y1 - y0));
            l->px[(size_t)y * ps + (size_t)x] = (uint8_t)((box_sum(img, x0, y0, x1, y1) + area / 2u) / area);
        }
    }
    memset(l->sum, 0, ((size_t)l->w + 1u) * sizeof(*l->sum));
    memset(l->sq, 0, ((size_t)l->w + 1u) * sizeof(*l->sq));
    for (int y = 0; y < l->h; y++) {
        int32_t row = 0;
        double rowsq = 0;
        l->sum[(size_t)(y + 1) * stride] = 0;
        l->sq[(size_t)(y + 1) * stride] = 0;
        for (int x = 0; x < l->w; x++) {
            int v = l->px[(size_t)y * ps + (size_t)x];
            row += v;
            rowsq += (double)(v * v);
            l->sum[(size_t)(y + 1) * stride + (size_t)x + 1] =
                l->sum[(size_t)y * stride + (size_t)x + 1] + row;
            l->sq[(size_t)(y + 1) * stride + (size_t)x + 1] =
                l->sq[(size_t)y * stride + (size_t)x + 1] + rowsq;
        }
    }
}

static void feature_offsets(const struct haar_cascade *c, const struct level *l, struct feature_ofs *out)
{
    for (unsigned i = 0; i < c->nfeatures; i++) {
        const struct haar_feature *f = &c->features[i];
        struct feature_ofs *o = &out[i];
        o->n = f->n;
        o->tilted = f->tilted;
        for (unsigned k = 0; k < f->n; k++) {
            const struct haar_rect *r = &f->r[k];
            o->weight[k] = r->weight;
            if (f->tilted) {
                int ts = l->tstride;
                /* Corners (x, y), (x - h, y + h), (x + w, y + w), (x + w - h, y + w + h) of the tilted
                 * integral. */
                o->o[k][0] = r->y * ts + r->x;
                o->o[k][1] = (r->y + r->h) * ts + r->x - r->h;
                o->o[k][2] = (r->y + r->w) * ts + r->x + r->w;
                o->o[k][3] = (r->y + r->w + r->h) * ts + r->x + r->w - r->h;
            } else {
                int st = l->stride;
                o->o[k][0] = r->y * st + r->x;
                o->o[k][1] = r->y * st + r->x + r->w;
                o->o[k][2] = (r->y + r->h) * st + r->x;
                o->o[k][3] = (r->y + r->h) * st + r->x + r->w;
            }
        }
    }
}

static void compile_stumps(const struct haar_cascade *c, const struct feature_ofs *fo, struct stump *out)
{
    for (unsigned ti = 0; ti < c->ntrees; ti++) {
        const struct haar_tree *t = &c->trees[ti];
        const struct haar_node *n = &c->nodes[t->first_node];
        const struct feature_ofs *f = &fo[n->feature];
        struct stump *sp = &out[ti];
        memcpy(sp->o, f->o, sizeof(sp->o));
        memcpy(sp->weight, f->weight, sizeof(sp->weight));
        sp->n = (uint8_t)f->n;
        sp->tilted = f->tilted;
        sp->threshold = n->threshold;
        sp->leaf[0] = c->leaves[t->first_leaf + (unsigned)(n->left <= 0 ? -n->left : 0)];
        sp->leaf[1] = c->leaves[t->first_leaf + (unsigned)(n->right <= 0 ? -n->right : 0)];
    }
}

/* The window's normalisation factor 1 / (area * standard deviation) over the window less a one-pixel margin,
 * as in OpenCV; 0 when the window is flatter than a standard deviation of 10 grey levels, which OpenCV skips:
 * no face or eye is that flat. */
static float window_norm(const struct haar_cascade *c, const struct level *l, int x, int y)
{
    const int32_t *p = l->sum + (size_t)y * (size_t)l->stride + (size_t)x;
    const double *q = l->sq + (size_t)y * (size_t)l->stride + (size_t)x;
    int nw = (int)c->width - 2, nh = (int)c->height - 2, st = l->stride;
    double area = (double)nw * nh;
    int a = st + 1, b = st + 1 + nw, d = (nh + 1) * st + 1, e = (nh + 1) * st + 1 + nw;
    double s = (double)(p[a] - p[b] - p[d] + p[e]);
    double sq = q[a] - q[b] - q[d] + q[e];
    double nf = area * sq - s * s;

    if (nf <= 0)
        return 0;
    nf = sqrt(nf);
    return area / nf >= 0.1 ? 0 : (float)(1.0 / nf);
}

static bool window_passes_stumps(const struct haar_cascade *c, const struct stump *sp, const struct level *l,
                                 int x, int y)
{
    const int32_t *p = l->sum + (size_t)y * (size_t)l->stride + (size_t)x;
    const int32_t *t = l->tilt ? l->tilt + (size_t)y * (size_t)l->tstride + (size_t)(x + l->pad) : NULL;
    float norm = window_norm(c, l, x, y);

    if (norm == 0)
        return false;
    for (unsigned si = 0; si < c->nstages; si++) {
        const struct haar_stage *stg = &c->stages[si];
        const struct stump *k = sp + stg->first_tree, *end = k + stg->tree_count;
        float total = 0;
        for (; k < end; k++) {
            const int32_t *b = k->tilted ? t : p;
            float v = k->weight[0] * (float)(b[k->o[0][0]] - b[k->o[0][1]] - b[k->o[0][2]] + b[k->o[0][3]]) +
                      k->weight[1] * (float)(b[k->o[1][0]] - b[k->o[1][1]] - b[k->o[1][2]] + b[k->o[1][3]]);
            if (k->n > 2)
                v += k->weight[2] * (float)(b[k->o[2][0]] - b[k->o[2][1]] - b[k->o[2][2]] + b[k->o[2][3]]);
            total += k->leaf[v * norm >= k->threshold];
        }
        if (total < stg->threshold)
            return false;
    }
    return true;
}

/* true when every stage accepts the window at (x, y) of the level, as OpenCV's predictOrdered does. */
static bool window_passes(const struct haar_cascade *c, const struct feature_ofs *fo, const struct level *l,
                          int x, int y)
{
    const int32_t *p = l->sum + (size_t)y * (size_t)l->stride + (size_t)x;
    const int32_t *t = l->tilt ? l->tilt + (size_t)y * (size_t)l->tstride + (size_t)(x + l->pad) : NULL;
    float norm = window_norm(c, l, x, y);

    if (norm == 0)
        return false;
    for (unsigned si = 0; si < c->nstages; si++) {
        const struct haar_stage *stg = &c->stages[si];
        float total = 0;
        for (unsigned ti = stg->first_tree; ti < stg->first_tree + stg->tree_count; ti++) {
            const struct haar_tree *tr = &c->trees[ti];
            int idx = 0;
            /* Parsing made every child index point forward, so this ends within node_count steps. */
            do {
                const struct haar_node *n = &c->nodes[tr->first_node + (unsigned)idx];
                const struct feature_ofs *f = &fo[n->feature];
                const int32_t *base = f->tilted ? t : p;
                float v = 0;
                for (unsigned k = 0; k < f->n; k++)
                    v += f->weight[k] *
                         (float)(base[f->o[k][0]] - base[f->o[k][1]] - base[f->o[k][2]] + base[f->o[k][3]]);
                idx = v * norm < n->threshold ? n->left : n->right;
            } while (idx > 0);
            total += c->leaves[tr->first_leaf + (unsigned)(-idx)];
        }
        if (total < stg->threshold)
            return false;
    }
    return true;
}

static bool similar(const struct haar_box *a, const struct haar_box *b)
{
    double delta = GROUP_EPS * (fmin(a->w, b->w) + fmin(a->h, b->h)) * 0.5;
    return fabs((double)(a->x - b->x)) <= delta && fabs((double)(a->y - b->y)) <= delta &&
           fabs((double)(a->x + a->w - b->x - b->w)) <= delta &&
           fabs((double)(a->y + a->h - b->y - b->h)) <= delta;
}

static int find_root(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static int by_neighbours(const void *a, const void *b)
{
    const struct haar_box *x = a, *y = b;
    if (x->neighbours != y->neighbours)
        return y->neighbours - x->neighbours;
    return y->w - x->w;
}

/* OpenCV's groupRectangles: cluster similar hits, average each cluster, drop weak clusters and clusters lying
 * inside a stronger one. Overwrites cand[0..n) with the result; returns its count. */
static size_t group(struct haar_box *cand, size_t n, int min_neighbours, int *parent, double *acc)
{
    size_t kept = 0;

    for (size_t i = 0; i < n; i++)
        parent[i] = (int)i;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (similar(&cand[i], &cand[j])) {
                int a = find_root(parent, (int)i), b = find_root(parent, (int)j);
                if (a != b)
                    parent[b] = a;
            }
    /* acc holds x, y, w, h sums and a count per root. */
    memset(acc, 0, n * 5u * sizeof(*acc));
    for (size_t i = 0; i < n; i++) {
        double *a = acc + 5u * (size_t)find_root(parent, (int)i);
        a[0] += cand[i].x;
        a[1] += cand[i].y;
        a[2] += cand[i].w;
        a[3] += cand[i].h;
        a[4] += 1;
    }
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        double *a = acc + 5u * i;
        if (a[4] <= min_neighbours)
            continue;
        /* Roots are visited in increasing order and nc <= i, so writing cand[nc] never clobbers a later root.
         */
        cand[nc++] = (struct haar_box){(int)lround(a[0] / a[4]), (int)lround(a[1] / a[4]),
                                       (int)lround(a[2] / a[4]), (int)lround(a[3] / a[4]), (int)a[4]};
    }
    for (size_t i = 0; i < nc; i++) {
        const struct haar_box *r1 = &cand[i];
        bool inside = false;
        for (size_t j = 0; j < nc && !inside; j++) {
            const struct haar_box *r2 = &cand[j];
            int dx = (int)lround(r2->w * GROUP_EPS), dy = (int)lround(r2->h * GROUP_EPS);
            inside = i != j && r1->x >= r2->x - dx && r1->y >= r2->y - dy &&
                     r1->x + r1->w <= r2->x + r2->w + dx && r1->y + r1->h <= r2->y + r2->h + dy &&
                     (r2->neighbours > (r1->neighbours > 3 ? r1->neighbours : 3) || r1->neighbours < 3);
        }
        /* Marked, not removed, so later comparisons still see the full set like OpenCV's does. */
        if (inside)
            cand[i].neighbours = -cand[i].neighbours;
    }
    for (size_t i = 0; i < nc; i++)
        if (cand[i].neighbours > 0)
            cand[kept++] = cand[i];
    qsort(cand, kept, sizeof(*cand), by_neighbours);
    return kept;
}

int haar_detect(const struct haar_cascade *c, const struct haar_image *img, const struct haar_search *s,
                struct haar_box *out, size_t cap, size_t *ret_n)
{
    struct haar_box *cand = NULL;
    struct feature_ofs *fo = NULL;
    struct stump *sp = NULL;
    struct level l = {0};
    int *parent = NULL;
    double *acc = NULL;
    size_t n = 0;
    int r = 0;

    if (!c || !img || !s || !ret_n || (cap && !out) || s->scale_step <= 1.0 || s->min_size <= 0 ||
        s->step < 1 || s->x < 0 || s->y < 0 || s->w <= 0 || s->h <= 0 ||
        (unsigned)(s->x + s->w) > img->width || (unsigned)(s->y + s->h) > img->height)
        return PHOTO_ERROR_INVALID;

    double first = s->min_size / c->width;
    if (first < 1.0)
        first = 1.0; /* never upsample: the photo holds no more detail than its pixels */
    int max_w = (int)(s->w / first) + 1, max_h = (int)(s->h / first) + 1;
    l.stride = max_w + 1;
    l.pad = max_h + 1;
    l.tstride = max_w + 2 * l.pad + 1;
    cand = malloc(DETECT_MAX_CANDIDATES * sizeof(*cand));
    fo = malloc(c->nfeatures * sizeof(*fo));
    if (c->stumps)
        sp = malloc(c->ntrees * sizeof(*sp));
    l.px = malloc((size_t)max_w * (size_t)max_h);
    l.sum = malloc((size_t)l.stride * (size_t)(max_h + 1) * sizeof(*l.sum));
    l.sq = malloc((size_t)l.stride * (size_t)(max_h + 1) * sizeof(*l.sq));
    if (c->any_tilted)
        l.tilt = malloc((size_t)l.tstride * (size_t)(max_h + 1) * sizeof(*l.tilt));
    if (!cand || !fo || (c->stumps && !sp) || !l.px || !l.sum || !l.sq || (c->any_tilted && !l.tilt)) {
        r = PHOTO_ERROR_NOMEM;
        goto out;
    }
    feature_offsets(c, &l, fo);
    if (sp)
        compile_stumps(c, fo, sp);

    unsigned levels = 0;
    for (double scale = first; levels < DETECT_MAX_SCALES && scale * c->width <= s->max_size;
         scale *= s->scale_step, levels++) {
        l.w = (int)(s->w / scale);
        l.h = (int)(s->h / scale);
        if (l.w > max_w)
            l.w = max_w;
        if (l.h > max_h)
            l.h = max_h;
        if (l.w < (int)c->width || l.h < (int)c->height)
            break;
        build_level(&l, img, s, scale);
        if (l.tilt)
            build_tilted(&l);
        for (int y = 0; y + (int)c->height <= l.h; y += s->step)
            for (int x = 0; x + (int)c->width <= l.w; x += s->step) {
                if (n == DETECT_MAX_CANDIDATES ||
                    !(sp ? window_passes_stumps(c, sp, &l, x, y) : window_passes(c, fo, &l, x, y)))
                    continue;
                cand[n++] =
                    (struct haar_box){s->x + (int)lround(x * scale), s->y + (int)lround(y * scale),
                                      (int)lround(c->width * scale), (int)lround(c->height * scale), 1};
            }
    }

    parent = malloc((n ? n : 1) * sizeof(*parent));
    acc = malloc((n ? n : 1) * 5u * sizeof(*acc));
    if (!parent || !acc) {
        r = PHOTO_ERROR_NOMEM;
        goto out;
    }
    n = group(cand, n, s->min_neighbours, parent, acc);
    if (n > cap)
        n = cap;
    if (n)
        memcpy(out, cand, n * sizeof(*out));
    *ret_n = n;
out:
    free(cand);
    free(fo);
    free(sp);
    free(parent);
    free(acc);
    free(l.px);
    free(l.sum);
    free(l.sq);
    free(l.tilt);
    return r;
}
