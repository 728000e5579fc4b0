"""pip's resolver, run for another platform: ``python resolve_for.py '<marker environment JSON>' <pip args>``.

``pip install --dry-run --platform ... --python-version ...`` picks wheels for the target, but evaluates
environment markers (``sys_platform == 'linux'``) against the machine it runs on. This runs pip itself with
its marker environment replaced by the target's, so markers and wheels are both judged for the target.
"""

import json
import sys

import pip._vendor.packaging.markers as markers
from pip._internal.cli.main import main

target = json.loads(sys.argv[1])
markers.default_environment = lambda: dict(target)
sys.exit(main(sys.argv[2:]))
