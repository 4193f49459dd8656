#pragma once
// Text read from files, made safe to quote in error messages.

#include <cstddef>
#include <string>
#include <string_view>

namespace zeroloss {

// `text` made safe to show on a terminal inside a message: printable ASCII and well-formed UTF-8
// (code points from U+00A0 on) are kept, every other byte (control bytes 0x00-0x1f and 0x7f,
// C1 controls, malformed UTF-8) is written as \xNN; longer texts are cut after `limit` bytes and end
// in "...". Every reader that quotes what it read in an error message passes it through this.
std::string printable_text(std::string_view text, std::size_t limit = 80);

}  // namespace zeroloss
