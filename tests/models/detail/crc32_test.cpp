#include <catch2/catch.hpp>

#include <string>

#include "keel/models/detail/crc32.h"
#include "models/file_test_support.h"

using keel::test::bytes_of;

TEST_CASE("crc32 matches zlib's published check values", "[io]") {
  CHECK(keel::io::crc32(bytes_of("")) == 0u);
  CHECK(keel::io::crc32(bytes_of("123456789")) == 0xCBF43926u);  // the CRC-32 catalogue's check value
  CHECK(keel::io::crc32(bytes_of("The quick brown fox jumps over the lazy dog")) == 0x414FA339u);
  // Continuing from a seed equals checksumming the concatenation.
  CHECK(keel::io::crc32(bytes_of("56789"), keel::io::crc32(bytes_of("1234"))) == 0xCBF43926u);
}
