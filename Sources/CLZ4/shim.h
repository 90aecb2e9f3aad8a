#ifndef SLUICE_CLZ4_SHIM_H
#define SLUICE_CLZ4_SHIM_H
// liblz4's frame format (Debian's liblz4-dev): what `lz4` the command writes and reads.
#include <lz4frame.h>
#endif
