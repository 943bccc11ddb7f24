"""Model runtime shared by every model user (layer 4 of DESIGN.md §5): quieting library
noise, the k-bit precision policy and the CPU thread policy. Nothing heavy is imported here."""
