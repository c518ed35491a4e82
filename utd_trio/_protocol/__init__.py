"""The sans-IO protocol core: no sockets, no clocks, no tasks."""
