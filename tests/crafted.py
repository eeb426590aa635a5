"""A crafted checkpoint payload: unpickling it runs a shell command (creates ``marker``).

Tests save it inside checkpoint-shaped dicts to check that no load path ever unpickles code.
"""
import os


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)
