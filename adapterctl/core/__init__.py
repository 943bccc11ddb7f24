"""Layer 1, what every module may use: the project and its lock, refs, the error table, output,
fault injection, TOML reading, suggestions, shipped assets, typed records, binding a port.
Imports nothing else of adapterctl."""
