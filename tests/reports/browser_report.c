/* Browser check (suite 'browser'): render report.html of a synthetic sweep in
 * headless Chromium, check the DOM holds the tables and charts, and check the
 * screenshot is the requested size and not blank. Exits 77 (meson: skipped)
 * when Chromium is not installed. The screenshot is kept as
 * $KGMTL_BUILD_DIR/tests/experiments/report-screenshot.png for a human look. */
#define EU_NO_CRITERION
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef KGM_HAVE_ZLIB
#include <zlib.h>
#endif

#include "tests/experiments/exp_util.h"
#include "kgmtl/kgmtl.h"
#include "reports/report.h"

#define WIN_W 1280
#define WIN_H 2000

static int fails = 0;

#define CHECK(cond, ...)                                                                                           \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                                   \
            fprintf(stderr, __VA_ARGS__);                                                                          \
            fputc('\n', stderr);                                                                                   \
            fails++;                                                                                               \
        }                                                                                                          \
    } while (0)

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Run chromium with `args` on `url`; stdout into out_path. Returns the exit status. */
static int chromium(const char *bin, const char *args, const char *url, const char *out_path, const char *profile) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "timeout 120 '%s' --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
             "--disable-background-networking --disable-component-update --disable-sync --hide-scrollbars "
             "--user-data-dir='%s' --window-size=%d,%d %s '%s' > '%s' 2>/dev/null",
             bin, profile, WIN_W, WIN_H, args, url, out_path);
    return system(cmd);
}

