/* The manifest's YAML reading layer (internal to the manifest parser): a
 * file read once into memory, checked as UTF-8 text, parsed by libfyaml's
 * event API into a tree whose every node carries file:line:column. Aliases
 * share the anchored node (the tree is a DAG); recursive and undefined
 * aliases, nesting deeper than KGM_YAML_MAX_DEPTH and alias expansion past
 * KGM_YAML_MAX_NODES are errors at their position, so every later walk over
 * the tree is bounded. */
#ifndef KGMTL_MANIFEST_YAML_H
#define KGMTL_MANIFEST_YAML_H

#include "experiments/manifest.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define KGM_YAML_MAX_DEPTH 64          /* nested lists/mappings, aliases expanded */
#define KGM_YAML_MAX_NODES 100000      /* nodes of one file, aliases expanded */
#define KGM_YAML_MAX_BYTES (4 << 20)   /* bytes of one file */

typedef enum { YN_NULL, YN_SCALAR, YN_SEQ, YN_MAP } yn_kind;

typedef struct ynode {
    yn_kind kind;
    bool quoted;
    bool open;           /* a sequence/mapping still being read (an alias to it would be recursive) */
    char *text;          /* scalar text ("" for null) */
    const char *file;
    int line, col;       /* 1-based */
    int32_t n, cap;
    int32_t height;      /* nested containers below and including this node (0 for scalars) */
    int64_t weight;      /* nodes in this subtree with aliases expanded */
    struct ynode **v;    /* sequence items / mapping values */
    struct ynode **k;    /* mapping keys (scalars) */
    struct ynode *next;  /* allocation list */
} ynode;

/* Owns every node and file name of a manifest. */
typedef struct ypool {
    ynode *nodes;
    char **files;
    int32_t n_files;
} ypool;

/* What the reader learned about a file besides its tree. */
typedef struct kgm_yaml_source {
    bool has_dir; /* false for an unnamed pipe (`<(...)`, /dev/stdin from a pipe): relative paths in it
                     resolve against the current directory */
} kgm_yaml_source;

/* A new node owned by pool `p` (NULL when out of memory). */
ynode *kgm_yaml_node_new(ypool *p, yn_kind kind, const char *file, int line, int col);

/* Append an item (sequence; key NULL) or a key/value pair (mapping); false when out of memory. */
bool kgm_yaml_node_push(ynode *c, ynode *key, ynode *val);

/* Free every node and file name of the pool. */
void kgm_yaml_pool_free(ypool *p);

/* Read `path` once (regular file, FIFO, pipe or device; not a directory) and
 * parse it into a tree owned by `pool`. Problems go to `dl`: an open/read
 * failure at `where` (the `base:` value that named the file, or NULL for the
 * path itself), everything else at file:line:col. Returns NULL after any
 * problem; an empty file is an empty mapping. */
ynode *kgm_yaml_read(ypool *pool, const char *path, const char *where, kgm_yaml_source *src, kgm_diag_list *dl);

/* The value of `key` in mapping `m` (and its key node), or NULL. */
static inline ynode *yn_get(const ynode *m, const char *key, ynode **key_node) {
    if (!m || m->kind != YN_MAP) return NULL;
    for (int32_t i = 0; i < m->n; i++)
        if (!strcmp(m->k[i]->text, key)) {
            if (key_node) *key_node = m->k[i];
            return m->v[i];
        }
    return NULL;
}

/* "file:line:col" of a node. */
static inline void where_of(const ynode *n, char *buf, size_t len) {
    if (n) snprintf(buf, len, "%s:%d:%d", n->file, n->line, n->col);
    else snprintf(buf, len, "?");
}

#define WHERE(node, buf) where_of((node), (buf), sizeof(buf))

/* The node's kind in words, for "found ..." messages. */
static inline const char *kind_name(const ynode *n) {
    switch (n->kind) {
    case YN_NULL: return "null";
    case YN_SCALAR: return n->quoted ? "a string" : "a scalar";
    case YN_SEQ: return "a list";
    case YN_MAP: return "a mapping";
    }
    return "?";
}

#endif
