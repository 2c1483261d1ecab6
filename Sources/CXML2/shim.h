/* libxml2 built with ICU includes <unicode/ucnv.h> from encoding.h; those declarations clash with the
   copy of ICU inside Foundation. tracejoin never converts encodings through libxml2's ICU hooks, so
   they are left out. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <string.h>
