"""The entry layer: what starts the program and wires it together. It sits above ``api`` and
every domain package and is the only layer that may import all of them: the composition root
(runtime.py), the app factory servers start (app.py), the model registry (models.py) and the
``cityid`` command (cli/). Nothing below imports it; the import-linter contract in
pyproject.toml checks that."""
