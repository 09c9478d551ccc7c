import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# The hostile-subscriber test opens over a thousand sockets, and the server (a child) inherits this.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard == resource.RLIM_INFINITY or hard > 8192:
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 8192), hard))
elif soft < hard:
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
