"""pytest plugin for utd_trio (fixtures are added with the reference engine)."""
