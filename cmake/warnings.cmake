# Warnings live on one INTERFACE target that every nmc target links PRIVATE.
add_library(nmc_warnings INTERFACE)
target_compile_options(nmc_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                 -Wold-style-cast -Wcast-align -Woverloaded-virtual>)
if(NMC_WERROR)
  target_compile_options(nmc_warnings INTERFACE $<$<CXX_COMPILER_ID:GNU,Clang>:-Werror>)
endif()
