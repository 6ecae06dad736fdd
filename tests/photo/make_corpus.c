/* make_corpus.c — writes the photo fuzz targets' seed corpus at build time from Debian's real sample photos
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "fixtures.h"

static void put(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    struct fx_img img, small;
    uint8_t *jpeg;
    size_t len;
    static const char profile[] = "base = national-id\nname = seed\nversion = 2\nfile_size_kb = 9..20\n"
                                  "severity.glare.glasses = warn\n";

    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    put(argv[1], "profile.conf", (const uint8_t *)profile, sizeof(profile) - 1);
    /* Without python3-skimage only the profile seed exists; the replay test still mutates it. */
    if (!fx_portrait(11, &img))
        return 0;
    jpeg = fx_jpeg(&img, 80, 350, &len);
    put(argv[1], "portrait.jpg", jpeg, len);
    /* Cut short: libjpeg's recovery paths. */
    put(argv[1], "portrait-truncated.jpg", jpeg, len * 2 / 3);
    free(jpeg);
    small = fx_resize(&img, 36, 44);
    jpeg = fx_jpeg(&small, 60, 72, &len);
    put(argv[1], "small.jpg", jpeg, len);
    free(jpeg);
    png_image pi;
    memset(&pi, 0, sizeof(pi));
    pi.version = PNG_IMAGE_VERSION;
    pi.width = small.w;
    pi.height = small.h;
    pi.format = PNG_FORMAT_RGB;
    png_alloc_size_t plen = 0;
    if (png_image_write_to_memory(&pi, NULL, &plen, 0, small.rgb, 0, NULL)) {
        uint8_t *png = malloc(plen);
        if (png && png_image_write_to_memory(&pi, png, &plen, 0, small.rgb, 0, NULL))
            put(argv[1], "small.png", png, plen);
        free(png);
    }
    fx_free(&small);
    fx_free(&img);
    return 0;
}
