/* WordNet 3.0 database files (wndb(5)):
 *   offset lex_filenum ss_type w_cnt [word lex_id]... p_cnt [ptr]... [frames] | gloss
 * with ptr = symbol offset pos source/target. Synsets become entities
 * "OFFSETp" (satellites 's' are adjectives 'a'), pointers become triples. */
#include <stdlib.h>
#include <string.h>

#include "datasets/data_internal.h"

static const struct {
    const char *sym;
    const char *name;
} wn_pointers[] = {
    {"!", "_antonym"},
    {"@", "_hypernym"},
    {"@i", "_instance_hypernym"},
    {"~", "_hyponym"},
    {"~i", "_instance_hyponym"},
    {"#m", "_member_holonym"},
    {"#s", "_substance_holonym"},
    {"#p", "_part_holonym"},
    {"%m", "_member_meronym"},
    {"%s", "_substance_meronym"},
    {"%p", "_part_meronym"},
    {"=", "_attribute"},
    {"+", "_derivationally_related_form"},
    {";c", "_synset_domain_topic_of"},
    {"-c", "_member_of_domain_topic"},
    {";r", "_synset_domain_region_of"},
    {"-r", "_member_of_domain_region"},
    {";u", "_synset_domain_usage_of"},
    {"-u", "_member_of_domain_usage"},
    {"*", "_entailment"},
    {">", "_cause"},
    {"^", "_also_see"},
    {"$", "_verb_group"},
    {"&", "_similar_to"},
    {"<", "_participle_of"},
    {"\\", "_pertainym"},
};

static const char *pointer_name(const char *s, size_t n) {
    for (size_t i = 0; i < sizeof wn_pointers / sizeof *wn_pointers; i++)
        if (strlen(wn_pointers[i].sym) == n && memcmp(wn_pointers[i].sym, s, n) == 0) return wn_pointers[i].name;
    return NULL;
}

static bool hexval(const char *p, size_t n, uint32_t *out) {
    uint32_t v = 0;
    if (n == 0 || n > 4) return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9') d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = (uint32_t)(c - 'A' + 10);
        else return false;
        v = v * 16 + d;
    }
    *out = v;
    return true;
}

static bool synset_id(kgm_field off, kgm_field pos, char out[16]) {
    if (off.n != 8 || pos.n != 1) return false;
    for (int i = 0; i < 8; i++)
        if (off.p[i] < '0' || off.p[i] > '9') return false;
    char c = pos.p[0] == 's' ? 'a' : pos.p[0];
    if (c != 'n' && c != 'v' && c != 'a' && c != 'r') return false;
    memcpy(out, off.p, 8);
    out[8] = c;
    out[9] = '\0';
    return true;
}

#define WN_MAX_TOKENS 4096

