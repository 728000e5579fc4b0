import sys
from pathlib import Path

# Shared test helpers live in tests/support/ (`import support.llm_server`),
# importable from every test folder, not only from the one beside them.
sys.path.insert(0, str(Path(__file__).parent))