#ifdef KGM_HAVE_ZLIB
static int paeth(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decode an 8-bit RGB/RGBA PNG enough to count distinct colours and the share
 * of pixels that differ from the top-left (background) pixel. */
static bool png_stats(const unsigned char *png, size_t n, uint32_t w, uint32_t h, int *colours, double *ink) {
    int ct = png[25], depth = png[24];
    int bpp = ct == 6 ? 4 : ct == 2 ? 3 : 0;
    if (depth != 8 || !bpp || png[28] != 0) return false; /* no interlace */
    size_t zcap = 0, zn = 0;
    unsigned char *z = NULL;
    for (size_t off = 8; off + 12 <= n;) {
        uint32_t len = be32(png + off);
        if (off + 12 + len > n) return false;
        if (!memcmp(png + off + 4, "IDAT", 4)) {
            if (zn + len > zcap) {
                zcap = (zn + len) * 2;
                unsigned char *nz = realloc(z, zcap);
                if (!nz) {
                    free(z);
                    return false;
                }
                z = nz;
            }
            memcpy(z + zn, png + off + 8, len);
            zn += len;
        }
        off += 12 + len;
    }
    size_t stride = (size_t)w * bpp, raw_n = (stride + 1) * h;
    unsigned char *raw = malloc(raw_n), *img = malloc(stride * h);
    uint8_t *seen = calloc(1 << 21, 1); /* one bit per 24-bit colour */
    uLongf got = raw_n;
    bool ok = raw && img && seen && z && uncompress(raw, &got, z, zn) == Z_OK && got == raw_n;
    for (uint32_t y = 0; ok && y < h; y++) {
        const unsigned char *src = raw + y * (stride + 1) + 1;
        unsigned char *row = img + y * stride, *up = y ? row - stride : NULL;
        int filter = raw[y * (stride + 1)];
        for (size_t x = 0; x < stride; x++) {
            int a = x >= (size_t)bpp ? row[x - bpp] : 0, b = up ? up[x] : 0, c = up && x >= (size_t)bpp ? up[x - bpp] : 0;
            int pred = filter == 0 ? 0 : filter == 1 ? a : filter == 2 ? b : filter == 3 ? (a + b) / 2 : paeth(a, b, c);
            if (filter > 4) ok = false;
            row[x] = (unsigned char)(src[x] + pred);
        }
    }
    long distinct = 0, differ = 0;
    for (size_t i = 0; ok && i < (size_t)w * h; i++) {
        const unsigned char *px = img + i * bpp;
        uint32_t rgb = (uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2];
        if (!(seen[rgb >> 3] & (1 << (rgb & 7)))) {
            seen[rgb >> 3] |= (uint8_t)(1 << (rgb & 7));
            distinct++;
        }
        if (memcmp(px, img, 3) != 0) differ++;
    }
    *colours = (int)distinct;
    *ink = ok ? (double)differ / ((double)w * h) : 0;
    free(z);
    free(raw);
    free(img);
    free(seen);
    return ok;
}
#endif

int main(void) {
    const char *bin = getenv("KGMTL_CHROMIUM");
    if (!bin || !*bin) bin = "/usr/bin/chromium";
    if (access(bin, X_OK) != 0) {
        printf("SKIP: %s not found; install it (apt-get install chromium) or set KGMTL_CHROMIUM\n", bin);
        return 77;
    }
    kgm_init_runtime();
    char dir[KGM_PATH], profile[KGM_PATH + 16], html[KGM_PATH + 32], url[KGM_PATH + 64], dom[KGM_PATH + 32],
        shot[KGM_PATH + 32];
    eu_tmpdir(dir, sizeof dir);
    eu_fake_sweep(dir, "<base>&", true);
    if (kgm_report_generate(dir, NULL, NULL, html, sizeof html) != KGM_OK) {
        fprintf(stderr, "FAIL: report: %s\n", kgm_error_message());
        return 1;
    }
    snprintf(profile, sizeof profile, "%s/profile", dir);
    snprintf(url, sizeof url, "file://%s", html);
    snprintf(dom, sizeof dom, "%s/dom.html", dir);
    snprintf(shot, sizeof shot, "%s/shot.png", dir);

    /* 1. the DOM as Chromium parsed it */
    int rc = chromium(bin, "--dump-dom", url, dom, profile);
    char *d = eu_read(dom, NULL);
    CHECK(rc == 0 && d && *d, "chromium --dump-dom failed (status %d)", rc);
    if (d) {
        CHECK(count(d, "<table") >= 3, "tables: %d", count(d, "<table"));
        CHECK(strstr(d, "class=\"ablation\"") != NULL, "no ablation table");
        CHECK(count(d, "<svg") == 6, "charts: %d, expected 6", count(d, "<svg"));
        CHECK(count(d, "<polyline") >= 8, "chart lines: %d", count(d, "<polyline"));
        CHECK(count(d, "class=\"lg\"") >= 6, "legend entries: %d", count(d, "class=\"lg\""));
        CHECK(strstr(d, "&lt;base&gt;&amp;") != NULL, "escaped group name missing");
        CHECK(strstr(d, "<base>") == NULL, "unescaped markup leaked into the DOM");
        CHECK(strstr(d, "Published figures beside ours") != NULL, "no published section");
    }
    free(d);

    /* 2. the screenshot */
    char arg[KGM_PATH + 64];
    snprintf(arg, sizeof arg, "--screenshot='%s'", shot);
    rc = chromium(bin, arg, url, "/dev/null", profile);
    char *png = NULL;
    size_t n = 0;
    FILE *f = fopen(shot, "rb");
    if (f) {
        fseek(f, 0, SEEK_END);
        n = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        png = malloc(n ? n : 1);
        if (png && fread(png, 1, n, f) != n) n = 0;
        fclose(f);
    }
    CHECK(rc == 0 && png && n > 33, "chromium --screenshot failed (status %d, %zu bytes)", rc, n);
    if (png && n > 33) {
        const unsigned char *p = (const unsigned char *)png;
        CHECK(!memcmp(p, "\x89PNG\r\n\x1a\n", 8) && !memcmp(p + 12, "IHDR", 4), "not a PNG");
        uint32_t w = be32(p + 16), h = be32(p + 20);
        CHECK(w == WIN_W && h == WIN_H, "screenshot is %ux%u, expected %dx%d", w, h, WIN_W, WIN_H);
        CHECK(n > 40000, "screenshot is only %zu bytes: blank?", n);
#ifdef KGM_HAVE_ZLIB
        int colours = 0;
        double ink = 0;
        CHECK(png_stats(p, n, w, h, &colours, &ink), "cannot decode the screenshot");
        printf("screenshot: %ux%u, %zu bytes, %d colours, %.1f%% non-background pixels\n", w, h, n, colours, 100 * ink);
        CHECK(colours >= 50, "only %d colours: tables and charts did not render", colours);
        CHECK(ink >= 0.03, "only %.2f%% of the pixels differ from the background", 100 * ink);
#else
        printf("screenshot: %ux%u, %zu bytes (built without zlib: size check only)\n", w, h, n);
#endif
        const char *bd = getenv("KGMTL_BUILD_DIR");
        if (bd) {
            char keep[KGM_PATH + 64];
            snprintf(keep, sizeof keep, "%s/tests/experiments/report-screenshot.png", bd);
            FILE *k = fopen(keep, "wb");
            if (k) {
                fwrite(png, 1, n, k);
                fclose(k);
                printf("kept %s\n", keep);
            }
        }
    }
    free(png);
    eu_rm_rf(dir);
    if (fails) fprintf(stderr, "%d check%s failed\n", fails, fails == 1 ? "" : "s");
    else printf("report.html renders: tables, %d charts, non-blank screenshot\n", 6);
    return fails ? 1 : 0;
}
