/*
 * The one list of error codes. Functions return 0 or -JB_Exxx; jb_strerror() names them for
 * tests and tools' logic. Error lines never print these names: the specific message alone says
 * what is wrong (docs/errors.md), and a generic class could contradict it.
 */
#ifndef JB_ERRORS_H
#define JB_ERRORS_H

#define JB_ERROR_LIST(X)                                                     \
	X(JB_EINVAL, "invalid argument")                                     \
	X(JB_ECMDLINE, "bad command line")                                   \
	X(JB_ENODEV, "no such device")                                       \
	X(JB_ETIMEDOUT, "device timed out")                                  \
	X(JB_EIO, "disk read error")                                         \
	X(JB_ERANGE, "read past the end of the disk")                        \
	X(JB_EBADIMG, "not a usable memory image")                           \
	X(JB_ETRUNC, "image truncated")                                      \
	X(JB_ECOMPRESSED, "compressed dump")                                 \
	X(JB_ENOTRAM, "destination is not usable RAM")                       \
	X(JB_ELIVE, "destination overlaps the running stub")                 \
	X(JB_EMISMATCH, "overlapping segments hold different data")          \
	X(JB_ETOOBIG, "too many segments or ranges")                         \
	X(JB_EUNSUPPORTED, "not supported yet")                              \
	X(JB_EMEMMAP, "no usable memory map")                                \
	X(JB_EFAULT, "CPU exception")                                        \
	X(JB_ERETURNED, "kernel A returned to jumpback")

enum jb_error {
	JB_OK = 0,
#define JB_ERROR_ENUM(name, text) name,
	JB_ERROR_LIST(JB_ERROR_ENUM)
#undef JB_ERROR_ENUM
};

/* Text for a code, positive or negative; "unknown error" for anything else. */
const char *jb_strerror(int rc);

#endif
