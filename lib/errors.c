/* Human text for the error codes of include/errors.h. Pure. */
#include "errors.h"

static const char *const jb_error_text[] = {
	[JB_OK] = "success",
#define JB_ERROR_TEXT(name, text) [name] = text,
	JB_ERROR_LIST(JB_ERROR_TEXT)
#undef JB_ERROR_TEXT
};

const char *jb_strerror(int rc)
{
	unsigned int code = rc < 0 ? 0u - (unsigned int)rc : (unsigned int)rc;

	if (code >= sizeof(jb_error_text) / sizeof(jb_error_text[0]) || !jb_error_text[code])
		return "unknown error";
	return jb_error_text[code];
}
