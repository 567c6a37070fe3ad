/* A shared object that is not a kgmtl plugin: no kgm_task_entry symbol. */
__attribute__((visibility("default"))) int not_a_plugin(void) { return 42; }
