"""Citizens' offices (Bürgerbüro): their configuration and each office's day."""
