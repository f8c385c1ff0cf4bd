// decode_flags.h: the options `inspect` and `validate` share.
#ifndef KHOABI_TOOLS_DECODE_FLAGS_H_
#define KHOABI_TOOLS_DECODE_FLAGS_H_

#include <optional>
#include <string>
#include <vector>

#include "lib/options.h"
#include "tools/cli.h"

namespace khoabi::cli {

std::vector<Option> DecodeFlagOptions();

// ParseDecodeFlags fills `options` and `root`; on a bad value prints the
// error and returns false.
bool ParseDecodeFlags(const Command& cmd, const Args& args, Io& io, Options* options,
                      std::optional<uint64_t>* root);

}  // namespace khoabi::cli

#endif  // KHOABI_TOOLS_DECODE_FLAGS_H_
