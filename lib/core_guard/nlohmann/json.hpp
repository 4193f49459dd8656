// Compile-time guard of the numerical core (target zeroloss_core, CMakeLists.txt): this directory
// comes first on the core's include path, so a core file that includes nlohmann/json -- directly or
// through a presentation header -- stops here. JSON, SVG and HTML belong in zeroloss_lib
// (presentation/, runs/, verification/; docs/architecture.md).
#error "the numerical core (zeroloss_core) must not read or write JSON; put this code in lib/src/presentation/ (zeroloss_lib)"
