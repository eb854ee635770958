"""Core layer: time, media I/O, project and catalog, jobs, errors and progress."""