kgm_status kgm__load_wordnet_rd(kgm_reader *r, kgm_dataset *ds) {
    int32_t c_lemma = kgm_table_find(&ds->entity_attrs, "lemma");
    if (c_lemma < 0) KGM_TRY(kgm_table_add_column(&ds->entity_attrs, "lemma", KGM_COL_TEXT, &c_lemma));
    kgm_field *tok = malloc(WN_MAX_TOKENS * sizeof *tok);
    if (!tok) return KGM_ERR(KGM_ERR_NOMEM, "token buffer");
    int64_t k0 = ds->kg.n;
    const char *line;
    size_t len;
    bool got;
    kgm_status st = KGM_OK;
    char q[80];
    while ((st = kgm_reader_next(r, &line, &len, &got)) == KGM_OK && got) {
        if (len == 0 || line[0] == ' ') continue; /* license header lines start with two blanks */
        const char *bar = memchr(line, '|', len);
        if (!bar) {
            st = kgm_reader_bad(r, "expected \"| gloss\" after the pointers, found no '|' in %s",
                                kgm__quote(q, sizeof q, line, len));
            if (st != KGM_OK) break;
            continue;
        }
        int nt = kgm__split(line, (size_t)(bar - line), ' ', false, tok, WN_MAX_TOKENS, NULL);
        if (nt > WN_MAX_TOKENS) nt = WN_MAX_TOKENS;
        /* offset lex_filenum ss_type w_cnt */
        char self[16];
        uint32_t wcnt = 0;
        if (nt < 4 || !synset_id(tok[0], tok[2], self) || !hexval(tok[3].p, tok[3].n, &wcnt) || wcnt == 0) {
            st = kgm_reader_bad(r, "expected \"offset lex_filenum ss_type w_cnt\" (8 digits, 2 digits, n/v/a/s/r, "
                                   "hex count), found %s", kgm__quote(q, sizeof q, line, len));
            if (st != KGM_OK) break;
            continue;
        }
        int at = 4 + 2 * (int)wcnt; /* after the words */
        int32_t pcnt = 0;
        if (at >= nt || tok[at].n != 3 || !kgm__parse_i32(tok[at].p, 3, &pcnt) || at + 1 + 4 * pcnt > nt) {
            st = kgm_reader_bad(r, "expected %u words then a 3-digit pointer count and its pointers, found %d tokens",
                                wcnt, nt);
            if (st != KGM_OK) break;
            continue;
        }
        /* check every pointer before adding anything */
        bool ok = true;
        for (int32_t p = 0; p < pcnt && ok; p++) {
            kgm_field *pt = &tok[at + 1 + 4 * p];
            char other[16];
            uint32_t stv;
            if (!pointer_name(pt[0].p, pt[0].n)) {
                st = kgm_reader_bad(r, "expected a pointer symbol (wninput(5)), found %s in pointer %d",
                                    kgm__quote(q, sizeof q, pt[0].p, pt[0].n), p + 1);
                ok = false;
            } else if (!synset_id(pt[1], pt[2], other) || pt[3].n != 4 || !hexval(pt[3].p, 4, &stv)) {
                st = kgm_reader_bad(r, "expected \"offset pos source/target\" in pointer %d, found %s", p + 1,
                                    kgm__quote(q, sizeof q, pt[1].p, (size_t)(pt[3].p + pt[3].n - pt[1].p)));
                ok = false;
            }
        }
        if (!ok) {
            if (st != KGM_OK) break;
            continue;
        }
        int32_t e;
        if ((st = kgm_idmap_intern(&ds->entities, self, 9, &e)) != KGM_OK) break;
        /* first lemma and the gloss (trimmed) */
        if ((st = kgm_table_set_text(&ds->entity_attrs, c_lemma, e, tok[4].p, tok[4].n)) != KGM_OK) break;
        kgm_field gloss = kgm__trim((kgm_field){bar + 1, (size_t)(line + len - bar - 1)});
        if ((st = kgm_strings_set(&ds->entity_text, e, gloss.p, gloss.n)) != KGM_OK) break;
        for (int32_t p = 0; p < pcnt && st == KGM_OK; p++) {
            kgm_field *pt = &tok[at + 1 + 4 * p];
            char other[16];
            synset_id(pt[1], pt[2], other);
            const char *rel = pointer_name(pt[0].p, pt[0].n);
            int32_t t, rr;
            if ((st = kgm_idmap_intern(&ds->entities, other, 9, &t)) != KGM_OK) break;
            if ((st = kgm_idmap_intern(&ds->relations, rel, strlen(rel), &rr)) != KGM_OK) break;
            st = kgm_dataset_add_triple(ds, e, rr, t);
        }
        if (st != KGM_OK) break;
        r->rows++;
    }
    free(tok);
    KGM_TRY(st);
    /* Lexical pointers between different words of the same two synsets give
     * the same synset triple: keep one (these are not input duplicates). */
    int64_t n = ds->kg.n - k0;
    if (n < 2) return KGM_OK;
    uint8_t *dup = malloc((size_t)n);
    if (!dup) return KGM_ERR(KGM_ERR_NOMEM, "wordnet dedup");
    if (kgm__find_dups(ds->kg.h + k0, ds->kg.r + k0, ds->kg.t + k0, n, dup) < 0) {
        free(dup);
        return KGM_ERR(KGM_ERR_NOMEM, "wordnet dedup");
    }
    int64_t w = k0;
    for (int64_t i = 0; i < n; i++) {
        if (dup[i]) continue;
        ds->kg.h[w] = ds->kg.h[k0 + i];
        ds->kg.r[w] = ds->kg.r[k0 + i];
        ds->kg.t[w] = ds->kg.t[k0 + i];
        w++;
    }
    ds->kg.n = w;
    free(dup);
    return KGM_OK;
}

static kgm_status body_wn(kgm_reader *r, void *v) { return kgm__load_wordnet_rd(r, v); }

kgm_status kgm_load_wordnet(const char *dir, const kgm_load_opts *o, kgm_dataset *ds) {
    static const char *files[4] = {"data.noun", "data.verb", "data.adj", "data.adv"};
    char path[4096];
    int found = 0;
    for (int i = 0; i < 4; i++) {
        if (!kgm__join(path, sizeof path, dir, files[i])) return KGM_ERR(KGM_ERR_ARG, "path too long");
        if (!kgm__present(path)) continue;
        KGM_TRY(kgm__with_file(path, o, ds, files[i] + 5, "wordnet", body_wn, ds));
        found++;
    }
    if (!found) return KGM_ERR(KGM_ERR_IO, "%s: expected WordNet data.noun/verb/adj/adv, found none", dir);
    if (!ds->name[0]) snprintf(ds->name, sizeof ds->name, "wordnet");
    return KGM_OK;
}
