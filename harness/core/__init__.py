"""The bottom layer: typed records, errors, the registry, the results store, atomic writes,
paths, input reading and validation, progress and versions. Imports nothing else of ours."""
