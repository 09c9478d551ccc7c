#include <lmdb.h>
// malloc_trim: a rebuild's write buffers are freed, and their pages given back to the system.
#include <malloc.h>
