/* Guard values shared by the abi_guard plugin and test_abi_next.c. */
#ifndef KGMTL_TEST_ABI_GUARD_H
#define KGMTL_TEST_ABI_GUARD_H
#define ABI_GUARD_FILL 0xa5a5a5a5a5a5a5a5ull   /* behind the batch given to split_rows */
#define ABI_GUARD_CANARY 0x7e577e577e577e57ll  /* behind the batch given to represent */
#define ABI_GUARD_CANARY_NEXT 0x6e6578746e657874ll /* abi_guard_next's value of the appended field */
#endif
