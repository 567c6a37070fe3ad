#include "graph_internal.h"
int kgm_bench_graph(int argc, char **argv) { (void)argc; (void)argv; return 2; }
