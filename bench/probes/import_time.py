"""A fresh process imports modules: ``import_time.py CODE_DIR LAYER_DIR module,module`` (each dir
argument may list several, separated by os.pathsep).
Prints ``{"s": seconds}`` (the imports only, as a Lambda init runs them)."""

import json
import os
import sys
import time

sys.path[:0] = [entry for arg in sys.argv[1:3] for entry in arg.split(os.pathsep)]
started = time.perf_counter()
for module in sys.argv[3].split(","):
    __import__(module)
print(json.dumps({"s": time.perf_counter() - started}))
