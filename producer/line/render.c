/* render.c — the line's face renderer: one thread per line renders the next card's face while its chip is
 * personalised */
#include "line/line-private.h"

static void render_now(struct render_task *t)
{
    char bad[8] = "";

    t->r = printer_render_face(&t->face, &t->raster, bad);
}

/* The line's renderer: takes one task at a time until told to quit. */
static void *render_worker(void *arg)
{
    struct line *l = arg;

    pthread_mutex_lock(&l->render_lock);
    for (;;) {
        struct render_task *t;

        while (!l->render_quit && !l->render_pending)
            pthread_cond_wait(&l->render_cond, &l->render_lock);
        if (!l->render_pending)
            break;
        t = l->render_pending;
        l->render_pending = NULL;
        pthread_mutex_unlock(&l->render_lock);
        render_now(t);
        pthread_mutex_lock(&l->render_lock);
        t->done = true;
        pthread_cond_broadcast(&l->render_cond);
    }
    pthread_mutex_unlock(&l->render_lock);
    return NULL;
}

void line_render_worker_start(struct line *l)
{
    pthread_mutex_init(&l->render_lock, NULL);
    pthread_cond_init(&l->render_cond, NULL);
    l->render_quit = false;
    l->render_pending = NULL;
    l->render_started = pthread_create(&l->render_thread, NULL, render_worker, l) == 0;
}

void line_render_worker_stop(struct line *l)
{
    if (l->render_started) {
        pthread_mutex_lock(&l->render_lock);
        l->render_quit = true;
        pthread_cond_broadcast(&l->render_cond);
        pthread_mutex_unlock(&l->render_lock);
        pthread_join(l->render_thread, NULL);
        l->render_started = false;
    }
    pthread_cond_destroy(&l->render_cond);
    pthread_mutex_destroy(&l->render_lock);
}

void line_render_start(struct line *l, struct render_task *t)
{
    t->done = false;
    t->running = l->render_started;
    if (!t->running) {
        render_now(t); /* no renderer: render here, the card just waits a little longer */
        return;
    }
    pthread_mutex_lock(&l->render_lock);
    l->render_pending = t;
    pthread_cond_broadcast(&l->render_cond);
    pthread_mutex_unlock(&l->render_lock);
}

struct printer_raster *line_render_join(struct line *l, struct render_task *t)
{
    struct printer_raster *r;

    if (t->running) {
        pthread_mutex_lock(&l->render_lock);
        while (!t->done)
            pthread_cond_wait(&l->render_cond, &l->render_lock);
        pthread_mutex_unlock(&l->render_lock);
        t->running = false;
    }
    r = t->raster;
    t->raster = NULL;
    return r;
}
