// Compile-time guard of the numerical core (see ../nlohmann/json.hpp).
#error "the numerical core (zeroloss_core) must not draw figures; put this code in lib/src/presentation/ (zeroloss_lib)"
