# raftbgp_warnings(target): high warnings for our own code only. Generated protobuf code and third-party
# headers are compiled without -Werror (protobuf's generated code trips -Wshadow and friends).
function(raftbgp_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
    -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion -Wnull-dereference
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(RAFTBGP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
