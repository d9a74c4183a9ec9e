"""The modules that hold tests marked ``serial`` (they look at what the whole database keeps
on disk, so they run alone, after the rest).

`make pytest` collects only these for its second run: collecting the whole suite again, for a
test or two, costs half a minute (the fuzz tests alone build their examples at collection). A
``serial`` test in a module not listed here fails the collection (tests/conftest.py), so it
cannot be left out of both runs.

``python -m tests.serial`` prints the modules, for the Makefile.
"""

MODULES = ("tests/infrastructure/test_privacy.py",)

if __name__ == "__main__":
    print(*MODULES)
