# Warnings live on one INTERFACE target that every nmc target links PRIVATE.
add_library(nmc_warnings INTERFACE)
target_compile_options(nmc_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                 -Wold-style-cast -Wcast-align -Woverloaded-virtual>
  # GCC 12 reports -Wrestrict inside libstdc++'s std::string at -O3 for plain
  # concatenations (GCC bug 105329): a false positive, not a finding.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
if(NMC_WERROR)
  target_compile_options(nmc_warnings INTERFACE $<$<CXX_COMPILER_ID:GNU,Clang>:-Werror>)
endif()
